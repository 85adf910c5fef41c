// What the bundle child process (child.ts) is asked and answers, each V8-serialized (states and results are not JSON).
import type { ActorSpec } from "@malleo/actors";
import type { BundleManifest } from "./manifest";

export type BundleRequest =
  /** Load the bundle, check the interface, print its manifest. */
  | { command: "inspect" }
  /** Check a configuration with the module's own schema; the actors and their layout onto `vms` VMs. */
  | { command: "plan"; applicationId: string; config: unknown; vms: number }
  /** The application's result from its actors' states (its `result`), as bytes. */
  | { command: "result"; config: unknown; states: ReadonlyMap<string, unknown> }
  /** Actors' states of an older state format (`from`) as this version reads them (its `migrateState`), in order. */
  | { command: "migrate"; from: number; actors: { behavior: string; state: unknown }[] };

export type BundleAnswer =
  | { ok: true; manifest: BundleManifest }
  | { ok: true; config: unknown; actors: ActorSpec[]; groups: string[][] }
  | { ok: true; result: Uint8Array }
  | { ok: true; states: unknown[] }
  | { ok: false; problems: string[]; configInvalid?: boolean };
