/**
 * HostConnection: ONE libvirt connection per host, kept open for the life of the worker.
 *
 * - Calls on the same domain name are serialised (a per-name mutex), so concurrent
 *   domainCreate/domainDestroy of one VM cannot interleave; different names run in parallel.
 * - close() waits for in-flight calls; calls after close fail with HOST_CLOSED.
 * - No automatic reconnect: on HOST_UNREACHABLE the caller closes and re-opens. For test:///
 *   hosts a new connection starts EMPTY (the test driver forgets domains on close), so the
 *   VM Manager must recreate the simulated host's domains from Postgres.
 */
import { existsSync } from "node:fs";
import { Hypervisor } from "@unraid/libvirt";
import {
  domainCreate,
  domainDestroy,
  domainGet,
  domainGetXml,
  domainList,
  domainStart,
  domainStop,
  type DomainContext,
} from "./domain";
import { errorMessage, HypervisorError, wrapLibvirtError } from "./errors";
import { hostCapacity, hostKindOf, hostSpecProblems, testUriFile } from "./host";
import type {
  DomainInfo,
  DomainListOptions,
  DomainSpec,
  HostCapacity,
  HostConnectionOptions,
  HostKind,
  HostSpec,
  QemuGuestConfig,
} from "./types";
import { KeyedMutex } from "./keyed-mutex";

const DEFAULT_OPEN_TIMEOUT_MS = 15_000;

export class HostConnection {
  readonly spec: HostSpec;
  readonly kind: HostKind;
  private readonly ctx: DomainContext;
  private readonly locks = new KeyedMutex();
  private readonly inflight = new Set<Promise<unknown>>();
  private closing: Promise<void> | undefined;

  private constructor(spec: HostSpec, kind: HostKind, hv: Hypervisor, options: HostConnectionOptions) {
    this.spec = Object.freeze({ ...spec });
    this.kind = kind;
    this.ctx = { hv, host: this.spec, kind, qemu: options.qemu };
  }

  /** Opens the host's libvirt connection. INVALID_HOST_SPEC or HOST_UNREACHABLE on failure. */
  static async open(spec: HostSpec, options: HostConnectionOptions = {}): Promise<HostConnection> {
    const problems = hostSpecProblems(spec);
    if (problems.length)
      throw new HypervisorError("INVALID_HOST_SPEC", String(spec?.id), `invalid host spec: ${problems.join("; ")}`);
    const kind = hostKindOf(spec.uri) as HostKind;
    const file = kind === "test" ? testUriFile(spec.uri) : undefined;
    if (file !== undefined && !existsSync(file))
      throw new HypervisorError("HOST_UNREACHABLE", spec.id, `simulated host file ${file} does not exist (uri ${spec.uri})`);
    const hv = new Hypervisor({ uri: spec.uri });
    const timeoutMs = options.openTimeoutMs ?? DEFAULT_OPEN_TIMEOUT_MS;
    const opening = hv.connectOpen();
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<"timeout">((res) => {
      timer = setTimeout(() => res("timeout"), timeoutMs);
    });
    try {
      const r = await Promise.race([opening, timedOut]);
      if (r === "timeout") {
        // If it eventually opens, close it so nothing leaks.
        opening.then(() => hv.connectClose()).catch(() => undefined);
        throw new HypervisorError("HOST_UNREACHABLE", spec.id, `connecting to ${spec.uri} timed out after ${timeoutMs} ms`);
      }
    } catch (e) {
      if (e instanceof HypervisorError) throw e;
      throw new HypervisorError("HOST_UNREACHABLE", spec.id, `cannot connect to ${spec.uri}: ${errorMessage(e)}`, { cause: e });
    } finally {
      clearTimeout(timer);
    }
    return new HostConnection(spec, kind, hv, options);
  }

  get closed(): boolean {
    return this.closing !== undefined;
  }

  private track<T>(fn: () => Promise<T>): Promise<T> {
    if (this.closing) return Promise.reject(new HypervisorError("HOST_CLOSED", this.spec.id, "connection is closed"));
    const p = fn();
    this.inflight.add(p);
    const done = () => this.inflight.delete(p);
    p.then(done, done);
    return p;
  }

  private withDomain<T>(name: string, fn: () => Promise<T>): Promise<T> {
    return this.track(() => this.locks.run(name, fn));
  }

  /** Node CPUs / memory (nodeGetInfo). */
  capacity(): Promise<HostCapacity> {
    return this.track(() => hostCapacity(this.ctx.hv, this.spec));
  }

  /** The hypervisor machine's host name (virConnectGetHostname). */
  hostname(): Promise<string> {
    return this.track(() =>
      this.ctx.hv.connectGetHostname().catch((e: unknown) => {
        throw wrapLibvirtError(e, this.spec.id, "LIBVIRT_ERROR", "connectGetHostname failed");
      }),
    );
  }

  /**
   * Define + start; idempotent when a matching domain exists (DOMAIN_CONFLICT otherwise).
   * `qemu` overrides the connection's guest configuration for this one domain (e.g. a KVM probe).
   */
  domainCreate(d: DomainSpec, qemu?: QemuGuestConfig): Promise<DomainInfo> {
    return this.withDomain(String(d?.name), () => domainCreate(qemu ? { ...this.ctx, qemu } : this.ctx, d));
  }

  /** The guest configuration new domains get on a qemu host (undefined on simulated hosts). */
  get guestConfig(): QemuGuestConfig | undefined {
    return this.ctx.qemu;
  }

  /** Replaces the guest configuration, e.g. once the accelerator probe has decided kvm or qemu. */
  setGuestConfig(qemu: QemuGuestConfig): void {
    this.ctx.qemu = qemu;
  }

  /** Destroy (if active) + undefine; a missing domain is fine. */
  domainDestroy(name: string): Promise<void> {
    return this.withDomain(name, () => domainDestroy(this.ctx, name));
  }

  /** Starts a defined, stopped domain (no-op if running). */
  domainStart(name: string): Promise<DomainInfo> {
    return this.withDomain(name, () => domainStart(this.ctx, name));
  }

  /** Hard power-off keeping the definition (no-op if stopped). */
  domainStop(name: string): Promise<DomainInfo> {
    return this.withDomain(name, () => domainStop(this.ctx, name));
  }

  domainList(opts?: DomainListOptions): Promise<DomainInfo[]> {
    return this.track(() => domainList(this.ctx, opts));
  }

  domainGet(name: string): Promise<DomainInfo | undefined> {
    return this.track(() => domainGet(this.ctx, name));
  }

  /** The live domain XML (for diagnostics). */
  domainGetXml(name: string): Promise<string> {
    return this.track(() => domainGetXml(this.ctx, name));
  }

  /** Waits for in-flight calls, then closes. Idempotent. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      await Promise.allSettled([...this.inflight]);
      try {
        await this.ctx.hv.connectClose();
      } catch {
        // Closing a broken connection is best effort.
      }
    })();
    return this.closing;
  }
}
