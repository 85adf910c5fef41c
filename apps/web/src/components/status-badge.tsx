import { statusLabel } from "../lib/format";

/** One colour per meaning across the console: progress blue, success green, failure red, undo amber. */
const TONE: Record<string, string> = {
  queued: "neutral",
  pending: "neutral",
  skipped: "neutral",
  provisioning: "info",
  running: "info",
  rolling_back: "warn",
  deleting: "warn",
  compensated: "warn",
  succeeded: "ok",
  online: "ok",
  failed: "bad",
  unreachable: "bad",
  rolled_back: "warn",
  deleted: "neutral",
  degraded: "bad",
  lost: "bad",
};

/** A VM that is running is healthy and at rest, unlike an operation that is running. */
const VM_TONE: Record<string, string> = { running: "ok", failed: "bad", lost: "bad" };
const IN_PROGRESS = new Set(["running", "rolling_back", "provisioning", "deleting"]);

export function StatusBadge({ status, testId, of = "operation" }: { status: string; testId?: string; of?: "operation" | "vm" }) {
  const tone = (of === "vm" ? VM_TONE[status] : undefined) ?? TONE[status] ?? "neutral";
  const busy = IN_PROGRESS.has(status) && !(of === "vm" && status === "running");
  return (
    <span className={`badge badge--${tone}`} data-testid={testId} data-status={status}>
      {busy && <span className="spinner" aria-hidden />}
      {statusLabel(status)}
    </span>
  );
}
