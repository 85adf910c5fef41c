import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath, pathToFileURL } from "node:url";
import { createRequire } from "node:module";
import { afterAll, describe, expect, it } from "vitest";
import { waitUntil } from "@malleo/testing";

const fixture = fileURLToPath(new URL("./test-fixtures/theater-parent.ts", import.meta.url));
const tsxLoader = pathToFileURL(createRequire(import.meta.url).resolve("tsx")).href;
const logDir = mkdtempSync(path.join(tmpdir(), "malleo-orphans-"));
const started: number[] = [];

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** A port nobody listens on: the theater will keep trying to register there. */
async function unusedAddress(): Promise<string> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return `127.0.0.1:${port}`;
}

afterAll(() => {
  for (const pid of started) if (isAlive(pid)) process.kill(pid, "SIGKILL");
  rmSync(logDir, { recursive: true, force: true });
});

describe("spawnLocalTheater", () => {
  it("leaves no orphan: the theater exits when its parent dies", async () => {
    const logFile = path.join(logDir, "orphan-check.log");
    const parent = spawn(process.execPath, ["--import", tsxLoader, fixture, await unusedAddress(), logFile], {
      stdio: ["ignore", "pipe", "inherit"],
    });
    started.push(parent.pid!);
    const firstLine = await new Promise<string>((resolve) => createInterface({ input: parent.stdout! }).once("line", resolve));
    const { theaterPid } = JSON.parse(firstLine) as { theaterPid: number };
    started.push(theaterPid);
    await waitUntil("the theater to be up and retrying", () =>
      readFileSync(logFile, "utf8").includes("mediator not reachable yet"),
    );
    expect(isAlive(theaterPid)).toBe(true);

    parent.kill("SIGKILL"); // no chance to clean up: only the IPC channel's end tells the child
    await waitUntil("the theater to exit after its parent", () => !isAlive(theaterPid));
    expect(readFileSync(logFile, "utf8")).toContain("parent process went away");
  });
});
