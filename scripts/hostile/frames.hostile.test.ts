// The hostile phase, part (a): a seeded fuzzer sends malformed and oversized frames to the
// Mediator port (unauthenticated, and as an admitted theater) and random bytes to a theater's
// peer port, while a split and a merge of a running heat application go on. The Mediator (in
// this process) and the theater processes must stay up, and the grid must come out
// bit-identical with every actor exactly once.
import { writeFileSync } from "node:fs";
import { Socket, connect } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  Channel,
  JSON_FRAME_FLAG,
  RAW_PAYLOAD_FLAG,
  encodeFrame,
  encodeFrameHead,
  encodeJsonFrame,
  parseAddress,
} from "@malleo/actors";
import { heatActorSpecs, heatAssemble, heatSequential, type HeatConfig } from "@malleo/examples";
import { waitUntil } from "@malleo/testing";
import { TheaterLab, mediatorTlsSocket, peerTlsSocket } from "../../packages/mediator/src/testing";
import { hostileReportPath } from "./report";

const SEED = Number(process.env.MALLEO_HOSTILE_SEED ?? 20261201);
const FRAMES = Number(process.env.MALLEO_HOSTILE_FRAMES ?? 12_000);
// Throttled so that the split and the merge land while the fuzz is still going.
const HEAT: HeatConfig = { width: 48, height: 32, actors: 8, maxIterations: 300, iterationDelayMs: 6 };

/** mulberry32: a small seeded PRNG, so a failing run can be replayed with its seed. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const random = prng(SEED);
const int = (n: number) => Math.floor(random() * n);
const pick = <T>(items: readonly T[]): T => items[int(items.length)]!;
const bytes = (n: number) => Buffer.from(Array.from({ length: n }, () => int(256)));

function header(length: number, json: boolean): Buffer {
  const h = Buffer.alloc(4);
  h.writeUInt32BE(((json ? JSON_FRAME_FLAG : 0) | (length & ~(JSON_FRAME_FLAG | RAW_PAYLOAD_FLAG))) >>> 0, 0);
  return h;
}

/** A frame with a raw payload (the way migration batches travel), possibly with a lying envelope length. */
function rawPayloadFrame(body: unknown): Buffer {
  const payload = bytes(int(256));
  const frame = Buffer.concat([encodeFrameHead(body, payload.length), payload]);
  if (random() < 0.3) frame.writeUInt32BE(int(1 << 20), 4);
  return frame;
}

function jsonText(text: string): Buffer {
  const payload = Buffer.from(text, "utf8");
  return Buffer.concat([header(payload.length, true), payload]);
}

const WEIRD_VALUES: unknown[] = [
  null,
  -1,
  1e308,
  "",
  "x".repeat(5_000),
  "\u202e\u0000",
  [],
  {},
  { __proto__: { polluted: true } },
  [1, [2, [3]]],
  true,
  "uan://",
];

/** One malformed or hostile frame, of a kind chosen at random. */
function hostileFrame(context: "mediator" | "admitted" | "peer"): Buffer {
  const kind = int(context === "admitted" ? 14 : 10);
  switch (kind) {
    case 0:
      return bytes(int(64));
    case 1:
      return header(64 * 1024 + 1 + int(1 << 27), random() < 0.5); // oversized before trust
    case 2:
      return encodeFrame({ t: "req", id: 1, body: { type: pick(["register", "admit", "deliver", "migrate-in"]) } });
    case 3:
      return jsonText(pick(["{", "[1,", '{"t":', "\u0000", "nul", '{"t":"req","id":"x"}', '"just a string"']));
    case 4:
      return encodeJsonFrame({
        t: "req",
        id: int(1e6),
        body: { type: "admit", vmId: pick(WEIRD_VALUES), secret: pick(WEIRD_VALUES) },
      });
    case 5:
      return jsonText(
        `{"t":"req","id":1,"body":{"__proto__":{"polluted":1},"constructor":{"prototype":{"x":1}},"type":"admit"}}`,
      );
    case 6:
      return encodeJsonFrame({ t: pick(["res", "zzz", 7, null]), id: pick(WEIRD_VALUES), ok: pick(WEIRD_VALUES) });
    case 7:
      return jsonText(`${"[".repeat(20_000)}${"]".repeat(20_000)}`); // deep nesting, under 64 KiB
    case 8:
      return encodeJsonFrame({ t: "msg", body: { type: pick(["peer-auth", "progress", "held"]), nonce: "!!", proof: 1 } });
    case 9: // refused unread before trust; after it, a migration-shaped request with a bogus batch
      return rawPayloadFrame({ t: "req", id: int(100), body: { type: pick(["migrate-in", "admit", "register"]), transfer: 1 } });
    // After admission (structured clones are read): malformed theater messages and requests.
    case 10:
      return rawPayloadFrame({ t: pick(["msg", "req", "res"]), id: pick(WEIRD_VALUES), body: pick(WEIRD_VALUES) });
    case 11:
      return encodeFrame({
        t: "msg",
        body: { type: "progress", items: pick([[{ uan: 42, iteration: "x" }], "no", [null], [{}]]) },
      });
    case 12:
      return encodeFrame({ t: "msg", body: { type: pick(["held", "bogus", "deliver"]), uans: pick(WEIRD_VALUES) } });
    default:
      return encodeFrame({
        t: "req",
        id: int(100),
        body: { type: pick(["resolve", "register", "spawn"]), uan: pick(WEIRD_VALUES) },
      });
  }
}

async function open(address: string): Promise<Socket> {
  const { host, port } = parseAddress(address);
  const socket = connect({ host, port });
  socket.on("error", () => {}); // being cut off (reset) is expected
  await new Promise<void>((resolve) => {
    socket.once("connect", resolve);
    socket.once("close", resolve);
  });
  return socket;
}

/**
 * Links are TLS (link-tls.ts): a plain-TCP client is refused before any frame is read. To reach
 * admission and the peer handshake, the fuzzer also gets past TLS on a key it was given, as
 * someone who read a VM's secret, or an admitted theater, could.
 */
type Opener = (address: string) => Promise<Socket>;

async function openTls(connectTls: () => Promise<Socket>): Promise<Socket> {
  try {
    return await connectTls();
  } catch {
    const dead = new Socket();
    dead.destroy();
    return dead;
  }
}

/** Sends the frames on a fresh connection, ends our side and waits until it is closed. */
async function blast(address: string, frames: Buffer[], opener: Opener = open): Promise<void> {
  const socket = await opener(address);
  const closed = new Promise<void>((resolve) => (socket.destroyed ? resolve() : socket.once("close", () => resolve())));
  socket.resume(); // read (and drop) whatever comes back, so the close is seen
  if (!socket.destroyed) socket.end(Buffer.concat(frames));
  await closed;
}

describe("hostile frames", () => {
  const lab = new TheaterLab();
  const sent = { mediatorUnauthenticated: 0, mediatorAdmitted: 0, peerPort: 0 };
  beforeAll(async () => {
    await lab.start();
    await lab.boot(["fz-a", "fz-b", "fz-c"]);
  });
  afterAll(() => lab.cleanup());

  it(`${FRAMES} hostile frames while a split and a merge go on: nothing goes down, nothing is lost`, async () => {
    const started = Date.now();
    const specs = heatActorSpecs("hostile-heat", HEAT);
    const uans = specs.map((spec) => spec.uan);
    await lab.mediator.spawnActors("fz-a", specs);
    const evilSecret = "evil-but-admitted";
    lab.mediator.expectTheater("fz-evil", evilSecret, { actors: [] });
    const peerAddress = lab.mediator.theater("fz-b")!.address;
    // Each sender goes on until its share is sent and the split and merge are over, so the
    // whole of both runs under fire whatever the machine's speed.
    let migrationsDone = false;
    const quota = { mediator: Math.ceil(FRAMES * 0.4), admitted: Math.ceil(FRAMES * 0.3), peer: Math.ceil(FRAMES * 0.3) };

    const unauthenticated = async () => {
      while (sent.mediatorUnauthenticated < quota.mediator || !migrationsDone) {
        // A few connections at a time, each with a burst of frames.
        await Promise.all(
          [0, 1, 2, 3].map(() => {
            const frames = Array.from({ length: 1 + int(30) }, () => hostileFrame("mediator"));
            sent.mediatorUnauthenticated += frames.length;
            // Half in plain TCP (refused by TLS), half past TLS on a VM's key (then judged by admission).
            const opener: Opener =
              random() < 0.5 ? open : (address) => openTls(() => mediatorTlsSocket(address, "fz-evil", evilSecret));
            return blast(lab.address, frames, opener);
          }),
        );
      }
    };
    const admitted = async () => {
      while (sent.mediatorAdmitted < quota.admitted || !migrationsDone) {
        const channel = new Channel(await mediatorTlsSocket(lab.address, "fz-evil", evilSecret));
        await channel.requestJson({ type: "admit", vmId: "fz-evil", secret: evilSecret, address: "127.0.0.1:9", pid: 9 }, 10_000);
        await channel.request(
          { type: "register", vmId: "fz-evil", secret: evilSecret, address: "127.0.0.1:9", pid: 9, actors: [] },
          10_000,
        );
        const frames = Array.from({ length: 1 + int(40) }, () => hostileFrame("admitted"));
        // Whatever came before, this one is malformed: the link must close.
        frames.push(encodeFrame({ t: "msg", body: { type: "progress", items: "not a list" } }));
        sent.mediatorAdmitted += frames.length;
        // The first bad one closes the link; ending our side covers an announced large frame
        // (an admitted theater may send up to 256 MiB, and the Mediator would wait for it).
        channel.socket.end(Buffer.concat(frames));
        await channel.closed;
      }
    };
    const peer = async () => {
      while (sent.peerPort < quota.peer || !migrationsDone) {
        await Promise.all(
          [0, 1].map(() => {
            const frames = Array.from({ length: 1 + int(30) }, () =>
              random() < 0.3 ? bytes(1 + int(200)) : hostileFrame("peer"),
            );
            sent.peerPort += frames.length;
            const opener: Opener =
              random() < 0.5 ? open : (address) => openTls(() => peerTlsSocket(address, lab.mediator.peerKey));
            return blast(peerAddress, frames, opener);
          }),
        );
      }
    };

    // The application's split and merge, with the fuzz going on around them.
    const splitAndMerge = async () => {
      await waitUntil("the heat actors past iteration 60", () => lab.minIteration(uans) >= 60);
      const ready = await lab.mediator.awaitReady("fz-a", "all", 20_000);
      expect(ready.notReady).toEqual([]);
      await Promise.all([
        lab.mediator.migrate(uans.slice(0, 4), "fz-a", "fz-b"),
        lab.mediator.migrate(uans.slice(4), "fz-a", "fz-c"),
      ]);
      await Promise.all([lab.mediator.resume("fz-b"), lab.mediator.resume("fz-c")]);
      await waitUntil("the heat actors past iteration 160", () => lab.minIteration(uans) >= 160);
      await Promise.all([lab.mediator.awaitReady("fz-b", "all", 20_000), lab.mediator.awaitReady("fz-c", "all", 20_000)]);
      await Promise.all([
        lab.mediator.migrate(uans.slice(0, 4), "fz-b", "fz-a"),
        lab.mediator.migrate(uans.slice(4), "fz-c", "fz-a"),
      ]);
      await lab.mediator.resume("fz-a");
      migrationsDone = true;
    };

    const step = (name: string, run: () => Promise<void>) =>
      run().then(() => console.log(`hostile frames: ${name} done after ${Date.now() - started} ms`));
    await Promise.all([
      step("unauthenticated", unauthenticated),
      step("admitted", admitted),
      step("peer port", peer),
      step("split and merge", splitAndMerge),
    ]);

    await waitUntil("every heat actor at its last iteration on fz-a", () =>
      uans.every((uan) => lab.progress.get(uan)?.iteration === HEAT.maxIterations && lab.progress.get(uan)?.vmId === "fz-a"),
    );
    // Every actor exactly once, where the directory says, and the grid bit-identical.
    expect(lab.mediator.listActors("fz-a").map((actor) => actor.uan)).toEqual([...uans].sort());
    expect(lab.mediator.listActors("fz-b")).toEqual([]);
    expect(lab.mediator.listActors("fz-c")).toEqual([]);
    expect(lab.mediator.listActors("fz-evil")).toEqual([]);
    const grid = heatAssemble(HEAT, await lab.mediator.collectStates(uans));
    const expected = heatSequential(HEAT.width, HEAT.height, HEAT.maxIterations!);
    expect(Buffer.from(grid.buffer).equals(Buffer.from(expected.buffer))).toBe(true);

    // No theater of the application was lost, and each is still the process that registered.
    expect(lab.lost.filter((vmId) => vmId !== "fz-evil")).toEqual([]);
    for (const vmId of ["fz-a", "fz-b", "fz-c"]) expect(lab.mediator.theater(vmId)).toBeDefined();
    const total = sent.mediatorUnauthenticated + sent.mediatorAdmitted + sent.peerPort;
    expect(total).toBeGreaterThanOrEqual(FRAMES);
    const stats = lab.mediator.admissionStats();
    writeFileSync(
      hostileReportPath("frames"),
      JSON.stringify({
        seed: SEED,
        frames: total,
        ...sent,
        mediatorStats: stats,
        // The Mediator runs in this process: had it crashed, this line would not be written.
        workerRestarts: 0,
        theatersLost: lab.lost.filter((vmId) => vmId !== "fz-evil").length,
        ms: Date.now() - started,
      }),
    );
    // Something to show the links were really judged, not just dropped by the kernel.
    expect(stats.closedBeforeAdmission).toBeGreaterThan(0);
  });
});
