/**
 * HypervisorError: the only error type this package throws. `code` is stable and meant for
 * programmatic handling; `message` is for humans; `cause` keeps the libvirt error.
 *
 * The @unraid/libvirt binding loses libvirt's numeric error codes (they are always -1), so
 * libvirt errors are classified by their message text (see classifyLibvirtMessage).
 */

export type HypervisorErrorCode =
  /** The HostSpec itself is malformed (empty id, unsupported URI…). */
  | "INVALID_HOST_SPEC"
  /** The host could not be reached or the connection broke; reconnect (close + open). */
  | "HOST_UNREACHABLE"
  /** The HostConnection was closed by us. */
  | "HOST_CLOSED"
  /** The DomainSpec is malformed; nothing was sent to libvirt. */
  | "INVALID_DOMAIN_SPEC"
  /** libvirt refused to define or start the domain. */
  | "DOMAIN_CREATE_FAILED"
  /** A domain with that name (or UUID) exists and differs from the spec. */
  | "DOMAIN_CONFLICT"
  | "DOMAIN_NOT_FOUND"
  | "DOMAIN_DESTROY_FAILED"
  | "DOMAIN_START_FAILED"
  /** The host kind cannot do this (e.g. qemu host opened without guest config). */
  | "UNSUPPORTED"
  /** Any other libvirt failure. */
  | "LIBVIRT_ERROR";

export class HypervisorError extends Error {
  override readonly name = "HypervisorError";
  readonly code: HypervisorErrorCode;
  readonly hostId: string;
  /** The domain concerned, when there is one. */
  readonly domain: string | undefined;

  constructor(code: HypervisorErrorCode, hostId: string, message: string, options: { domain?: string; cause?: unknown } = {}) {
    super(`[${hostId}${options.domain ? `/${options.domain}` : ""}] ${code}: ${message}`, {
      cause: options.cause,
    });
    this.code = code;
    this.hostId = hostId;
    this.domain = options.domain;
  }

  /** True for errors worth retrying after reconnecting. */
  get retryable(): boolean {
    return this.code === "HOST_UNREACHABLE";
  }
}

export function isHypervisorError(e: unknown, code?: HypervisorErrorCode): e is HypervisorError {
  return e instanceof HypervisorError && (code === undefined || e.code === code);
}

/** What a libvirt error message means, as far as we care. */
export type LibvirtFailureKind = "not-found" | "already-exists" | "not-running" | "already-running" | "connection" | "other";

/** Classifies a libvirt error message (codes are unavailable through the binding). */
export function classifyLibvirtMessage(message: string): LibvirtFailureKind {
  const m = message.toLowerCase();
  if (m.includes("domain not found") || m.includes("no domain with matching")) return "not-found";
  if (m.includes("already exists with uuid") || m.includes("already defined with uuid")) return "already-exists";
  if (m.includes("is already running") || m.includes("already active")) return "already-running";
  if (m.includes("is not running") || m.includes("domain is not running") || m.includes("not active")) return "not-running";
  if (
    /end of file while reading|cannot (recv|write|read|send) data|client socket is closed|connection (reset|refused|closed|timed out)|failed to connect|unable to connect|cannot connect|no connection driver|invalid connection pointer|broken pipe|keepalive timeout|no route to host|host key verification failed/.test(
      m,
    )
  )
    return "connection";
  return "other";
}

export function errorMessage(e: unknown): string {
  if (e instanceof Error) return e.message;
  return String(e);
}

/** Wraps an unknown failure from libvirt into a HypervisorError with the given default code. */
export function wrapLibvirtError(
  e: unknown,
  hostId: string,
  fallback: HypervisorErrorCode,
  what: string,
  domain?: string,
): HypervisorError {
  if (e instanceof HypervisorError) return e;
  const msg = errorMessage(e);
  const kind = classifyLibvirtMessage(msg);
  const code: HypervisorErrorCode =
    kind === "connection" ? "HOST_UNREACHABLE" : kind === "not-found" ? "DOMAIN_NOT_FOUND" : fallback;
  return new HypervisorError(code, hostId, `${what}: ${msg}`, { domain, cause: e });
}
