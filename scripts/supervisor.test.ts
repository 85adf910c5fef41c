import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { Supervisor } from "./supervisor";

const IDLE = ["-e", "setInterval(() => {}, 1000)"];
const dirs: string[] = [];
let supervisor: Supervisor | undefined;

afterEach(async () => {
  await supervisor?.stopAll(2_000);
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

async function until<T>(what: string, check: () => T | undefined, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = check();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

function start(): { said: string[]; fatal: string[] } {
  const logDir = mkdtempSync(path.join(tmpdir(), "malleo-supervisor-"));
  dirs.push(logDir);
  const said: string[] = [];
  const fatal: string[] = [];
  supervisor = new Supervisor({ logDir, say: (m) => said.push(m), onFatal: (n) => fatal.push(n) });
  for (const name of ["worker", "web"]) supervisor.launch({ name, args: IDLE, env: process.env, cwd: logDir });
  return { said, fatal };
}

describe("npm start's supervisor", () => {
  it("restarts the web process when it is killed, and leaves the worker alone", async () => {
    const { said, fatal } = start();
    const worker = supervisor!.child("worker")!;
    const web = supervisor!.child("web")!;
    await until("both children to run", () => (worker.pid && web.pid ? true : undefined));
    web.kill("SIGKILL");
    const again = await until("the web process to come back", () => {
      const c = supervisor!.child("web");
      return c && c !== web && c.pid ? c : undefined;
    });
    expect(again.pid).not.toBe(web.pid);
    expect(again.exitCode).toBeNull();
    expect(supervisor!.child("worker")).toBe(worker);
    expect(worker.exitCode).toBeNull();
    expect(worker.signalCode).toBeNull();
    expect(fatal).toEqual([]);
    expect(said).toEqual([expect.stringContaining("web exited unexpectedly (SIGKILL); restarting it")]);
  });

  it("restarts the worker the same way", async () => {
    const { fatal } = start();
    const worker = supervisor!.child("worker")!;
    const web = supervisor!.child("web")!;
    await until("both children to run", () => (worker.pid && web.pid ? true : undefined));
    worker.kill("SIGKILL");
    await until("the worker to come back", () => (supervisor!.child("worker") !== worker ? true : undefined));
    expect(supervisor!.child("web")).toBe(web);
    expect(web.exitCode).toBeNull();
    expect(fatal).toEqual([]);
  });

  it("gives up on a child that keeps crashing: everything stops", async () => {
    const logDir = mkdtempSync(path.join(tmpdir(), "malleo-supervisor-"));
    dirs.push(logDir);
    const fatal: string[] = [];
    supervisor = new Supervisor({ logDir, say: () => {}, onFatal: (n) => fatal.push(n), maxRestarts: 2 });
    supervisor.launch({ name: "web", args: ["-e", "process.exit(1)"], env: process.env, cwd: logDir });
    await until("the supervisor to give up", () => (fatal.length > 0 ? true : undefined));
    expect(fatal).toEqual(["web"]);
  });

  it("asks a child's args function again at each restart (npm start: the worker's build while it is current)", async () => {
    const logDir = mkdtempSync(path.join(tmpdir(), "malleo-supervisor-"));
    dirs.push(logDir);
    supervisor = new Supervisor({ logDir, say: () => {}, onFatal: () => {} });
    const asked: string[][] = [];
    const variants = [
      ["-e", "setInterval(() => {}, 1000); // first"],
      ["-e", "setInterval(() => {}, 1000); // second"],
    ];
    const args = () => {
      const next = variants[Math.min(asked.length, 1)]!;
      asked.push(next);
      return next;
    };
    const first = supervisor.launch({ name: "worker", args, env: process.env, cwd: logDir });
    await until("the first worker to run", () => (first.pid ? true : undefined));
    first.kill("SIGKILL");
    const again = await until("the worker to come back", () => {
      const c = supervisor!.child("worker");
      return c && c !== first && c.pid ? c : undefined;
    });
    expect(asked).toEqual(variants);
    expect(again.spawnargs.at(-1)).toBe(variants[1]![1]);
  });
});
