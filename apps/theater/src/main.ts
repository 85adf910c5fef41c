// Theater entry point: one per VM, in a guest image or as a local child process of the worker.
import { THEATER_EXIT_CODES, Theater, TheaterRefusedError, builtinBehaviors } from "@malleo/actors";
import { installedApplications } from "@malleo/applications";
import { ApplicationRegistry, loadApplicationModules } from "@malleo/sdk";
import { TheaterConfigError, readTheaterConfig } from "./config";

function logLine(fields: Record<string, unknown>): void {
  process.stderr.write(`${JSON.stringify({ ts: new Date().toISOString(), component: "theater", ...fields })}\n`);
}

async function main(): Promise<void> {
  let config;
  try {
    config = readTheaterConfig(process.argv.slice(2), process.env);
  } catch (error) {
    if (!(error instanceof TheaterConfigError)) throw error;
    logLine({ level: "error", msg: "bad arguments", error: error.message });
    process.exit(THEATER_EXIT_CODES.badArguments);
  }
  const { vmId, fault } = config;

  // Modules named at start (the SDK's test harness) are hosted besides the installed applications.
  let extraBehaviors = {};
  try {
    const registry = new ApplicationRegistry();
    for (const specifier of config.applicationModules) {
      for (const module of await loadApplicationModules(specifier))
        if (!installedApplications.has(module.kind)) registry.register(module);
    }
    extraBehaviors = registry.behaviors();
  } catch (error) {
    logLine({ level: "error", vmId, msg: "bad application module", error: (error as Error).message });
    process.exit(THEATER_EXIT_CODES.badArguments);
  }

  // A local theater is tied to its parent by IPC: when the parent goes, so do we (no orphans).
  if (process.send) {
    process.on("disconnect", () => {
      logLine({ level: "warn", vmId, msg: "parent process went away; exiting" });
      process.exit(THEATER_EXIT_CODES.stopped);
    });
  }

  const theater = new Theater({
    vmId,
    mediator: config.mediators,
    secret: config.secret,
    listenHost: config.listenHost,
    advertisedHost: config.advertisedHost,
    behaviors: { ...builtinBehaviors, ...installedApplications.behaviors(), ...extraBehaviors },
    onFatal: (reason) => {
      logLine({ level: "error", vmId, msg: "fatal", reason });
      process.exit(THEATER_EXIT_CODES.refused);
    },
    faults:
      fault === "crash-before-migration-ack"
        ? {
            beforeMigrationAck: () => {
              logLine({ level: "warn", vmId, msg: "fault injected: exiting before acknowledging a migration" });
              process.exit(THEATER_EXIT_CODES.faultInjected);
            },
          }
        : undefined,
  });

  try {
    await theater.start();
  } catch (error) {
    if (error instanceof TheaterRefusedError) {
      logLine({ level: "error", vmId, msg: "registration refused", reason: error.message });
      process.exit(THEATER_EXIT_CODES.refused);
    }
    logLine({ level: "error", vmId, msg: "could not start", error: (error as Error).message });
    process.exit(THEATER_EXIT_CODES.failed);
  }
  await theater.stopped;
  process.exit(THEATER_EXIT_CODES.stopped);
}

void main();
