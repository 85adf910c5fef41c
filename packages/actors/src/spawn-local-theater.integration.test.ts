import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath, pathToFileURL } from "node:url";
import { createRequire } from "node:module";
import { afterAll, describe, expect, it } from "vitest";
import { waitUntil } from "@malleo/testing";
import { THEATER_BUILD_ENV, spawnLocalTheater } from "./spawn-local-theater";

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

  it("starts the build named by MALLEO_THEATER_BUILD only while no source it was built from changed", async () => {
    // A stand-in build that says it ran, and the manifest buildEntry writes beside a build.
    const build = path.join(logDir, "theater.mjs");
    const source = path.join(logDir, "source.ts");
    writeFileSync(build, 'console.log("the build ran");\n');
    writeFileSync(source, "// a source of the build\n");
    const builtAt = Date.now() + 60_000; // after the source was last saved
    writeFileSync(`${build}.inputs.json`, JSON.stringify({ builtAt, inputs: [source] }));
    const previous = process.env[THEATER_BUILD_ENV];
    process.env[THEATER_BUILD_ENV] = build;
    try {
      const mediator = await unusedAddress();
      const run = async (name: string) => {
        const logFile = path.join(logDir, `${name}.log`);
        const theater = spawnLocalTheater({ vmId: name, mediator, secret: "unused", logFile });
        started.push(theater.pid);
        await waitUntil(`the ${name} theater to say what it runs`, () => {
          const log = readFileSync(logFile, "utf8");
          return log.includes("the build ran") || log.includes("mediator not reachable yet");
        });
        theater.kill();
        await theater.exited;
        return readFileSync(logFile, "utf8");
      };
      expect(await run("current")).toContain("the build ran");

      // The source saved after the build: the build is stale, the source runs under tsx.
      utimesSync(source, new Date(builtAt + 1000), new Date(builtAt + 1000));
      const stale = await run("stale");
      expect(stale).not.toContain("the build ran");
      expect(stale).toContain("mediator not reachable yet");

      // No manifest: not known to be current, so not started either.
      rmSync(`${build}.inputs.json`);
      expect(await run("unlisted")).not.toContain("the build ran");
    } finally {
      if (previous === undefined) delete process.env[THEATER_BUILD_ENV];
      else process.env[THEATER_BUILD_ENV] = previous;
    }
  });
});
