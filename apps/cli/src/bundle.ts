// `malleo bundle build <dir>` and `malleo bundle register <file>`: an application folder made into
// one self-contained file, and that file registered (POST /api/applications/bundles, admin).
import { readFileSync } from "node:fs";
import { basename, join, resolve } from "node:path";
import { applicationEntry, buildBundle } from "@malleo/sdk/bundle/build";
import type { BundleUploadAnswer } from "@malleo/api";
import { UsageError } from "./commands";

/** Builds the folder's application into `out` (default `<dir>/dist/<folder>.bundle.mjs`). */
export async function bundleBuildCommand(dir: string | undefined, out: string | undefined) {
  if (!dir) throw new UsageError("usage: malleo bundle build <application-folder> [--out FILE]");
  const entry = applicationEntry(dir);
  const outfile = resolve(out ?? join(dir, "dist", `${basename(resolve(dir))}.bundle.mjs`));
  const bytes = await buildBundle(entry, outfile);
  return { entry, file: outfile, bytes };
}

/** Uploads the file; the answer's error names every reason a refused bundle was refused. */
export async function bundleRegisterCommand(baseUrl: string, token: string, file: string | undefined) {
  if (!file) throw new UsageError("usage: malleo bundle register <bundle-file>");
  const body = readFileSync(file);
  const res = await fetch(new URL("/api/applications/bundles", baseUrl), {
    method: "POST",
    headers: { authorization: `Bearer ${token}`, "content-type": "application/javascript" },
    body,
  });
  const answer = (await res.json().catch(() => ({
    error: { code: String(res.status), message: `the server answered ${res.status} without JSON`, problems: [] },
  }))) as BundleUploadAnswer;
  if ("error" in answer) {
    const problems = answer.error.problems.length > 1 ? `\n${answer.error.problems.map((p) => `  - ${p}`).join("\n")}` : "";
    throw Object.assign(new Error(`${answer.error.message}${problems}`), { data: { code: answer.error.code } });
  }
  return answer.bundle;
}
