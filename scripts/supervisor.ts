// The process supervision of `npm start` (scripts/start.ts): children with their output in a log
// file, restarted when they die unexpectedly, each on its own, unless one keeps crashing.
import { spawn, type ChildProcess } from "node:child_process";
import { mkdirSync, openSync, closeSync } from "node:fs";
import path from "node:path";

export interface ChildSpec {
  name: string;
  /** Node's arguments; a function is asked again at each (re)start (scripts/start.ts: a build while it is current). */
  args: string[] | (() => string[]);
  env: NodeJS.ProcessEnv;
  cwd: string;
  /** Restarted when it dies unexpectedly (default true); otherwise its death stops everything. */
  restart?: boolean;
}

export interface SupervisorOptions {
  logDir: string;
  say: (message: string) => void;
  /** Called when a child died that may not be restarted (or crashed too often): stop everything. */
  onFatal: (name: string) => void;
  /** Restarts allowed per child within `windowMs` before its death counts as fatal (default 5 in 60 s). */
  maxRestarts?: number;
  windowMs?: number;
}

export class Supervisor {
  private readonly children = new Map<string, ChildProcess>();
  private readonly restarts = new Map<string, number[]>();
  private stopping = false;

  constructor(private readonly options: SupervisorOptions) {}

  /** The running process of a child (a new one after each restart). */
  child(name: string): ChildProcess | undefined {
    return this.children.get(name);
  }

  logFile(name: string): string {
    return path.join(this.options.logDir, `${name}.log`);
  }

  launch(spec: ChildSpec): ChildProcess {
    mkdirSync(this.options.logDir, { recursive: true });
    const log = this.logFile(spec.name);
    const logFd = openSync(log, "a");
    const child = spawn(process.execPath, typeof spec.args === "function" ? spec.args() : spec.args, {
      cwd: spec.cwd,
      env: spec.env,
      stdio: ["ignore", logFd, logFd],
    });
    closeSync(logFd);
    this.children.set(spec.name, child);
    child.once("exit", (code, signal) => {
      if (this.stopping || this.children.get(spec.name) !== child) return;
      const recent = (this.restarts.get(spec.name) ?? []).filter((t) => Date.now() - t < (this.options.windowMs ?? 60_000));
      if ((spec.restart ?? true) && recent.length < (this.options.maxRestarts ?? 5)) {
        this.restarts.set(spec.name, [...recent, Date.now()]);
        this.options.say(`${spec.name} exited unexpectedly (${signal ?? code}); restarting it (see ${log})`);
        this.launch(spec);
        return;
      }
      this.options.say(`${spec.name} exited unexpectedly (${signal ?? code}); see ${log}`);
      this.options.onFatal(spec.name);
    });
    return child;
  }

  /** SIGTERM to each child, the last started first; SIGKILL to one still running after `graceMs`. */
  async stopAll(graceMs = 10_000): Promise<void> {
    this.stopping = true;
    for (const c of [...this.children.values()].reverse()) {
      if (c.exitCode !== null || c.signalCode !== null) continue;
      const exited = new Promise<boolean>((r) => c.once("exit", () => r(true)));
      c.kill("SIGTERM");
      let timer: NodeJS.Timeout | undefined;
      const stopped = await Promise.race([exited, new Promise<boolean>((r) => (timer = setTimeout(() => r(false), graceMs)))]);
      clearTimeout(timer);
      if (!stopped) c.kill("SIGKILL");
    }
  }
}
