/**
 * Turns whatever a tRPC call threw into one sentence a person can act on. The server already
 * phrases domain refusals ("host pm-2 has 0 of 4 VM slots free; …"); this adds what to do for
 * the refusals that need it and hides transport noise.
 */
interface ErrorLike {
  message?: unknown;
  data?: { appCode?: unknown; code?: unknown } | null;
}

const ADVICE: Record<string, string> = {
  VM_LOCKED: "Wait for that operation to finish, then try again.",
  QUOTA_EXCEEDED: "Choose another host or free a VM slot first.",
  CAPACITY_EXCEEDED: "Choose a host with more free capacity.",
  VM_NOT_RUNNING: "Refresh the topology; the VM changed state.",
  NOT_FOUND: "Refresh the topology; it may have changed.",
};

export function describeError(error: unknown): string {
  if (error === null || error === undefined) return "";
  const e = error as ErrorLike;
  const message = typeof e.message === "string" && e.message.trim() ? e.message.trim() : "the request failed";
  if (/fetch failed|failed to fetch|networkerror|load failed/i.test(message)) {
    return "Cannot reach the Malleo web server. Check that it is running, then try again.";
  }
  const appCode = typeof e.data?.appCode === "string" ? e.data.appCode : undefined;
  // "count: …" names a field and keeps its spelling; other messages become sentences.
  const sentence = /^[\w.]+: /.test(message) ? message : message.charAt(0).toUpperCase() + message.slice(1);
  const advice = appCode ? ADVICE[appCode] : undefined;
  const ended = /[.!?]$/.test(sentence) ? sentence : `${sentence}.`;
  return advice ? `${ended} ${advice}` : ended;
}
