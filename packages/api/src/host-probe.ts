import { randomUUID } from "node:crypto";
import { HOST_PROBE_WAIT_MS, type HostProbeAnswer } from "@malleo/core";
import { hostProbeDelete, hostProbeGet, hostProbeRequest, publishEvent, type Db } from "@malleo/db";
import { z } from "zod";

export const hostProbeOutput = z.discriminatedUnion("ok", [
  z.object({
    ok: z.literal(true),
    cpus: z.number().int(),
    memoryMiB: z.number().int(),
    model: z.string().optional(),
    hostname: z.string().optional(),
    /** From the request reaching the worker to libvirt's answer. */
    elapsedMs: z.number(),
  }),
  z.object({
    ok: z.literal(false),
    kind: z.enum([
      "missing-file",
      "identity",
      "auth",
      "unknown-host",
      "refused",
      "timeout",
      "unreachable",
      "failed",
      "uri-refused",
      "no-worker",
    ]),
    reason: z.string(),
    detail: z.string().optional(),
  }),
]) satisfies z.ZodType<HostProbeAnswer>;

/**
 * "Test connection": asks a worker (the only process that talks to libvirt) to try the URI,
 * through a `host_probes` row it claims and answers, and waits for the answer. The row is deleted
 * once read, with any a dead web process left behind; nothing else changes.
 */
export async function probeHostThroughWorker(
  db: Db,
  uri: string,
  requestedBy: string,
  waitMs = HOST_PROBE_WAIT_MS,
): Promise<HostProbeAnswer> {
  const id = randomUUID();
  await hostProbeRequest(db, { id, uri, requestedBy });
  try {
    await publishEvent(db, { type: "host-probe", probeId: id });
    const deadline = Date.now() + waitMs;
    let claimed = false;
    for (let poll = 1; Date.now() < deadline; poll++) {
      const row = await hostProbeGet(db, id);
      claimed = Boolean(row?.claimedBy);
      if (row?.answer) return hostProbeOutput.parse(row.answer);
      // A worker whose LISTEN connection was (re)connecting missed the notification: say it again.
      if (!claimed && poll % 10 === 0) await publishEvent(db, { type: "host-probe", probeId: id });
      await new Promise((r) => setTimeout(r, 100));
    }
    const waited = waitMs >= 1000 ? `${Math.round(waitMs / 1000)} s` : `${waitMs} ms`;
    return claimed
      ? { ok: false, kind: "timeout", reason: `the worker trying the URI did not finish within ${waited}` }
      : {
          ok: false,
          kind: "no-worker",
          reason: `no worker answered within ${waited}; only the worker talks to libvirt — is it running?`,
        };
  } finally {
    await hostProbeDelete(db, id, new Date(Date.now() - 10 * waitMs)).catch(() => undefined);
  }
}
