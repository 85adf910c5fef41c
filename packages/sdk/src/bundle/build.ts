// Building a bundle: one self-contained ESM file (esbuild) of an application folder's module and
// everything it imports, the SDK included — what an admin registers.
import { existsSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { build } from "esbuild";

/** The module an application folder exports: its package.json `exports["."]` (or `main`), else src/index.ts. */
export function applicationEntry(dir: string): string {
  const root = resolve(dir);
  const pkgFile = join(root, "package.json");
  if (existsSync(pkgFile)) {
    const pkg = JSON.parse(readFileSync(pkgFile, "utf8")) as { exports?: unknown; main?: unknown };
    const exp = pkg.exports;
    const entry =
      typeof exp === "string"
        ? exp
        : typeof exp === "object" && exp !== null && typeof (exp as Record<string, unknown>)["."] === "string"
          ? ((exp as Record<string, unknown>)["."] as string)
          : typeof pkg.main === "string"
            ? pkg.main
            : undefined;
    if (entry) return join(root, entry);
  }
  const fallback = join(root, "src/index.ts");
  if (!existsSync(fallback)) throw new Error(`${dir}: no package.json "exports" and no src/index.ts to bundle`);
  return fallback;
}

/** Bundles `entry` (a module file) into `outfile`; returns its size in bytes. */
export async function buildBundle(entry: string, outfile: string): Promise<number> {
  const result = await build({
    entryPoints: [entry],
    outfile,
    // Paths in the output's comments are relative to this: the same sources give the same bytes wherever it runs.
    absWorkingDir: dirname(resolve(entry)),
    bundle: true,
    format: "esm",
    platform: "node",
    target: "node20",
    metafile: true,
    logLevel: "silent",
    legalComments: "none",
    // Some dependencies call require() for Node's built-ins; an ESM file has none of its own.
    banner: {
      js: 'import { createRequire as __malleoRequire } from "node:module"; const require = __malleoRequire(import.meta.url);',
    },
  });
  return Object.values(result.metafile.outputs).reduce((n, o) => n + o.bytes, 0);
}
