"use client";

import { describeError } from "../lib/errors";

/**
 * A dialog's problems with what was chosen (before sending) and the server's refusal (after),
 * each in plain view; the refusal scrolls into view in a dialog whose body scrolls.
 */
export function FormOutcome({ problems, error, testIdPrefix }: { problems: string[]; error: unknown; testIdPrefix: string }) {
  return (
    <>
      {problems.length > 0 && (
        <ul className="callout callout--warn" data-testid={`${testIdPrefix}-problems`}>
          {problems.map((p) => (
            <li key={p}>{p}</li>
          ))}
        </ul>
      )}
      {error !== null && error !== undefined && (
        <p
          // A new message mounts anew, and so is brought into view again.
          key={describeError(error)}
          ref={(el) => el?.scrollIntoView({ block: "nearest" })}
          className="callout callout--bad"
          role="alert"
          data-testid={`${testIdPrefix}-error`}
        >
          {describeError(error)}
        </p>
      )}
    </>
  );
}
