// migration: 1,000 actors of 32 KiB state moved between two theater processes on loopback,
// against raw loopback TCP throughput between two processes measured by this same program; the
// amortised cost per actor; and message round trips between the two theaters (p50, p99)
// against raw TCP round trips of a few bytes.
//
// The machine is shared, so the raw measurement and the moves are interleaved (raw, move, raw,
// move, …) and both are reported as the best of the same number of tries: a burst of load
// elsewhere then hits both alike, and neither side gets more tries than the other.
import { spawn } from "node:child_process";
import { connect, type Socket } from "node:net";
import { loadavg } from "node:os";
import { BALLAST_BEHAVIOR, ECHO_BEHAVIOR, PINGER_BEHAVIOR, formatUan, type PingerState } from "@malleo/actors";
import { BenchLab, percentile, waitUntil } from "./lib/local-theaters";
import type { BenchResult } from "./run";

const ACTORS = Number(process.env.MIGRATION_BENCH_ACTORS ?? 1000);
const MOVES = Number(process.env.MIGRATION_BENCH_MOVES ?? 5);
const STATE_BYTES = 32 * 1024;
const RAW_BYTES = 128 * 1024 * 1024;
const ROUND_TRIPS = 2000;

// A peer process: "sink" counts bytes and answers one byte when it has them all; "echo" echoes.
const PEER_SCRIPT = `
const net = require("node:net");
const [mode, expected] = process.argv.slice(1);
const server = net.createServer((socket) => {
  socket.setNoDelay(true);
  let received = 0;
  socket.on("data", (chunk) => {
    if (mode === "echo") return void socket.write(chunk);
    received += chunk.length;
    if (received >= Number(expected)) socket.write("k");
  });
});
server.listen(0, "127.0.0.1", () => console.log(server.address().port));
process.stdin.on("end", () => process.exit(0));
process.stdin.resume();
`;

async function withPeer<T>(mode: "sink" | "echo", use: (socket: Socket) => Promise<T>): Promise<T> {
  const child = spawn(process.execPath, ["-e", PEER_SCRIPT, mode, String(RAW_BYTES)], { stdio: ["pipe", "pipe", "inherit"] });
  try {
    const port = await new Promise<number>((resolve) =>
      child.stdout.once("data", (data: Buffer) => resolve(Number(data.toString().trim()))),
    );
    const socket = connect({ host: "127.0.0.1", port });
    socket.setNoDelay(true);
    await new Promise<void>((resolve) => socket.once("connect", () => resolve()));
    try {
      return await use(socket);
    } finally {
      socket.destroy();
    }
  } finally {
    child.stdin.end();
    child.kill();
  }
}

async function rawThroughput(): Promise<number> {
  return withPeer("sink", async (socket) => {
    const chunk = Buffer.alloc(1024 * 1024, 7);
    const done = new Promise<void>((resolve) => socket.once("data", () => resolve()));
    const t0 = performance.now();
    for (let sent = 0; sent < RAW_BYTES; sent += chunk.length) {
      if (!socket.write(chunk)) await new Promise((resolve) => socket.once("drain", resolve));
    }
    await done;
    return RAW_BYTES / ((performance.now() - t0) / 1000);
  });
}

async function rawRoundTrips(): Promise<number[]> {
  return withPeer("echo", async (socket) => {
    const times: number[] = [];
    for (let index = 0; index < ROUND_TRIPS; index++) {
      const t0 = performance.now();
      const back = new Promise<void>((resolve) => socket.once("data", () => resolve()));
      socket.write("ping");
      await back;
      times.push(performance.now() - t0);
    }
    return times.sort((a, b) => a - b);
  });
}

export async function run(): Promise<BenchResult> {
  const loadBefore = loadavg()[0]!;
  const rawRtts = await rawRoundTrips();

  const lab = new BenchLab();
  await lab.start(["mig-a", "mig-b"]);
  try {
    const uans = Array.from({ length: ACTORS }, (_, index) => formatUan("ballast", `actor-${index}`));
    for (let start = 0; start < uans.length; start += 200) {
      await lab.mediator.spawnActors(
        "mig-a",
        uans.slice(start, start + 200).map((uan) => ({ uan, behavior: BALLAST_BEHAVIOR, init: { bytes: STATE_BYTES } })),
      );
    }
    const raws: number[] = [];
    const moves: Array<{ seconds: number; bytes: number }> = [];
    for (let index = 0; index < MOVES; index++) {
      raws.push(await rawThroughput());
      const [from, to] = index % 2 === 0 ? ["mig-a", "mig-b"] : ["mig-b", "mig-a"];
      const t0 = performance.now();
      const { moved, bytes } = await lab.mediator.migrate(uans, from, to);
      if (moved !== ACTORS) throw new Error(`moved ${moved} of ${ACTORS}`);
      moves.push({ seconds: (performance.now() - t0) / 1000, bytes });
    }
    const raw = Math.max(...raws);
    const best = moves.reduce((a, b) => (a.seconds <= b.seconds ? a : b));
    const throughput = best.bytes / best.seconds;
    // Each move beside the raw measurement just before it: how steady the ratio is.
    const pairRatios = moves.map((move, index) => move.bytes / move.seconds / raws[index]!).sort((a, b) => a - b);

    const pinger = formatUan("latency", "pinger");
    const echo = formatUan("latency", "echo");
    await lab.mediator.spawnActors("mig-a", [{ uan: pinger, behavior: PINGER_BEHAVIOR, init: { echo, count: ROUND_TRIPS } }]);
    await lab.mediator.spawnActors("mig-b", [{ uan: echo, behavior: ECHO_BEHAVIOR, init: null }]);
    lab.mediator.sendMessage(pinger, { kind: "go" });
    let rtts: number[] = [];
    await waitUntil(
      "the round trips",
      async () => {
        rtts = ((await lab.mediator.collectStates([pinger])).get(pinger) as PingerState).roundTripsMs;
        return rtts.length >= ROUND_TRIPS;
      },
      120_000,
      100,
    );
    rtts = [...rtts].sort((a, b) => a - b);
    return {
      figures: {
        "machine load average (1 min) at start, 2 cores": loadBefore,
        "machine load average (1 min) at end": loadavg()[0]!,
        [`raw loopback TCP MB/s, process to process (baseline, best of ${raws.length})`]: raw / 1e6,
        "raw loopback TCP MB/s per try": raws.map((value) => (value / 1e6).toFixed(0)).join(", "),
        [`migration MB/s, ${ACTORS} actors × 32 KiB (best of ${moves.length})`]: throughput / 1e6,
        "migration seconds per move": moves.map((move) => move.seconds.toFixed(3)).join(", "),
        "migration / raw (best / best)": throughput / raw,
        "migration / raw, each move beside the raw try before it (median)": pairRatios[Math.floor(pairRatios.length / 2)]!,
        "amortised ms per actor (SALSA: 150 ms on a LAN)": (best.seconds * 1000) / ACTORS,
        "message round trip between theaters p50 ms": percentile(rtts, 50),
        "message round trip between theaters p99 ms": percentile(rtts, 99),
        "raw TCP round trip p50 ms (baseline)": percentile(rawRtts, 50),
        "raw TCP round trip p99 ms (baseline)": percentile(rawRtts, 99),
      },
      checks: [
        { what: "migration throughput / raw loopback TCP", value: throughput / raw, goal: 0.5, better: "higher" },
        { what: "amortised ms per actor", value: (best.seconds * 1000) / ACTORS, goal: 150, better: "lower" },
      ],
    };
  } finally {
    await lab.stop();
  }
}
