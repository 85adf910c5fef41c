import { describe, expect, it } from "vitest";
import { keyKeeper, newIdempotencyKey, sendOnce, SendFailure, SEND_TIMEOUT_MS } from "./send-once";

const guard = { idempotencyKey: newIdempotencyKey(), deadline: Date.now() + SEND_TIMEOUT_MS };
const online = { online: () => true };

describe("sendOnce", () => {
  it("does not send at all while the browser is offline", async () => {
    let sent = false;
    const r = sendOnce(guard, async () => (sent = true), { online: () => false });
    await expect(r).rejects.toMatchObject({
      kind: "offline",
      message: expect.stringMatching(/^Not sent: .*Nothing was submitted/),
    });
    expect(sent).toBe(false);
  });

  it("aborts a request with no answer and says the server may have accepted it", async () => {
    let aborted = false;
    const r = sendOnce(
      guard,
      (_g, signal) =>
        new Promise((_resolve, reject) =>
          signal.addEventListener("abort", () => {
            aborted = true;
            reject(new Error("The operation was aborted"));
          }),
        ),
      { ...online, timeoutMs: 1 },
    );
    await expect(r).rejects.toMatchObject({
      kind: "no-answer",
      message: expect.stringMatching(/may have accepted.*check History/),
    });
    expect(aborted).toBe(true);
  });

  it("passes the guard and the server's answers and refusals through", async () => {
    expect(await sendOnce(guard, async (g) => g.idempotencyKey, online)).toBe(guard.idempotencyKey);
    const refusal = Object.assign(new Error("VM heat-1 is held by operation x"), { data: { appCode: "VM_LOCKED" } });
    await expect(sendOnce(guard, () => Promise.reject(refusal), online)).rejects.toBe(refusal);
    await expect(sendOnce(guard, () => Promise.reject(new TypeError("Failed to fetch")), online)).rejects.toBeInstanceOf(
      SendFailure,
    );
  });
});

describe("keyKeeper", () => {
  it("keeps the key while the same input is resubmitted, with a fresh deadline each time", () => {
    const k = keyKeeper();
    const a = k.guardFor({ vmId: "v", count: 2 }, 1_000);
    const b = k.guardFor({ vmId: "v", count: 2 }, 5_000);
    expect(b.idempotencyKey).toBe(a.idempotencyKey);
    expect(a.idempotencyKey).toMatch(/^[0-9a-f]{32}$/);
    expect(b.deadline).toBe(5_000 + SEND_TIMEOUT_MS);
    expect(k.guardFor({ vmId: "v", count: 3 }).idempotencyKey).not.toBe(a.idempotencyKey);
    const c = k.guardFor({ vmId: "v", count: 3 });
    k.done();
    expect(k.guardFor({ vmId: "v", count: 3 }).idempotencyKey).not.toBe(c.idempotencyKey);
  });
});
