// The short-lived process that loads a bundle: never the web or worker process (application code
// runs only here and in theaters). `node --import tsx child.ts <bundle.mjs>` reads one request
// (V8-serialized) on stdin and writes one answer the same way on fd 3 (stdout is left to the
// bundle's own logs).
import { readFileSync, writeSync } from "node:fs";
import { deserialize, serialize } from "node:v8";
import type { ActorSpec } from "@malleo/actors";
import { ApplicationModuleError, contiguousLayout, type ApplicationModule } from "../application";
import { loadApplicationModules } from "../load";
import { applicationManifest } from "./manifest";
import type { BundleAnswer, BundleRequest } from "./protocol";

function answer(a: BundleAnswer): never {
  const bytes = serialize(a);
  for (let at = 0; at < bytes.byteLength;) at += writeSync(3, bytes, at);
  process.exit(0);
}

async function loadOne(file: string): Promise<ApplicationModule> {
  const modules = await loadApplicationModules(file);
  if (modules[0]?.services)
    throw new ApplicationModuleError(
      ["it has `services`, which run in the worker process; a bundle's code runs only in theaters"],
      "the bundle",
    );
  if (modules.length > 1)
    throw new ApplicationModuleError(
      [`it exports ${modules.length} applications (${modules.map((m) => m.kind).join(", ")}); a bundle exports one`],
      "the bundle",
    );
  return modules[0]!;
}

function issuesOf(module: ApplicationModule, config: unknown): { config: unknown } | { issues: string[] } {
  const parsed = module.configSchema.safeParse(config);
  if (parsed.success) return { config: parsed.data };
  return {
    issues: parsed.error.issues.map((i) => (i.path.length > 0 ? `${i.path.join(".")}: ${i.message}` : i.message)),
  };
}

async function main(): Promise<void> {
  const file = process.argv[2];
  if (!file) answer({ ok: false, problems: ["no bundle file given"] });
  const request = deserialize(readFileSync(0)) as BundleRequest;
  let module: ApplicationModule;
  try {
    module = await loadOne(file);
  } catch (error) {
    const problems = error instanceof ApplicationModuleError ? error.problems : [(error as Error).message];
    answer({ ok: false, problems });
  }
  if (request.command === "inspect") answer({ ok: true, manifest: applicationManifest(module) });
  if (request.command === "result") {
    if (!module.result) answer({ ok: false, problems: [`a ${module.kind} application has no result`] });
    const checked = issuesOf(module, request.config);
    if ("issues" in checked) answer({ ok: false, problems: checked.issues, configInvalid: true });
    const r = module.result(checked.config, request.states);
    answer({ ok: true, result: new Uint8Array(r.buffer, r.byteOffset, r.byteLength).slice() });
  }
  if (request.command === "migrate") {
    const migrate = module.migrateState?.bind(module);
    if (!migrate) answer({ ok: false, problems: [`${module.kind} ${module.version} has no migrateState`] });
    answer({ ok: true, states: request.actors.map((a) => migrate(a.state, request.from, a.behavior)) });
  }
  // plan: the configuration as the module's own schema reads it, its actors and their layout.
  const checked = issuesOf(module, request.config);
  if ("issues" in checked) answer({ ok: false, problems: checked.issues, configInvalid: true });
  const actors: ActorSpec[] = module.actors(request.applicationId, checked.config);
  const groups = module.layout ? module.layout(actors, request.vms) : contiguousLayout(actors, request.vms);
  answer({ ok: true, config: checked.config, actors, groups: groups.map((g) => g.map((s) => s.uan)) });
}

main().catch((error: unknown) => answer({ ok: false, problems: [(error as Error).message] }));
