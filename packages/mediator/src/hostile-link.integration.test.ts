import { connect, type Socket } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  Channel,
  JSON_FRAME_FLAG,
  MAX_THEATER_REPLY_FRAME_BYTES,
  RECORDER_BEHAVIOR,
  REGISTRATION_REFUSED_PREFIX,
  encodeFrameHead,
  encodeJsonFrame,
  parseAddress,
} from "@malleo/actors";
import { waitUntil } from "@malleo/testing";
import { TheaterLab, mediatorTlsSocket, socketClosed } from "./testing";

// What a client of the Mediator port may do before and after admission, and what it costs us.
// `rawSocket` is plain TCP (refused by TLS before any frame); `tlsSocket` has passed TLS on the
// key of a VM (as a theater, or someone who read its secret, would) and then misbehaves.

async function rawSocket(address: string): Promise<Socket> {
  const { host, port } = parseAddress(address);
  const socket = connect({ host, port });
  socket.on("error", () => {}); // a reset is one way of being cut off
  await new Promise<void>((resolve, reject) => socket.once("connect", resolve).once("error", reject));
  return socket;
}

const closedPromise = socketClosed;

/** Past TLS on the key of hl-a (whose theater is registered): what admission alone must refuse. */
const tlsSocket = (address: string) => mediatorTlsSocket(address, "hl-a", "secret-of-hl-a");

function logged(lab: TheaterLab, msg: string, match: (entry: Record<string, unknown>) => boolean = () => true): boolean {
  return lab.mediatorLog.some((entry) => entry.msg === msg && match(entry));
}

describe("the Mediator port against hostile clients", () => {
  const lab = new TheaterLab({ admissionTimeoutMs: 300, maxUnadmittedPerAddress: 3, maxUnadmittedConnections: 50 });
  beforeAll(async () => {
    await lab.start();
    await lab.boot(["hl-a"]);
    await lab.mediator.spawnActors("hl-a", [{ uan: "uan://hl/resident", behavior: RECORDER_BEHAVIOR, init: null }]);
  });
  afterAll(() => lab.cleanup());

  it("refuses a plain-TCP client at TLS: nothing it sends is read as a frame, and it is logged", async () => {
    const before = lab.mediator.admissionStats().refusedTls;
    const socket = await rawSocket(lab.address);
    const closed = closedPromise(socket);
    socket.write(encodeJsonFrame({ t: "req", id: 1, body: { type: "admit", vmId: "hl-a", secret: "secret-of-hl-a" } }));
    await closed;
    await waitUntil("the refusal to be counted", () => lab.mediator.admissionStats().refusedTls > before);
    expect(logged(lab, "connection refused: no TLS handshake on a VM's key")).toBe(true);
    expect(logged(lab, "connection closed before admission: bad input", (e) => /admit/.test(String(e.reason)))).toBe(false);
  });

  it("refuses TLS on a wrong key, or for a VM nobody expects, before admission", async () => {
    const before = lab.mediator.admissionStats().refusedTls;
    await expect(mediatorTlsSocket(lab.address, "hl-a", "a guess")).rejects.toMatchObject({
      code: "ERR_SSL_SSLV3_ALERT_BAD_RECORD_MAC",
    });
    await expect(mediatorTlsSocket(lab.address, "hl-nobody", "x")).rejects.toMatchObject({
      code: "ERR_SSL_TLSV1_ALERT_UNKNOWN_PSK_IDENTITY",
    });
    await waitUntil("both refusals to be counted", () => lab.mediator.admissionStats().refusedTls >= before + 2);
    expect(lab.mediator.theater("hl-a")).toBeDefined(); // the real theater is untouched
  });

  it("never decodes a structured-clone frame before admission: the link is closed and logged", async () => {
    const socket = await tlsSocket(lab.address);
    const channel = new Channel(socket);
    channel.send({ type: "register", vmId: "hl-a", secret: "x", address: "127.0.0.1:1", pid: 1, actors: [] });
    await channel.closed;
    await waitUntil("the refusal to be logged", () =>
      logged(lab, "connection closed before admission: bad input", (entry) =>
        String(entry.reason).includes("structured-clone frame before the peer was authenticated"),
      ),
    );
  });

  it("never decodes a frame with a raw payload before admission either: the link is closed and logged", async () => {
    const refusals = () =>
      lab.mediatorLog.filter(
        (entry) =>
          entry.msg === "connection closed before admission: bad input" &&
          String(entry.reason).includes("structured-clone frame before the peer was authenticated"),
      ).length;
    const before = refusals();
    const socket = await tlsSocket(lab.address);
    const closed = closedPromise(socket);
    const payload = Buffer.alloc(64, 7);
    const body = { t: "req", id: 1, body: { type: "migrate-in", transfer: 1, last: true } };
    socket.write(Buffer.concat([encodeFrameHead(body, payload.length), payload]));
    await closed;
    await waitUntil("the refusal to be logged", () => refusals() > before);
  });

  it("cuts off a frame header above 64 KiB before admission, before buffering it", async () => {
    const socket = await tlsSocket(lab.address);
    const closed = closedPromise(socket);
    const header = Buffer.alloc(4);
    header.writeUInt32BE((JSON_FRAME_FLAG | (65 * 1024)) >>> 0, 0); // a JSON frame of 65 KiB
    socket.write(header);
    await closed;
    expect(
      logged(lab, "connection closed before admission: bad input", (e) => /exceeds the limit of 65536/.test(String(e.reason))),
    ).toBe(true);
  });

  it("refuses anything but admit before admission, as JSON, and closes", async () => {
    const channel = new Channel(await tlsSocket(lab.address));
    await expect(channel.requestJson({ type: "resolve", uan: "uan://hl/resident" }, 5_000)).rejects.toThrow(
      `${REGISTRATION_REFUSED_PREFIX}"resolve" before admission`,
    );
    await channel.closed;
    const garbage = new Channel(await tlsSocket(lab.address));
    await expect(garbage.requestJson({ type: "admit", vmId: ["x"], secret: 1 }, 5_000)).rejects.toThrow("malformed admission");
    await garbage.closed;
  });

  it("cuts off a connection that is not admitted within the deadline", async () => {
    const socket = await rawSocket(lab.address);
    await closedPromise(socket);
    expect(logged(lab, "connection cut off: not admitted in time")).toBe(true);
  });

  it("caps connections waiting for admission per address, and frees the slots when they go", async () => {
    const waiting = await Promise.all([1, 2, 3].map(() => rawSocket(lab.address)));
    await waitUntil("three connections waiting", () => lab.mediator.admissionStats().waiting === 3);
    const fourth = await rawSocket(lab.address);
    await closedPromise(fourth);
    expect(lab.mediator.admissionStats().refusedAtCap).toBeGreaterThanOrEqual(1);
    for (const socket of waiting) socket.destroy();
    await waitUntil("the slots to be free", () => lab.mediator.admissionStats().waiting === 0);
    // A real theater still gets in afterwards.
    await lab.boot(["hl-b"]);
  });

  it("an admitted client cannot register actors placed elsewhere or never placed, nor crash it with bad messages", async () => {
    lab.mediator.expectTheater("hl-evil", "evil-secret", { actors: ["uan://hl/placed-here"] });
    const channel = new Channel(await mediatorTlsSocket(lab.address, "hl-evil", "evil-secret"));
    await channel.requestJson({ type: "admit", vmId: "hl-evil", secret: "evil-secret", address: "127.0.0.1:9", pid: 9 }, 5_000);
    await channel.request(
      {
        type: "register",
        vmId: "hl-evil",
        secret: "evil-secret",
        address: "127.0.0.1:9",
        pid: 9,
        actors: [
          { uan: "uan://hl/resident", behavior: RECORDER_BEHAVIOR }, // lives on hl-a
          { uan: "uan://other/never-placed", behavior: RECORDER_BEHAVIOR },
          { uan: "uan://hl/placed-here", behavior: RECORDER_BEHAVIOR },
        ],
      },
      5_000,
    );
    expect(lab.mediator.listActors("hl-a").map((a) => a.uan)).toEqual(["uan://hl/resident"]);
    expect(lab.mediator.listActors("hl-evil").map((a) => a.uan)).toEqual(["uan://hl/placed-here"]);
    expect(logged(lab, "actors refused at registration: not placed on this VM", (e) => e.count === 2)).toBe(true);

    // One malformed progress message used to throw inside the socket's data handler.
    channel.send({ type: "progress", items: [{ uan: 42, iteration: "x" }] });
    await channel.closed;
    expect(logged(lab, "theater link closed: bad input", (e) => e.reason === "malformed progress")).toBe(true);
    // The Mediator and the real theater carry on.
    lab.mediator.sendMessage("uan://hl/resident", "still here");
    await waitUntil("the resident's message", async () => {
      const state = (await lab.mediator.collectStates(["uan://hl/resident"])).get("uan://hl/resident") as {
        received: unknown[];
      };
      return state.received.length === 1;
    });
  });

  /** A client admitted and registered as `vmId` (with no actors), answering requests with `answer`. */
  async function admittedAs(vmId: string, answer: (body: unknown) => unknown = () => ({})): Promise<Channel> {
    lab.mediator.expectTheater(vmId, `secret-of-${vmId}`, { actors: [] });
    const channel = new Channel(await mediatorTlsSocket(lab.address, vmId, `secret-of-${vmId}`), {
      onRequest: (body) => answer(body),
    });
    const hello = { vmId, secret: `secret-of-${vmId}`, address: "127.0.0.1:9", pid: 9 };
    await channel.requestJson({ type: "admit", ...hello }, 5_000);
    await channel.request({ type: "register", ...hello, actors: [] }, 5_000);
    return channel;
  }

  it("closes only the link of an admitted theater that announces a frame above its cap, or sends a raw payload", async () => {
    const big = await admittedAs("hl-big");
    const header = Buffer.alloc(4);
    header.writeUInt32BE(MAX_THEATER_REPLY_FRAME_BYTES + 1, 0); // one byte more than a snapshot reply may take
    big.socket.write(header);
    await big.closed;
    await waitUntil("the cut-off to be logged", () =>
      logged(
        lab,
        "theater lost",
        (e) => e.vmId === "hl-big" && String(e.reason).includes(`exceeds the limit of ${MAX_THEATER_REPLY_FRAME_BYTES}`),
      ),
    );
    const raw = await admittedAs("hl-raw");
    raw.send({ type: "held", uans: [] }, [Buffer.alloc(64, 1)]); // theaters never send the Mediator a raw payload
    await raw.closed;
    await waitUntil("the raw payload's cut-off to be logged", () =>
      logged(
        lab,
        "theater lost",
        (e) => e.vmId === "hl-raw" && String(e.reason).includes("a frame with a raw payload is not taken"),
      ),
    );
    await waitUntil("both VMs to be without a theater", () => !lab.mediator.theater("hl-big") && !lab.mediator.theater("hl-raw"));
    // The Mediator and the real theater carry on.
    expect(lab.mediator.theater("hl-a")).toBeDefined();
    expect(await lab.mediator.collectStates(["uan://hl/resident"])).toHaveProperty("size", 1);
  });

  it("a malformed snapshot, restore, discard, cut or kept-copy reply fails that request, naming it, and closes only that link", async () => {
    const bad: Record<string, unknown> = {
      snapshot: { actors: [{ uan: "uan://hl/resident", behavior: 7 }], missing: [], held: [] },
      restore: { actors: "all of them" },
      discard: { discarded: -1 },
      cut: {
        counters: [{ uan: "uan://hl/resident", sendSeq: "many", recvNext: new Map(), waiting: new Map() }],
        missing: [],
        held: [],
        kept: false,
      },
      "snapshot-fetch": { data: "not bytes" },
    };
    for (const [type, reply] of Object.entries(bad)) {
      const vmId = `hl-bad-${type}`;
      const channel = await admittedAs(vmId, (body) => ((body as { type?: unknown }).type === type ? reply : {}));
      const requests: Record<string, () => Promise<unknown>> = {
        snapshot: () => lab.mediator.snapshotActors(vmId, ["uan://hl/resident"]),
        restore: () => lab.mediator.restoreActors(vmId, [], 0),
        discard: () => lab.mediator.discardActors(["uan://hl/nobody"]),
        cut: () => lab.mediator.cutActors(vmId, ["uan://hl/resident"], "t"),
        "snapshot-fetch": () => lab.mediator.fetchKept(vmId, "t", ["uan://hl/resident"]),
      };
      const request = requests[type]!();
      await expect(request).rejects.toThrow(`the theater of VM ${vmId} sent a malformed ${type} reply`);
      await channel.closed;
      expect(logged(lab, "theater link closed: bad input", (e) => e.reason === `malformed ${type} reply`)).toBe(true);
      expect(lab.mediator.theater(vmId)).toBeUndefined();
    }
    // A kept copy that does not decode, or holds an actor not asked for, fails that request only.
    const garbage = await admittedAs("hl-garbage", (body) =>
      (body as { type?: unknown }).type === "snapshot-fetch" ? { data: new Uint8Array([0xff, 0x0d, 0x6f, 0x22]) } : {},
    );
    await expect(lab.mediator.fetchKept("hl-garbage", "t", ["uan://hl/resident"])).rejects.toThrow(
      "the snapshot kept on VM hl-garbage",
    );
    garbage.destroy();
    // A well-formed snapshot still works, from the real theater.
    const snapshot = await lab.mediator.snapshotActors("hl-a", ["uan://hl/resident"]);
    expect(snapshot.actors.map((actor) => actor.uan)).toEqual(["uan://hl/resident"]);
    // So does a cut that keeps a copy at the theater, fetched once.
    const cut = await lab.mediator.cutActors("hl-a", ["uan://hl/resident", "uan://hl/nobody"], "token-1");
    expect(cut.counters.map((c) => c.uan)).toEqual(["uan://hl/resident"]);
    expect(cut.missing).toEqual(["uan://hl/nobody"]);
    expect(cut.kept).toBe(true);
    await expect(lab.mediator.fetchKept("hl-a", "another token", ["uan://hl/resident"])).rejects.toThrow(
      'no snapshot kept under "another token"',
    );
    const kept = await lab.mediator.fetchKept("hl-a", "token-1", ["uan://hl/resident"]);
    expect(kept.map((actor) => [actor.uan, actor.behavior])).toEqual([["uan://hl/resident", snapshot.actors[0]!.behavior]]);
    expect(kept[0]!.state).toEqual(snapshot.actors[0]!.state);
    await expect(lab.mediator.fetchKept("hl-a", "token-1", ["uan://hl/resident"])).rejects.toThrow("no snapshot kept");
  });
});
