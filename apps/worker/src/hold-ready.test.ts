import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import type { OperationEffects } from "@malleo/workflows/worker";
import { afterEach, describe, expect, it } from "vitest";
import { holdReadyWhileFileExists } from "./hold-ready";

const dirs: string[] = [];
afterEach(() => dirs.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true })));

function setup() {
  const dir = mkdtempSync(path.join(os.tmpdir(), "malleo-hold-ready-"));
  dirs.push(dir);
  const file = path.join(dir, "hold-ready");
  const calls: { vmId: string; uans: string[]; timeoutMs: number }[] = [];
  const real = {
    awaitActorsReady: async (vmId: string, uans: string[], timeoutMs: number) => {
      calls.push({ vmId, uans, timeoutMs });
      return { ready: uans, notReady: [] };
    },
  } as unknown as OperationEffects;
  return { file, calls, effects: holdReadyWhileFileExists(file, 5)(real) };
}

describe("holdReadyWhileFileExists", () => {
  it("passes straight to the real barrier when the file does not exist", async () => {
    const { effects, calls } = setup();
    expect(await effects.awaitActorsReady("vm-1", ["uan://a/1"], 1_000)).toEqual({ ready: ["uan://a/1"], notReady: [] });
    expect(calls.map((c) => c.uans)).toEqual([["uan://a/1"]]);
  });

  it("reports every actor not ready at the timeout while the file exists, without asking the theaters", async () => {
    const { effects, calls, file } = setup();
    writeFileSync(file, "");
    expect(await effects.awaitActorsReady("vm-1", ["uan://a/1", "uan://a/2"], 20)).toEqual({
      ready: [],
      notReady: ["uan://a/1", "uan://a/2"],
    });
    expect(calls).toEqual([]);
  });

  it("runs the real barrier once the file is removed, within the same timeout", async () => {
    const { effects, calls, file } = setup();
    writeFileSync(file, "");
    const pending = effects.awaitActorsReady("vm-1", ["uan://a/1"], 60_000);
    rmSync(file);
    expect(await pending).toEqual({ ready: ["uan://a/1"], notReady: [] });
    expect(calls).toHaveLength(1);
    expect(calls[0]!.timeoutMs).toBeLessThanOrEqual(60_000);
  });
});
