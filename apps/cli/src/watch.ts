import type { RouterOutputs } from "@malleo/api";
import type { ApiClient } from "./client";
import { waitingLine } from "./commands";
import { ms } from "./table";

type Operation = RouterOutputs["operations"]["get"];

const TERMINAL = new Set(["succeeded", "failed", "rolled_back"]);

/**
 * `malleo watch <id>`: follows an operation over the server's event stream (the SSE subscription
 * the web UI uses) until it ends. Step changes arrive with the operation in the event; actor moves
 * during Transfer (topology events) refetch it for the progress line; every (re)connect refetches,
 * since events sent while disconnected are gone. Each printed line says whether the state came in
 * an event ("event") or from a request ("fetch"). A first request, before subscribing, fails at
 * once for an unknown operation or an unreachable server. Resolves to the exit status.
 */
export async function watchOperation(api: ApiClient, id: string, json: boolean, write: (line: string) => void): Promise<number> {
  const seen = new Map<string, string>();
  let lastProgress = "";
  let transferRunning = false;
  let announced = false;
  let lastWaiting: string | null = null;

  /** Prints what changed since the last state; returns the exit status once the operation has ended. */
  const show = (op: Operation, via: "event" | "fetch"): number | null => {
    for (const s of op.steps) {
      const key = `${s.name}#${s.attempt}`;
      if (seen.get(key) === s.status) continue;
      seen.set(key, s.status);
      const line = {
        at: (s.finishedAt ?? s.startedAt).toISOString(),
        step: s.name,
        attempt: s.attempt,
        status: s.status,
        error: s.error,
        via,
      };
      const took = s.finishedAt ? ` (${ms(s.finishedAt.getTime() - s.startedAt.getTime())})` : "";
      write(json ? JSON.stringify(line) : `${line.at}  ${s.name.padEnd(9)} ${s.status}${took}${s.error ? `: ${s.error}` : ""}`);
    }
    transferRunning = op.status === "running" && op.steps.some((s) => s.name === "transfer" && s.status === "running");
    if (op.progress && op.status === "running" && op.steps.some((s) => s.name === "transfer")) {
      const p = `${op.progress.actorsMoved}/${op.progress.actorsTotal}`;
      if (p !== lastProgress) {
        write(
          json
            ? JSON.stringify({ transfer: { moved: op.progress.actorsMoved, total: op.progress.actorsTotal }, via })
            : `  transfer: ${p} actors moved`,
        );
        lastProgress = p;
      }
    }
    const waiting = waitingLine(op);
    if (waiting !== lastWaiting && waiting !== null)
      write(json ? JSON.stringify({ waiting: op.waitingReason, status: op.status, via }) : waiting);
    lastWaiting = waiting;
    if (!TERMINAL.has(op.status)) return null;
    write(
      json
        ? JSON.stringify({ id: op.id, status: op.status, error: op.error })
        : `operation ${op.id} ${op.status}${op.error ? `: ${op.error}` : ""}`,
    );
    return op.status === "succeeded" ? 0 : 1;
  };

  let latest = await api.operations.get.query({ id });
  const ended = show(latest, "fetch");
  if (ended !== null) return ended;

  return new Promise((resolve, reject) => {
    let done = false;
    // States are shown one at a time, in arrival order; a fetch asked for while one is queued is not repeated.
    let queue = Promise.resolve();
    let fetchQueued = false;
    // Set once subscribed; an outcome reached while subscribing unsubscribes right after.
    const subscription: { current?: { unsubscribe: () => void } } = {};
    const finish = (outcome: () => void) => {
      if (done) return;
      done = true;
      subscription.current?.unsubscribe();
      outcome();
    };
    const enqueue = (next: () => Promise<[Operation, "event" | "fetch"]>) => {
      queue = queue
        .then(async () => {
          if (done) return;
          const [op, via] = await next();
          latest = op;
          const exit = show(op, via);
          if (exit !== null) finish(() => resolve(exit));
        })
        .catch((e: unknown) => finish(() => reject(e)));
    };
    const refetch = () => {
      if (fetchQueued) return;
      fetchQueued = true;
      enqueue(async () => {
        fetchQueued = false;
        return [await api.operations.get.query({ id }), "fetch"];
      });
    };
    subscription.current = api.events.stream.subscribe(undefined, {
      onStarted: () => {
        refetch();
        // Subscribed and caught up (after that refetch): from here on, changes arrive as events.
        queue = queue.then(() => {
          if (announced || done) return;
          announced = true;
          write(
            json
              ? JSON.stringify({ watching: latest.id, status: latest.status })
              : `watching ${latest.kind} ${latest.id} (${latest.status}); live`,
          );
        });
      },
      onData: (event) => {
        if (event.type === "operation" && event.operationId === id) {
          const op = event.operation;
          if (op) enqueue(async () => [op, "event"]);
          else refetch();
        } else if ((event.type === "topology" || event.type === "actors") && transferRunning) refetch();
      },
      onError: (e) => finish(() => reject(e)),
    });
    if (done) subscription.current.unsubscribe();
  });
}
