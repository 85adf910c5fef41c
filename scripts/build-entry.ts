// Builds an entry point of the checkout (the worker, the theater) once into one ES module file, so
// that a harness that starts it many times (the chaos phase: ~150 worker starts; every simulated
// VM's theater) does not have tsx compile it at each start. The workspace's TypeScript is bundled;
// every npm package stays an import resolved from node_modules at run time, as under tsx. Each
// module's import.meta.url, .dirname and .filename become its source file's, so paths computed
// from them (migrations, the theater's entry point, Prisma's generated client) are the same as when
// the source runs under tsx. Beside the build, `<file>.inputs.json` names the source files it was
// built from and when: spawnLocalTheater (packages/actors) refuses a build older than one of them.
import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { build, type Plugin } from "esbuild";
import { THEATER_BUILD_ENV } from "@malleo/actors";

const root = path.resolve(import.meta.dirname, "..");

const sourceImportMeta: Plugin = {
  name: "source-import-meta",
  setup(b) {
    // Bare specifiers other than the workspace's own packages stay external (node_modules).
    b.onResolve({ filter: /^[^./]/ }, (args) =>
      args.path.startsWith("@malleo/") || args.path.startsWith("node:") ? undefined : { path: args.path, external: true },
    );
    b.onLoad({ filter: /\.(ts|tsx|mts)$/ }, (args) => {
      const source = readFileSync(args.path, "utf8");
      return {
        contents: source
          .replace(/import\.meta\.url/g, JSON.stringify(pathToFileURL(args.path).href))
          .replace(/import\.meta\.dirname/g, JSON.stringify(path.dirname(args.path)))
          .replace(/import\.meta\.filename/g, JSON.stringify(args.path)),
        loader: args.path.endsWith(".tsx") ? "tsx" : "ts",
      };
    });
  },
};

/**
 * Bundles `entry` (relative to the checkout) into `outfile` (an .mjs file under the checkout, so
 * node_modules resolves) and writes `<outfile>.inputs.json`: the build's start time and the
 * absolute paths of the source files it bundled.
 */
export async function buildEntry(entry: string, outfile: string): Promise<string> {
  const startedAt = Date.now(); // a source saved while esbuild reads it is newer than the build
  const result = await build({
    plugins: [sourceImportMeta],
    entryPoints: [path.join(root, entry)],
    bundle: true,
    platform: "node",
    target: "node20",
    format: "esm",
    outfile,
    sourcemap: "linked",
    logLevel: "warning",
    metafile: true,
  });
  const inputs = Object.keys(result.metafile.inputs).map((p) => path.resolve(process.cwd(), p));
  writeFileSync(`${outfile}.inputs.json`, JSON.stringify({ builtAt: startedAt, inputs }));
  return outfile;
}

/** The worker (apps/worker/src/main.ts), for useWorkerBuild (scripts/worker-process.ts). */
export const buildWorker = (outfile: string) => buildEntry("apps/worker/src/main.ts", outfile);

/**
 * The theater (apps/theater/src/main.ts), built and named in the environment (MALLEO_THEATER_BUILD)
 * so that spawnLocalTheater, in this process and in the workers it starts, runs the build.
 */
export async function buildTheater(outfile: string): Promise<string> {
  await buildEntry("apps/theater/src/main.ts", outfile);
  process.env[THEATER_BUILD_ENV] = outfile;
  return outfile;
}
