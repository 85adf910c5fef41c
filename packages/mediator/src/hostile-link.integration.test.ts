import { connect, type Socket } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  Channel,
  JSON_FRAME_FLAG,
  RECORDER_BEHAVIOR,
  REGISTRATION_REFUSED_PREFIX,
  encodeFrameHead,
  parseAddress,
} from "@malleo/actors";
import { waitUntil } from "@malleo/testing";
import { TheaterLab } from "./testing";

// What a client of the Mediator port may do before and after admission, and what it costs us.

async function rawSocket(address: string): Promise<Socket> {
  const { host, port } = parseAddress(address);
  const socket = connect({ host, port });
  socket.on("error", () => {}); // a reset is one way of being cut off
  await new Promise<void>((resolve, reject) => socket.once("connect", resolve).once("error", reject));
  return socket;
}

function closedPromise(socket: Socket): Promise<void> {
  return new Promise((resolve) => (socket.destroyed ? resolve() : socket.once("close", () => resolve())));
}

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

  it("never decodes a structured-clone frame before admission: the link is closed and logged", async () => {
    const socket = await rawSocket(lab.address);
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
    const socket = await rawSocket(lab.address);
    const closed = closedPromise(socket);
    const payload = Buffer.alloc(64, 7);
    const body = { t: "req", id: 1, body: { type: "migrate-in", transfer: 1, last: true } };
    socket.write(Buffer.concat([encodeFrameHead(body, payload.length), payload]));
    await closed;
    await waitUntil("the refusal to be logged", () => refusals() > before);
  });

  it("cuts off a frame header above 64 KiB before admission, before buffering it", async () => {
    const socket = await rawSocket(lab.address);
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
    const channel = new Channel(await rawSocket(lab.address));
    await expect(channel.requestJson({ type: "resolve", uan: "uan://hl/resident" }, 5_000)).rejects.toThrow(
      `${REGISTRATION_REFUSED_PREFIX}"resolve" before admission`,
    );
    await channel.closed;
    const garbage = new Channel(await rawSocket(lab.address));
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
    const channel = new Channel(await rawSocket(lab.address));
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
});
