import { createServer, connect, type Server } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { Channel } from "./channel";

// A pair of Channels over loopback.
async function pair(): Promise<{ server: Server; left: Channel; right: Channel }> {
  let accepted: (channel: Channel) => void = () => {};
  const right = new Promise<Channel>((resolve) => (accepted = resolve));
  const server = createServer((socket) => accepted(new Channel(socket)));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const socket = connect({ host: "127.0.0.1", port: (server.address() as { port: number }).port });
  await new Promise<void>((resolve) => socket.once("connect", resolve));
  return { server, left: new Channel(socket), right: await right };
}

describe("channel before and after trust", () => {
  let server: Server | undefined;
  let open: Channel[] = [];
  afterEach(async () => {
    for (const channel of open) channel.destroy();
    open = [];
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  });

  it("takes only JSON frames until trusted, then structured clones", async () => {
    const link = await pair();
    server = link.server;
    open = [link.left, link.right];
    const got: unknown[] = [];
    link.right.requireJsonUntilTrusted();
    link.right.setHandlers({
      onMessage: (body, self) => {
        got.push(body);
        if (body === "trust me") self.trust(); // applies to the very next frame, even in the same chunk
      },
    });
    link.left.sendJson("trust me");
    link.left.send(new Float64Array([1, 2]));
    link.left.send("done");
    await new Promise<void>((resolve) => {
      const check = () => (got.length === 3 ? resolve() : setImmediate(check));
      check();
    });
    expect(got).toEqual(["trust me", new Float64Array([1, 2]), "done"]);
  });

  it("closes on a structured-clone frame before trust, without decoding it", async () => {
    const link = await pair();
    server = link.server;
    open = [link.left, link.right];
    const got: unknown[] = [];
    link.right.requireJsonUntilTrusted();
    link.right.setHandlers({ onMessage: (body) => got.push(body) });
    link.left.send({ type: "register" });
    expect(await link.right.closed).toMatch(/structured-clone frame before the peer was authenticated/);
    expect(got).toEqual([]);
  });

  it("closes on a frame with a raw payload before trust, without decoding it", async () => {
    const link = await pair();
    server = link.server;
    open = [link.left, link.right];
    const got: unknown[] = [];
    link.right.requireJsonUntilTrusted();
    link.right.setHandlers({ onMessage: (body) => got.push(body) });
    link.left.send({ type: "migrate-in" }, [Buffer.alloc(32, 1)]);
    expect(await link.right.closed).toMatch(/structured-clone frame before the peer was authenticated/);
    expect(got).toEqual([]);
  });

  it("delivers a raw payload once trusted, beside JSON and structured-clone frames", async () => {
    const link = await pair();
    server = link.server;
    open = [link.left, link.right];
    const got: unknown[] = [];
    link.right.requireJsonUntilTrusted();
    link.right.setHandlers({
      onMessage: (body, self, payload) => {
        got.push(payload ? [body, [...payload.toBuffer()]] : body);
        if (body === "trust me") self.trust();
      },
    });
    link.left.sendJson("trust me");
    link.left.send({ type: "batch" }, [Buffer.from([1, 2]), Buffer.from([3])]);
    link.left.send("plain");
    link.left.sendJson("json");
    await new Promise<void>((resolve) => {
      const check = () => (got.length === 4 ? resolve() : setImmediate(check));
      check();
    });
    expect(got).toEqual(["trust me", [{ type: "batch" }, [1, 2, 3]], "plain", "json"]);
  });

  it("a handler that throws closes that channel, not the process", async () => {
    const link = await pair();
    server = link.server;
    open = [link.left, link.right];
    link.right.setHandlers({
      onMessage: () => {
        throw new TypeError("boom");
      },
    });
    link.left.send("anything");
    expect(await link.right.closed).toBe("handler failed: boom");
  });

  it("answers a JSON request in JSON, so an untrusted peer can read the answer", async () => {
    const link = await pair();
    server = link.server;
    open = [link.left, link.right];
    link.left.requireJsonUntilTrusted();
    link.right.setHandlers({ onRequest: (body) => ({ echo: body }) });
    await expect(link.left.requestJson({ hello: 1 }, 5_000)).resolves.toEqual({ echo: { hello: 1 } });
    link.left.destroy();
  });
});
