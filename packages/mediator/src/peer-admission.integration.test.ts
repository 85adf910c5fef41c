// Who may join: a theater takes actor messages and migrations only over links whose dialer proved
// the cluster peer key, which the Mediator hands to the theaters it admitted: first TLS on a key
// derived from it (link-tls.ts), then the challenge–response on top. One test per refusal,
// against real theater processes.
import { randomBytes } from "node:crypto";
import { connect, createServer } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  Channel,
  MAX_MESSAGE_FRAME_BYTES,
  PEER_NONCE_BYTES,
  PeerRefusedError,
  RECORDER_BEHAVIOR,
  Theater,
  bodyType,
  acceptTls,
  answerPeerChallenge,
  builtinBehaviors,
  connectToPeer,
  encodeJsonFrame,
  encodeMigratedActor,
  encodeMigrationBatch,
  parseAddress,
  peerLinkKey,
  type MigratedActor,
  type RecorderState,
} from "@malleo/actors";
import { waitUntil } from "@malleo/testing";
import { TheaterLab, connectAsPeer, peerTlsSocket, socketClosed } from "./testing";

// This suite's range is 25000–25999; nobody listens on NOBODY_PORT.
const IMPOSTOR_PORT = 25030;
const NOBODY_PORT = 25031;

/**
 * A client that holds the cluster key (it passes TLS) and speaks the frame protocol, but never
 * does the peer handshake on top: what that handshake alone must refuse.
 */
async function connectRaw(address: string, received: unknown[], key: Uint8Array): Promise<Channel> {
  return new Channel(await peerTlsSocket(address, key), { onMessage: (body) => received.push(body) });
}

async function receivedBy(lab: TheaterLab, uan: string): Promise<unknown[]> {
  const state = (await lab.mediator.collectStates([uan])).get(uan) as RecorderState;
  return state.received.map((entry) => entry.body);
}

/** A migration batch of one record, the way a source theater packs it. */
function migrationBatch(uan: string): Buffer[] {
  const record: MigratedActor = {
    uan,
    behavior: RECORDER_BEHAVIOR,
    state: { received: [{ from: null, body: "smuggled in" }] },
    mailbox: [],
    sendSeq: new Map(),
    recvNext: new Map(),
    reorder: new Map(),
    profile: { receivedFrom: new Map(), sentTo: new Map(), handled: 0, busyMs: 0 },
  };
  return encodeMigrationBatch([encodeMigratedActor(record)]);
}

describe("theater admission: peer links", () => {
  const lab = new TheaterLab();
  beforeAll(async () => {
    await lab.start();
    await lab.boot(["adm-a", "adm-b"]);
  });
  afterAll(() => lab.cleanup());

  it("refuses a deliver sent without the handshake, and the actor never receives it", async () => {
    const uan = "uan://probe/adm-deliver";
    await lab.mediator.spawnActors("adm-a", [{ uan, behavior: RECORDER_BEHAVIOR, init: null }]);
    const told: unknown[] = [];
    const raw = await connectRaw(lab.mediator.theater("adm-a")!.address, told, lab.mediator.peerKey);
    raw.sendJson({ type: "deliver", to: uan, from: null, body: "forged", hops: 0 });
    await raw.closed; // the theater closed the link
    // The same as a structured clone is not even decoded: the link is cut before the handshake.
    const binary = await connectRaw(lab.mediator.theater("adm-a")!.address, [], lab.mediator.peerKey);
    binary.send({ type: "deliver", to: uan, from: null, body: "forged", hops: 0 });
    await expect(binary.closed).resolves.toBeTypeOf("string");
    await waitUntil("the binary frame's cut-off to be logged", () =>
      /"msg":"peer link closed during the handshake".*structured-clone frame before the peer was authenticated/.test(
        lab.log("adm-a"),
      ),
    );

    expect(told).toContainEqual({ type: "peer-refused", reason: '"deliver" sent before the handshake' });
    lab.mediator.sendMessage(uan, "legitimate"); // after the forged one on the wire: when it is in, the other was judged
    await waitUntil("the legitimate message", async () => (await receivedBy(lab, uan)).length >= 1);
    expect(await receivedBy(lab, uan)).toEqual(["legitimate"]);
    expect(lab.log("adm-a")).toContain('"reason":"\\"deliver\\" sent before the handshake"');
  });

  it("refuses a migrate-in sent without the handshake, and installs nothing", async () => {
    const uan = "uan://probe/adm-smuggled";
    const raw = await connectRaw(lab.mediator.theater("adm-a")!.address, [], lab.mediator.peerKey);
    // As JSON (a JSON frame cannot carry the batch, but the request is judged by its type alone).
    const reply = raw.requestJson({ type: "migrate-in", transfer: 1, last: true }, 10_000);
    await expect(reply).rejects.toThrow('peer refused: request "migrate-in" sent before the handshake');
    await raw.closed;
    // As a frame with a raw payload (the way migrations travel after the handshake) it is never decoded.
    const binary = await connectRaw(lab.mediator.theater("adm-a")!.address, [], lab.mediator.peerKey);
    const binaryReply = binary.request({ type: "migrate-in", transfer: 1, last: true }, 10_000, migrationBatch(uan));
    await expect(binaryReply).rejects.toThrow(/closed/);

    expect((await lab.mediator.profileActors("adm-a")).map((actor) => actor.uan)).not.toContain(uan);
    // Nothing of that name is held there, not even an uncommitted copy: the name is free to spawn.
    await lab.mediator.spawnActors("adm-a", [{ uan, behavior: RECORDER_BEHAVIOR, init: null }]);
    expect(await receivedBy(lab, uan)).toEqual([]);
  });

  it("cuts a peer off that announces a large frame before the handshake, before buffering it", async () => {
    const socket = await peerTlsSocket(lab.mediator.theater("adm-a")!.address, lab.mediator.peerKey);
    const closed = socketClosed(socket);
    socket.resume(); // read (and drop) the challenge, so the close is seen
    const header = Buffer.alloc(4);
    header.writeUInt32BE(1024 * 1024, 0); // a 1 MiB frame: far more than any handshake frame
    socket.write(header);
    socket.write(Buffer.alloc(64 * 1024));
    await closed;
    expect((await lab.mediator.profileActors("adm-a")).length).toBeGreaterThan(0); // the theater carries on
    await waitUntil("the cut-off to be logged", () => lab.log("adm-a").includes("exceeds the limit of 16384"));
    expect(lab.log("adm-a")).toMatch(/"msg":"peer link closed during the handshake".*frame payload of 1048576 bytes exceeds/);
  });

  it("caps the links waiting for their handshake from one address, and frees the slots when they go", async () => {
    const { host, port } = parseAddress(lab.mediator.theater("adm-b")!.address);
    const openOne = async () => {
      const socket = connect({ host, port });
      socket.on("error", () => {});
      await new Promise<void>((resolve) => socket.once("connect", resolve).once("close", resolve));
      return socket;
    };
    const waiting = [];
    for (let i = 0; i < 64; i++) waiting.push(await openOne());
    const extra = await openOne();
    await new Promise<void>((resolve) => (extra.destroyed ? resolve() : extra.once("close", () => resolve())));
    await waitUntil("the cap to be logged", () =>
      lab.log("adm-b").includes('"msg":"peer link refused: too many links waiting for the handshake"'),
    );
    for (const socket of waiting) socket.destroy();
    // Once they are gone, an admitted peer links as before.
    await waitUntil("a peer to link again", async () => {
      try {
        (await connectAsPeer(`${host}:${port}`, lab.mediator.peerKey)).destroy();
        return true;
      } catch {
        return false;
      }
    });
  });

  it("refuses a plain-TCP client and a wrong key at TLS, before any frame, and carries on", async () => {
    const address = lab.mediator.theater("adm-b")!.address;
    const { host, port } = parseAddress(address);
    // Plain TCP, with a well-formed frame: never read as one (it is not a TLS record).
    const plain = connect({ host, port });
    plain.on("error", () => {});
    await new Promise<void>((resolve) => plain.once("connect", resolve));
    const plainClosed = socketClosed(plain);
    plain.write(encodeJsonFrame({ t: "msg", body: { type: "peer-auth", vmId: "plain", address: "10.9.9.9:1" } }));
    await plainClosed;
    await waitUntil("the plain client's cut-off to be logged", () =>
      /"msg":"peer link closed during the handshake".*wrong version number/.test(lab.log("adm-b")),
    );
    // TLS on another key: the handshake fails on the key, and the dialer is told it was refused.
    const attempt = connectToPeer({
      address,
      key: randomBytes(32),
      self: { vmId: "intruder", address: "10.9.9.9:4000" },
      handlers: {},
    });
    await expect(attempt).rejects.toThrow(PeerRefusedError);
    await expect(attempt).rejects.toThrow(/refused the link: TLS on another cluster key/);
    await waitUntil("the wrong key's cut-off to be logged", () =>
      /"msg":"peer link closed during the handshake".*(bad record mac|cipher operation failed)/.test(lab.log("adm-b")),
    );
    // The theater carries on: an admitted peer links as before.
    (await connectAsPeer(address, lab.mediator.peerKey)).destroy();
  });

  it("refuses a handshake made with a wrong proof over TLS, and logs who tried", async () => {
    const told: unknown[] = [];
    const channel = await connectRaw(lab.mediator.theater("adm-b")!.address, told, lab.mediator.peerKey);
    await waitUntil("the challenge", () => told.some((body) => bodyType(body) === "peer-challenge"));
    channel.sendJson({
      type: "peer-auth",
      vmId: "intruder",
      address: "10.9.9.9:4000",
      nonce: randomBytes(PEER_NONCE_BYTES).toString("base64"),
      proof: randomBytes(32).toString("base64"),
    });
    await channel.closed;
    expect(told).toContainEqual({ type: "peer-refused", reason: "wrong proof of the cluster peer key" });
    expect(lab.log("adm-b")).toMatch(
      /"msg":"peer link refused".*"claimedVm":"intruder".*"reason":"wrong proof of the cluster peer key"/,
    );
  });

  it("a dialing theater refuses an acceptor that cannot prove the key (an impostor at a peer's address)", async () => {
    // Stands in for a listener that does not hold the key: TLS on another one, and it welcomes anyone.
    const impostorKey = randomBytes(32);
    const impostor = createServer((socket) => {
      const channel = new Channel(
        acceptTls(socket, () => peerLinkKey(impostorKey)),
        {
          onMessage: (body) => {
            if (bodyType(body) === "peer-auth")
              channel.sendJson({ type: "peer-welcome", proof: randomBytes(32).toString("base64") });
          },
        },
      );
      channel.socket.on("error", () => {});
      channel.sendJson({ type: "peer-challenge", nonce: randomBytes(PEER_NONCE_BYTES).toString("base64") });
    });
    await new Promise<void>((resolve) => impostor.listen(IMPOSTOR_PORT, "127.0.0.1", resolve));
    try {
      const told: unknown[] = [];
      const attempt = connectAsPeer(`127.0.0.1:${IMPOSTOR_PORT}`, lab.mediator.peerKey, told);
      await expect(attempt).rejects.toThrow(PeerRefusedError);
      await expect(attempt).rejects.toThrow(`peer 127.0.0.1:${IMPOSTOR_PORT} refused the link: TLS on another cluster key`);
      expect(told).toEqual([]); // nothing reached the link's handlers
    } finally {
      await new Promise((resolve) => impostor.close(resolve));
    }
  });

  it("a theater not yet admitted by a Mediator refuses every peer link", async () => {
    const logs: Record<string, unknown>[] = [];
    const unadmitted = new Theater({
      vmId: "adm-pending",
      mediator: `127.0.0.1:${NOBODY_PORT}`, // nobody there: it keeps trying to register
      secret: "s",
      behaviors: builtinBehaviors,
      log: (entry) => logs.push(entry),
    });
    const starting = unadmitted.start().catch(() => {});
    try {
      await waitUntil("the theater to listen", () => unadmitted.address !== "");
      const attempt = connectAsPeer(unadmitted.address, lab.mediator.peerKey);
      // Refused at TLS: it has no key for anyone yet.
      await expect(attempt).rejects.toThrow(/refused the link: TLS on another cluster key, or the peer is not admitted yet/);
      expect(logs).toContainEqual(
        expect.objectContaining({ msg: "peer link refused", reason: "this theater has not been admitted by a Mediator yet" }),
      );
    } finally {
      await unadmitted.stop();
      await starting;
    }
  });

  it("a stopping theater refuses a peer that finishes its handshake after the goodbyes (it would deliver too late)", async () => {
    await lab.boot(["adm-stopping"]);
    const address = lab.mediator.theater("adm-stopping")!.address;
    // A peer that never confirms the goodbye keeps the theater in its stop for a while.
    const goodbyes: unknown[] = [];
    const holder = await connectToPeer({
      address,
      key: lab.mediator.peerKey,
      self: { vmId: "slow-peer", address: "127.0.0.1:2" },
      handlers: { onMessage: (body) => goodbyes.push(body) },
    });
    // A second peer is mid-handshake when the stop begins.
    const told: unknown[] = [];
    const late = await connectRaw(address, told, lab.mediator.peerKey);
    await waitUntil("the challenge", () => told.some((body) => bodyType(body) === "peer-challenge"));
    const stopping = lab.mediator.stopTheater("adm-stopping");
    await waitUntil("the goodbye", () => goodbyes.some((body) => bodyType(body) === "goodbye"));
    const challenge = told.find((body) => bodyType(body) === "peer-challenge") as { nonce: string };
    const { auth } = answerPeerChallenge(
      lab.mediator.peerKey,
      { vmId: "late-peer", address: "127.0.0.1:3" },
      Buffer.from(challenge.nonce, "base64"),
    );
    late.sendJson(auth);
    await late.closed;
    expect(told).toContainEqual({ type: "peer-refused", reason: "theater is stopping" });
    expect(told.some((body) => bodyType(body) === "peer-welcome")).toBe(false);
    await stopping;
    holder.destroy();
    expect(lab.log("adm-stopping")).toMatch(/"msg":"peer link refused".*"claimedVm":"late-peer".*"reason":"theater is stopping"/);
  });

  it("after the handshake, closes only the link that announces a message frame above its cap", async () => {
    const address = lab.mediator.theater("adm-b")!.address;
    const peer = await connectAsPeer(address, lab.mediator.peerKey);
    const header = Buffer.alloc(4);
    header.writeUInt32BE(MAX_MESSAGE_FRAME_BYTES + 1, 0); // no deliver is that large; a migration batch has a raw payload
    peer.socket.write(header);
    await peer.closed;
    const other = await connectAsPeer(address, lab.mediator.peerKey); // the theater carries on
    other.destroy();
    expect(lab.mediator.theater("adm-b")).toBeDefined();
    expect(await lab.mediator.profileActors("adm-b")).toBeInstanceOf(Array);
  });

  it("admitted theaters still exchange messages and migrate actors over authenticated links", async () => {
    const uan = "uan://probe/adm-mover";
    await lab.mediator.spawnActors("adm-a", [{ uan, behavior: RECORDER_BEHAVIOR, init: null }]);
    lab.mediator.sendMessage(uan, "on a");
    await waitUntil("the first message", async () => (await receivedBy(lab, uan)).length === 1);
    await lab.mediator.awaitReady("adm-a", [uan], 5_000);
    await lab.mediator.migrate([uan], "adm-a", "adm-b");
    await lab.mediator.resume("adm-b", [uan]);
    // A peer that proved the key delivers straight to the new theater.
    const peer = await connectAsPeer(lab.mediator.theater("adm-b")!.address, lab.mediator.peerKey);
    peer.send({ type: "deliver", to: uan, from: null, body: "from an admitted peer", hops: 0 });
    await waitUntil("the peer's message", async () => (await receivedBy(lab, uan)).length === 2);
    expect(await receivedBy(lab, uan)).toEqual(["on a", "from an admitted peer"]);
    expect(lab.mediator.listActors("adm-b").map((actor) => actor.uan)).toContain(uan);
    peer.destroy();
  });
});
