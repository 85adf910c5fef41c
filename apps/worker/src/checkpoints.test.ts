import { countersOf, type MigratedActor } from "@malleo/actors";
import { sha256Hex } from "@malleo/db";
import { describe, expect, it } from "vitest";
import { describeInFlight, inFlightPairs, messagesInFlight } from "@malleo/mediator";
import { cutProgress, decodeCheckpoint, encodeCheckpoint, storageErrorText } from "./checkpoints";

const actor = (uan: string, over: Partial<MigratedActor> = {}): MigratedActor => ({
  uan,
  behavior: "heat.slab",
  state: { iteration: 0 },
  mailbox: [],
  sendSeq: new Map(),
  recvNext: new Map(),
  reorder: new Map(),
  profile: { receivedFrom: new Map(), sentTo: new Map(), handled: 0, busyMs: 0 },
  ...over,
});

describe("messagesInFlight", () => {
  it("is zero when every message sent between the actors has been received", () => {
    const a = actor("uan://h/a", { sendSeq: new Map([["uan://h/b", 3]]), recvNext: new Map([["uan://h/b", 2]]) });
    const b = actor("uan://h/b", { sendSeq: new Map([["uan://h/a", 1]]), recvNext: new Map([["uan://h/a", 4]]) });
    expect(messagesInFlight([a, b])).toBe(0);
  });

  it("counts messages sent and neither in a mailbox nor in a reorder buffer", () => {
    const a = actor("uan://h/a", { sendSeq: new Map([["uan://h/b", 5]]) });
    const b = actor("uan://h/b", {
      recvNext: new Map([["uan://h/a", 3]]), // 1, 2 accepted
      reorder: new Map([["uan://h/a", new Map([[5, { from: "uan://h/a", body: null }]])]]), // 5 waits for 3, 4
    });
    expect(messagesInFlight([a, b])).toBe(2);
    expect(messagesInFlight([a, actor("uan://h/b")])).toBe(5); // nothing received yet
    // Which pair, and where the gap is: what an operator reads when a checkpoint gives up.
    const pairs = inFlightPairs([a, b].map(countersOf));
    expect(pairs).toEqual([{ from: "uan://h/a", to: "uan://h/b", count: 2, lastSent: 5, accepted: 2, waiting: 1 }]);
    expect(describeInFlight(pairs)).toBe("uan://h/a → uan://h/b: 2 (sent up to 5, taken up to 2, 1 waiting)");
    const many = Array.from({ length: 5 }, (_, i) => ({ ...pairs[0]!, from: `uan://h/s${i}` }));
    expect(describeInFlight(many)).toMatch(/s2 → uan:\/\/h\/b: 2 .*; and 2 more pairs$/);
  });

  it("ignores messages to actors outside the cut and honours a restored sequence base", () => {
    const base = 2 ** 32;
    const a = actor("uan://h/a", {
      seqBase: base,
      sendSeq: new Map([
        ["uan://h/b", base + 2],
        ["uan://other/x", 9],
      ]),
    });
    const b = actor("uan://h/b", { seqBase: base, recvNext: new Map([["uan://h/a", base + 3]]) });
    expect(messagesInFlight([a, b])).toBe(0);
    expect(messagesInFlight([a, actor("uan://h/b", { seqBase: base })])).toBe(2);
  });
});

describe("checkpoint encoding", () => {
  it("round-trips actors, and refuses bytes that do not match their checksum", () => {
    const actors = [
      actor("uan://h/a", { state: { iteration: 7, rows: new Float64Array([1.5, 2]) } }),
      actor("uan://h/b", { state: { iteration: 5 } }),
    ];
    const data = encodeCheckpoint("h", actors);
    const meta = { sequence: 1, sha256: sha256Hex(data) };
    const back = decodeCheckpoint(meta, data);
    expect(back.map((a) => a.uan)).toEqual(["uan://h/a", "uan://h/b"]);
    expect((back[0]!.state as { rows: Float64Array }).rows).toEqual(new Float64Array([1.5, 2]));
    expect(cutProgress(back)).toBe(5);
    const corrupt = Uint8Array.from(data);
    corrupt[corrupt.length - 1]! ^= 0xff;
    expect(() => decodeCheckpoint(meta, corrupt)).toThrow("checkpoint #1 is corrupt");
  });
});

describe("storageErrorText", () => {
  it("keeps what the database said, without the client's call site", () => {
    const prisma = new Error(
      "\nInvalid `tx.checkpoint.create()` invocation in\n/x/recovery.ts:119:37\n\nDatabase error. Code: `P0001`. Message: `disk full`",
    );
    expect(storageErrorText(prisma)).toBe("disk full");
    expect(storageErrorText(new Error("connection refused\n"))).toBe("connection refused");
  });
});
