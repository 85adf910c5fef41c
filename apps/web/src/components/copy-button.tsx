"use client";

import { useState } from "react";

/** Copies `text` to the clipboard and says so; where the clipboard is refused, says to select it by hand. */
export function CopyButton({ text, testId }: { text: string; testId?: string }) {
  const [state, setState] = useState<"idle" | "copied" | "failed">("idle");
  return (
    <span className="copy">
      <button
        type="button"
        className="button button--small"
        data-testid={testId}
        onClick={() => {
          if (!navigator.clipboard) return setState("failed");
          navigator.clipboard.writeText(text).then(
            () => setState("copied"),
            () => setState("failed"),
          );
        }}
      >
        Copy
      </button>
      <span className="muted" role="status" data-testid={testId ? `${testId}-state` : undefined}>
        {state === "copied"
          ? "Copied to the clipboard."
          : state === "failed"
            ? "The browser refused: select the text and copy it."
            : ""}
      </span>
    </span>
  );
}
