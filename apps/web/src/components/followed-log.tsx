"use client";

import { useLayoutEffect, useRef, useState } from "react";
import type { LogLine } from "../lib/operation";
import { formatTime } from "../lib/format";

/** How close to the bottom (px) still counts as "at the latest line". */
const AT_BOTTOM_PX = 24;

/**
 * An operation's log as a task viewer shows it: it follows new lines while the reader is at the
 * bottom, stops following once they scroll up (or press Pause), and offers to jump back.
 */
export function FollowedLog({ lines, now, fileName }: { lines: LogLine[]; now: number; fileName: string }) {
  const ref = useRef<HTMLOListElement>(null);
  const [follow, setFollow] = useState(true);
  const last = lines.at(-1);
  const key = `${lines.length} ${last?.text ?? ""}`;
  useLayoutEffect(() => {
    const el = ref.current;
    if (el && follow) el.scrollTop = el.scrollHeight;
  }, [key, follow]);
  const download = () => {
    const text = lines.map((l) => `${l.at.toISOString()}\t${l.who}\t${l.text}`).join("\n") + "\n";
    const url = URL.createObjectURL(new Blob([text], { type: "text/plain" }));
    const a = document.createElement("a");
    a.href = url;
    a.download = fileName;
    a.click();
    URL.revokeObjectURL(url);
  };
  return (
    <>
      <div className="log__bar">
        <h2 className="panel__title">Log</h2>
        <span className="muted log__state" data-testid="op-log-follow" data-follow={String(follow)} aria-live="polite">
          {follow ? "following new lines" : "paused: new lines are not scrolled to"}
        </span>
        <button
          type="button"
          className="button button--small"
          data-testid="op-log-follow-toggle"
          aria-pressed={!follow}
          onClick={() => setFollow((f) => !f)}
        >
          {follow ? "Pause" : "Follow"}
        </button>
        <button type="button" className="button button--small" data-testid="op-log-download" onClick={download}>
          Download log
        </button>
      </div>
      <ol
        ref={ref}
        className="log"
        data-testid="op-log"
        tabIndex={0}
        aria-label="Operation log"
        onScroll={(e) => {
          const el = e.currentTarget;
          const atBottom = el.scrollHeight - el.scrollTop - el.clientHeight <= AT_BOTTOM_PX;
          // Scrolling up stops following; scrolling back to the end resumes it.
          if (atBottom !== follow) setFollow(atBottom);
        }}
      >
        {lines.map((line, i) => (
          <li key={i} className={`log__line log__line--${line.tone}`} data-testid="op-log-line">
            <span className="log__time mono">{formatTime(line.at, now)}</span> <span className="log__who muted">{line.who}</span>{" "}
            {line.text}
          </li>
        ))}
      </ol>
    </>
  );
}
