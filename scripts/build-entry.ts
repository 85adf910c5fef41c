// Builds the worker (apps/worker/src/main.ts) once into one ES module file, so that a harness that
// starts it many times (the chaos phase: ~150 starts) does not have tsx compile it at each start.
// The workspace's TypeScript is bundled; every npm package stays an import resolved from
// node_modules at run time, as under tsx. Each module's import.meta.url, .dirname and .filename
// become its source file's, so paths computed from them (migrations, the theater's entry point,
// Prisma's generated client) are the same as when the source runs under tsx.
import { readFileSync } from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { build, type Plugin } from "esbuild";

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

/** Bundles apps/worker/src/main.ts into `outfile` (an .mjs file under the checkout, so node_modules resolves). */
export async function buildWorker(outfile: string): Promise<string> {
  await build({
    plugins: [sourceImportMeta],
    entryPoints: [path.join(root, "apps/worker/src/main.ts")],
    bundle: true,
    platform: "node",
    target: "node20",
    format: "esm",
    outfile,
    sourcemap: "linked",
    logLevel: "warning",
  });
  return outfile;
}
