// Theater entry point: one per VM, in a guest image or as a local child process of the worker.
import { logRecord, stderrSink, type LogLevel } from "@malleo/core";
import { THEATER_EXIT_CODES, Theater, TheaterRefusedError, builtinBehaviors } from "@malleo/actors";
import { installedApplications } from "@malleo/applications";
import { ApplicationRegistry, loadApplicationModules, type BehaviorRegistry } from "@malleo/sdk";
import { bundleFile } from "@malleo/sdk/bundle";
import { TheaterConfigError, readTheaterConfig } from "./config";

const log = (level: LogLevel, msg: string, fields: Record<string, unknown>) =>
  stderrSink(logRecord("theater", level, msg, fields));

async function main(): Promise<void> {
  let config;
  try {
    config = readTheaterConfig(process.argv.slice(2), process.env);
  } catch (error) {
    if (!(error instanceof TheaterConfigError)) throw error;
    log("error", "bad arguments", { error: error.message });
    process.exit(THEATER_EXIT_CODES.badArguments);
  }
  const { vmId, fault } = config;

  /** A bundle the Mediator sent (its sha256 checked by the runtime): imported here, its behaviors registered. */
  const importBundle = async (bundle: { kind: string; version: string; bytes: Uint8Array }): Promise<BehaviorRegistry> => {
    const modules = await loadApplicationModules(bundleFile(bundle.bytes));
    const module = modules.find((m) => m.kind === bundle.kind);
    if (!module) throw new Error(`the ${bundle.kind} ${bundle.version} bundle exports no ${bundle.kind} application`);
    if (installedApplications.has(module.kind)) throw new Error(`the bundle's kind ${module.kind} is an installed application`);
    return module.behaviors;
  };

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
    log("error", "bad application module", { vmId, error: (error as Error).message });
    process.exit(THEATER_EXIT_CODES.badArguments);
  }

  // A local theater is tied to its parent by IPC: when the parent goes, so do we (no orphans).
  if (process.send) {
    process.on("disconnect", () => {
      log("warn", "parent process went away; exiting", { vmId });
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
    importBundle,
    onFatal: (reason) => {
      log("error", "fatal", { vmId, reason });
      process.exit(THEATER_EXIT_CODES.refused);
    },
    faults:
      fault === "crash-before-migration-ack"
        ? {
            beforeMigrationAck: () => {
              log("warn", "fault injected: exiting before acknowledging a migration", { vmId });
              process.exit(THEATER_EXIT_CODES.faultInjected);
            },
          }
        : undefined,
  });

  try {
    await theater.start();
  } catch (error) {
    if (error instanceof TheaterRefusedError) {
      log("error", "registration refused", { vmId, reason: error.message });
      process.exit(THEATER_EXIT_CODES.refused);
    }
    log("error", "could not start", { vmId, error: (error as Error).message });
    process.exit(THEATER_EXIT_CODES.failed);
  }
  await theater.stopped;
  process.exit(THEATER_EXIT_CODES.stopped);
}

void main();
