import { describe, expect, it } from "vitest";
import { createEventHub, type ListenFn, type LiveEvent } from "./event-hub";
import type { OperationDetail } from "./operation-detail";

/** A stand-in for Postgres LISTEN that counts connections and lets the test publish. */
function fakeListen() {
  const state = { open: 0, opened: 0, publish: (_e: unknown) => {} };
  const listen: ListenFn = (_url, onEvent) => {
    state.open += 1;
    state.opened += 1;
    state.publish = onEvent as (e: unknown) => void;
    return () => {
      state.open -= 1;
    };
  };
  return { state, listen };
}

async function take(it: AsyncGenerator<LiveEvent>, n: number): Promise<LiveEvent[]> {
  const out: LiveEvent[] = [];
  for (let i = 0; i < n; i++) {
    const r = await it.next();
    if (r.done) break;
    out.push(r.value);
  }
  return out;
}

describe("createEventHub", () => {
  it("shares one LISTEN connection among subscribers and closes it with the last", async () => {
    const { state, listen } = fakeListen();
    const hub = createEventHub("postgres://x", { listen });
    const a = hub.stream();
    const b = hub.stream();
    const pa = take(a, 2);
    const pb = take(b, 2);
    await new Promise((r) => setImmediate(r));
    expect(state.open).toBe(1);
    expect(hub.subscriberCount()).toBe(2);

    state.publish({ type: "topology" });
    state.publish({ type: "operation", operationId: "op-1" });
    const expected = [{ type: "topology" }, { type: "operation", operationId: "op-1" }];
    expect(await pa).toEqual(expected);
    expect(await pb).toEqual(expected);

    await a.return();
    expect(state.open).toBe(1);
    await b.return();
    expect(state.open).toBe(0);
    expect(state.opened).toBe(1);
  });

  it("ends a subscriber's stream when its signal aborts", async () => {
    const { state, listen } = fakeListen();
    const hub = createEventHub("postgres://x", { listen });
    const ctrl = new AbortController();
    const stream = hub.stream(ctrl.signal);
    const next = stream.next();
    await new Promise((r) => setImmediate(r));
    ctrl.abort();
    expect(await next).toEqual({ done: true, value: undefined });
    expect(state.open).toBe(0);
    expect(hub.subscriberCount()).toBe(0);
  });

  it("drops malformed payloads instead of passing them to browsers", async () => {
    const { state, listen } = fakeListen();
    const errors: Error[] = [];
    const hub = createEventHub("postgres://x", { listen, onError: (e) => errors.push(e) });
    const stream = hub.stream();
    const first = stream.next();
    await new Promise((r) => setImmediate(r));
    state.publish({ type: "application", applicationId: "heat" }); // no iteration
    state.publish({ type: "application", applicationId: "heat", iteration: 7 });
    expect((await first).value).toEqual({ type: "application", applicationId: "heat", iteration: 7 });
    expect(errors).toHaveLength(1);
    await stream.return();
  });

  it("sends an operation's event with the operation read once for all subscribers, in order, the last read after the last change", async () => {
    const { state, listen } = fakeListen();
    // The "database": a version that each change bumps; a read returns it after the test lets it finish.
    let version = 0;
    const reads: { resolve: () => void }[] = [];
    const loadOperation = (id: string) =>
      new Promise<OperationDetail | null>((resolve) => {
        reads.push({
          resolve: () => resolve(id === "gone" ? null : ({ id, status: `v${version}` } as unknown as OperationDetail)),
        });
      });
    const hub = createEventHub("postgres://x", { listen, loadOperation });
    const a = hub.stream();
    const b = hub.stream();
    const pa = take(a, 3);
    const pb = take(b, 3);
    await new Promise((r) => setImmediate(r));

    version = 1;
    state.publish({ type: "operation", operationId: "op-1" });
    // Two more changes while the first read is under way: one more read, not two.
    version = 2;
    state.publish({ type: "operation", operationId: "op-1" });
    version = 3;
    state.publish({ type: "operation", operationId: "op-1" });
    expect(reads).toHaveLength(1);
    reads[0]!.resolve();
    await new Promise((r) => setImmediate(r));
    expect(reads).toHaveLength(2);
    reads[1]!.resolve();
    await new Promise((r) => setImmediate(r));
    state.publish({ type: "operation", operationId: "gone" });
    reads[2]!.resolve();

    const expected = [
      { type: "operation", operationId: "op-1", operation: { id: "op-1", status: "v3" } },
      { type: "operation", operationId: "op-1", operation: { id: "op-1", status: "v3" } },
      { type: "operation", operationId: "gone" },
    ];
    expect(await pa).toEqual(expected);
    expect(await pb).toEqual(expected);
    expect(reads).toHaveLength(3);
    await a.return();
    await b.return();
  });

  it("still sends the event, without the operation, when reading it fails", async () => {
    const { state, listen } = fakeListen();
    const errors: Error[] = [];
    const hub = createEventHub("postgres://x", {
      listen,
      onError: (e) => errors.push(e),
      loadOperation: () => Promise.reject(new Error("connection reset")),
    });
    const stream = hub.stream();
    const first = stream.next();
    await new Promise((r) => setImmediate(r));
    state.publish({ type: "operation", operationId: "op-2" });
    expect((await first).value).toEqual({ type: "operation", operationId: "op-2" });
    expect(errors.map((e) => e.message)).toEqual(["connection reset"]);
    await stream.return();
  });
});
