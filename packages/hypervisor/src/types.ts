/**
 * Public types of the hypervisor adapter. Units are explicit in the names: memory is always
 * MiB at this boundary (libvirt speaks KiB; the conversion happens in domain.ts / host.ts).
 */

/** One physical machine (PM) as seen by Malleo: an id and the libvirt URI that reaches it. */
export interface HostSpec {
  /** Stable host id, e.g. "pm-1". */
  id: string;
  /** libvirt URI, e.g. "test:///abs/path/pm-1.xml", "qemu:///system", "qemu+ssh://pm-2/system". */
  uri: string;
}

/** What kind of hypervisor a URI reaches; decides the domain XML dialect (see domain-xml.ts). */
export type HostKind = "test" | "qemu";

/** Node capacity as reported by libvirt's nodeGetInfo. */
export interface HostCapacity {
  /** Active physical CPUs. */
  cpus: number;
  memoryMiB: number;
  /** CPU model string (libvirt caps it at 31 characters). */
  model: string;
  mhz: number;
}

/**
 * Per-domain boot details for real guests (qemu/kvm hosts). Ignored by the test driver.
 * The host-wide parts (kernel, initrd, bridge) live in QemuGuestConfig.
 */
export interface GuestBootSpec {
  /** Appended to QemuGuestConfig.cmdline, e.g. "malleo.ip=10.77.0.12/24 malleo.gw=10.77.0.1". */
  kernelArgs?: string;
  /** Fixed MAC address for the bridge interface, e.g. "52:54:00:12:34:56". */
  macAddress?: string;
  /** Absolute path on the host where the serial console is also written (boot diagnostics). */
  consoleLog?: string;
}

/** The domain Malleo wants on a host. */
export interface DomainSpec {
  /** libvirt domain name: [A-Za-z0-9][A-Za-z0-9_.-]{0,62}. */
  name: string;
  /** RFC 4122 textual UUID (8-4-4-4-12 hex); compared case-insensitively. */
  uuid: string;
  vcpus: number;
  memoryMiB: number;
  /**
   * Stored in the domain XML under <metadata><malleo:vm xmlns:malleo="…"> as
   * <malleo:entry key="…">value</malleo:entry>, e.g. { vmId, app }. Keys are XML-name-like.
   */
  metadata?: Record<string, string>;
  /** Only used on qemu hosts. */
  guest?: GuestBootSpec;
}

/** libvirt domain states, by name. */
export type DomainStateName = "nostate" | "running" | "blocked" | "paused" | "shutdown" | "shutoff" | "crashed" | "pmsuspended";

/** What a host reports about one domain. */
export interface DomainInfo {
  name: string;
  /** Lower-case UUID. */
  uuid: string;
  /** True when the domain has a running instance (has a libvirt domain id). */
  active: boolean;
  state: DomainStateName;
  vcpus: number;
  memoryMiB: number;
  /**
   * Cumulative CPU time in ns as a JS number (the binding hands over a double).
   * CAUTION: libvirt's test driver reports wall-clock time since the epoch here, not CPU
   * time, so simulated hosts need synthetic CPU usage.
   */
  cpuTimeNs: number;
  /** Entries of the malleo metadata element ({} when absent). */
  metadata: Record<string, string>;
  /** True when the domain carries the malleo metadata element (i.e. Malleo created it). */
  managed: boolean;
  /** The domain's <domain type='…'> (e.g. "test", "qemu", "kvm"). */
  virtType: string;
}

/** Host-wide configuration of real guests on qemu hosts (the seam for qemu/KVM). */
export interface QemuGuestConfig {
  /** libvirt domain type: "kvm" only if a test boot under KVM succeeded, else "qemu". */
  virtType: "qemu" | "kvm";
  /** Absolute path of the guest kernel on the host. */
  kernel: string;
  /** Absolute path of the guest initramfs on the host. */
  initrd: string;
  /** Base kernel command line, e.g. "console=ttyS0 rootfstype=ramfs". */
  cmdline?: string;
  /** Linux bridge the guests attach to (<interface type='bridge'>); none if omitted. */
  bridge?: string;
  /** Emulator path; libvirt picks the default if omitted. */
  emulator?: string;
  /** Machine type, default "pc". */
  machine?: string;
}

export interface HostConnectionOptions {
  /** Give up opening after this many ms (remote URIs can hang). Default 15000. */
  openTimeoutMs?: number;
  /** Required to create domains on qemu hosts. */
  qemu?: QemuGuestConfig;
}

export interface DomainListOptions {
  /** Only domains carrying the malleo metadata element. Default false. */
  managedOnly?: boolean;
}
