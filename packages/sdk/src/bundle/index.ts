// Application bundles: loading one in a child process (never in the caller). Building one (esbuild)
// is "@malleo/sdk/bundle/build", kept apart so that the web process never imports esbuild.
export { applicationManifest, bundleManifestSchema, upgradeRefusal, type BundleManifest } from "./manifest";
export {
  BundleRefusedError,
  bundleFile,
  bundleMigrateStates,
  bundleResult,
  inspectBundle,
  planBundle,
  sha256Hex,
  type BundleLimits,
  type BundlePlan,
} from "./run";
