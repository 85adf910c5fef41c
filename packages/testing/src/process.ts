// A command run as a process of its own, its output collected: what a test of a command-line
// entry point (the `malleo` CLI, a script) needs when the separate process is the point.
import { spawn, type SpawnOptions } from "node:child_process";

export interface ProcessRun {
  /** The exit code; -1 when the process was ended by a signal. */
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `command args` with stdin closed and resolves with its exit code and everything it printed. */
export function runProcess(
  command: string,
  args: readonly string[],
  opts: Pick<SpawnOptions, "env" | "cwd"> = {},
): Promise<ProcessRun> {
  return new Promise((resolve, reject) => {
    const p = spawn(command, [...args], { ...opts, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    p.stdout!.on("data", (d: Buffer) => (stdout += d.toString()));
    p.stderr!.on("data", (d: Buffer) => (stderr += d.toString()));
    p.once("error", reject);
    p.once("close", (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}
