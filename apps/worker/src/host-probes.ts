import { HOST_PROBE_TIMEOUT_MS, hostProbeFailed, hostUriPolicyProblem, hostUriProblem } from "@malleo/core";
import type { HostProbeAnswer, HostUriPolicy } from "@malleo/core";
import { hostProbeAnswer, hostProbeClaim, hostProbeListUnclaimed, listenEvents, type Db } from "@malleo/db";
import { HostConnection } from "@malleo/hypervisor";
import type { Logger } from "./log";

/** Tries a URI as the host pool would open it: the URI rules, open, nodeGetInfo and the host name, within the timeout. */
export async function probeHostUri(
  uri: string,
  opts: { uriPolicy: HostUriPolicy; timeoutMs?: number },
): Promise<HostProbeAnswer> {
  const refused = hostUriProblem(uri) ?? hostUriPolicyProblem(uri, opts.uriPolicy);
  if (refused) return { ok: false, kind: "uri-refused", reason: `URI refused: ${refused}` };
  const timeoutMs = opts.timeoutMs ?? HOST_PROBE_TIMEOUT_MS;
  const started = performance.now();
  let conn: HostConnection | undefined;
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer from ${uri}: timed out after ${timeoutMs} ms`)), timeoutMs);
  });
  deadline.catch(() => undefined); // raced only once the connection is open
  try {
    conn = await HostConnection.open({ id: "probe", uri }, { openTimeoutMs: timeoutMs });
    const open = conn;
    const [capacity, hostname] = await Promise.race([
      Promise.all([open.capacity(), open.hostname().catch(() => undefined)]),
      deadline,
    ]);
    return {
      ok: true,
      cpus: capacity.cpus,
      memoryMiB: capacity.memoryMiB,
      ...(capacity.model ? { model: capacity.model } : {}),
      ...(hostname ? { hostname } : {}),
      elapsedMs: Math.round(performance.now() - started),
    };
  } catch (e) {
    return hostProbeFailed((e as Error).message);
  } finally {
    clearTimeout(timer);
    await conn?.close().catch(() => undefined);
  }
}

/**
 * Serves "test connection" requests (the API's hosts.test): LISTENs for them, claims each one
 * with compare-and-swap (one worker tries it), tries the URI and writes the answer for the API
 * to read. Only workers talk to libvirt, so the web asks through Postgres.
 */
export function serveHostProbes(
  db: Db,
  opts: { databaseUrl: string; executorId: string; uriPolicy: HostUriPolicy; log: Logger; timeoutMs?: number },
): () => Promise<void> {
  const running = new Set<Promise<void>>();
  let stopped = false;
  const serve = (probeId: string) => {
    if (stopped) return;
    const work = (async () => {
      const claimed = await hostProbeClaim(db, probeId, opts.executorId);
      if (!claimed) return;
      const answer = await probeHostUri(claimed.uri, opts);
      await hostProbeAnswer(db, probeId, answer);
      opts.log({
        event: "host URI tried",
        uri: claimed.uri,
        ok: answer.ok,
        ...(answer.ok ? { cpus: answer.cpus, memoryMiB: answer.memoryMiB } : { kind: answer.kind, error: answer.detail }),
      });
    })()
      .catch((e: Error) => opts.log({ event: "host URI try failed", probeId, error: e.message }))
      .finally(() => running.delete(work));
    running.add(work);
  };
  const stopListening = listenEvents(
    opts.databaseUrl,
    (e) => {
      if (e.type === "host-probe") serve(e.probeId);
    },
    (e) => opts.log({ event: "host probe watch error", error: e.message }),
  );
  // Requests made while no worker listened (this one starting) are still waited for.
  void hostProbeListUnclaimed(db, new Date(Date.now() - HOST_PROBE_TIMEOUT_MS))
    .then((rows) => rows.forEach((r) => serve(r.id)))
    .catch((e: Error) => opts.log({ event: "host probe sweep failed", error: e.message }));
  return async () => {
    stopped = true;
    stopListening();
    await Promise.allSettled([...running]);
  };
}
