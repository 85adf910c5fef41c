/**
 * The browser is not a trust boundary: a page on another origin can make the user's browser send
 * a POST with the user's cookie, and `multipart/form-data`, `text/plain` and
 * `application/x-www-form-urlencoded` bodies need no CORS preflight. So every mutation is checked
 * here, before its body is read: where it came from (Origin, Sec-Fetch-Site) and what it carries
 * (Content-Type). Requests that carry neither Origin nor Sec-Fetch-Site — the CLI, scripts with
 * a Bearer token — are not browsers' and pass on to authentication as before.
 */

export interface OriginPolicy {
  /**
   * Origins accepted besides the server's own, each `scheme://host[:port]` (as a browser writes
   * the Origin header). For a console reached under another name than the one the web process
   * sees in the Host header.
   */
  allowedOrigins?: readonly string[];
  /**
   * Behind a reverse proxy: take the server's own origin from X-Forwarded-Proto and
   * X-Forwarded-Host (and the client's address from X-Forwarded-For). Only when every request
   * reaches the web process through that proxy, which must overwrite these headers.
   */
  trustProxy?: boolean;
}

export interface OriginRefusal {
  status: 403 | 415;
  code: "FORBIDDEN" | "UNSUPPORTED_MEDIA_TYPE";
  message: string;
}

/** `scheme://host[:port]`, lower-cased, default port dropped; null when the value is not an origin. */
export function normalizeOrigin(value: string): string | null {
  if (!/^https?:\/\/[^/?#\s]+$/i.test(value)) return null;
  try {
    const u = new URL(value);
    return u.origin === "null" ? null : u.origin;
  } catch {
    return null;
  }
}

function firstValue(header: string | null): string | undefined {
  const v = header?.split(",")[0]?.trim();
  return v || undefined;
}

/** The origin the browser addressed: Host (or X-Forwarded-Host when trusted) with the request's scheme. */
export function ownOrigin(req: Request, policy: OriginPolicy = {}): string | null {
  const url = new URL(req.url);
  let proto = url.protocol.replace(/:$/, "");
  let host = req.headers.get("host") ?? url.host;
  if (policy.trustProxy) {
    proto = firstValue(req.headers.get("x-forwarded-proto")) ?? proto;
    host = firstValue(req.headers.get("x-forwarded-host")) ?? host;
  }
  return normalizeOrigin(`${proto}://${host}`);
}

/** Whether this request was sent over HTTPS (directly, or to a trusted proxy). */
export function isHttps(req: Request, policy: OriginPolicy = {}): boolean {
  if (new URL(req.url).protocol === "https:") return true;
  return policy.trustProxy === true && firstValue(req.headers.get("x-forwarded-proto")) === "https";
}

/**
 * Why a mutation (a POST to /api/trpc) is refused before it is read, or null when it may go on.
 * 403 when it comes from another origin, 415 when its body is not of `contentTypes` (JSON by default).
 */
export function checkMutationRequest(
  req: Request,
  policy: OriginPolicy = {},
  contentTypes: readonly string[] = ["application/json"],
): OriginRefusal | null {
  const site = req.headers.get("sec-fetch-site")?.trim().toLowerCase();
  if (site === "cross-site" || site === "same-site") {
    return {
      status: 403,
      code: "FORBIDDEN",
      message: `refused: this request was sent from another site (Sec-Fetch-Site: ${site}); changes are accepted only from the Malleo console itself`,
    };
  }
  const origin = req.headers.get("origin");
  if (origin !== null) {
    const claimed = normalizeOrigin(origin.trim());
    const own = ownOrigin(req, policy);
    const allowed = new Set([own, ...(policy.allowedOrigins ?? []).map(normalizeOrigin)].filter((o) => o !== null));
    if (!claimed || !allowed.has(claimed)) {
      return {
        status: 403,
        code: "FORBIDDEN",
        message: `refused: this request comes from the origin ${JSON.stringify(origin.slice(0, 200))}, not from the Malleo console (${own ?? "unknown"}); if the console is served under another address, add it to MALLEO_ALLOWED_ORIGINS`,
      };
    }
  }
  const type = req.headers.get("content-type")?.split(";")[0]?.trim().toLowerCase();
  if (type === undefined || !contentTypes.includes(type)) {
    return {
      status: 415,
      code: "UNSUPPORTED_MEDIA_TYPE",
      message: `refused: a change must be sent as ${contentTypes.join(" or ")}, not ${type ? JSON.stringify(type.slice(0, 100)) : "a body without a Content-Type"}`,
    };
  }
  return null;
}

/**
 * Parses MALLEO_ALLOWED_ORIGINS: origins separated by commas or spaces. Throws naming the first
 * entry that is not `http(s)://host[:port]` (no path, no trailing slash, no wildcard).
 */
export function parseAllowedOrigins(value: string | undefined): string[] {
  if (!value?.trim()) return [];
  return value
    .split(/[\s,]+/)
    .filter(Boolean)
    .map((entry) => {
      const o = normalizeOrigin(entry);
      if (!o)
        throw new Error(
          `MALLEO_ALLOWED_ORIGINS: ${JSON.stringify(entry)} is not an origin; write scheme://host[:port], e.g. https://malleo.example.com`,
        );
      return o;
    });
}
