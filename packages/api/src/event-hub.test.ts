import type { MalleoEvent } from "@malleo/db";
import { describe, expect, it } from "vitest";
import { createEventHub, type ListenFn } from "./event-hub";

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

async function take(it: AsyncGenerator<MalleoEvent>, n: number): Promise<MalleoEvent[]> {
  const out: MalleoEvent[] = [];
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
});
