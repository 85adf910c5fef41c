// Loading an application module by path or package name: what a theater does with the modules it
// is told to host besides the installed ones (the local test harness), and what a check of a
// bundle before it is registered would do.
import { isAbsolute } from "node:path";
import { pathToFileURL } from "node:url";
import { ApplicationModuleError, applicationModuleProblems, type ApplicationModule } from "./application";

/**
 * Imports `specifier` (an absolute path, a file: URL or a package name) and returns the
 * application modules it exports (its default export and every named export that is one).
 * Refuses, saying what is wrong, a module that does not load or exports no application.
 */
export async function loadApplicationModules(specifier: string): Promise<ApplicationModule[]> {
  const url = isAbsolute(specifier) ? pathToFileURL(specifier).href : specifier;
  let exports: Record<string, unknown>;
  try {
    exports = (await import(url)) as Record<string, unknown>;
  } catch (error) {
    throw new ApplicationModuleError([`it does not load: ${(error as Error).message}`], specifier);
  }
  const found = new Set<ApplicationModule>();
  const nearMisses: string[] = [];
  for (const [name, value] of Object.entries(exports)) {
    if (typeof value !== "object" || value === null || !("kind" in value || "behaviors" in value)) continue;
    const problems = applicationModuleProblems(value);
    if (problems.length === 0) found.add(value as ApplicationModule);
    else nearMisses.push(`export ${name}: ${problems.join(", ")}`);
  }
  if (found.size === 0) {
    throw new ApplicationModuleError(
      nearMisses.length > 0 ? nearMisses : ["it exports no application (defineApplication(…))"],
      specifier,
    );
  }
  return [...found];
}
