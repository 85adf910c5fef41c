import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync } from "node:fs";
import path from "node:path";
import { AppError } from "@malleo/core";
import {
  allocateGuestAddress,
  GUEST_BASE_CMDLINE,
  guestKernelArgs,
  guestMacAddress,
  parseBridgeCidr,
  probeAccelerator,
  type AcceleratorChoice,
  type GuestNetwork,
  type HostConnection,
} from "@malleo/hypervisor";
import type { Mediator } from "@malleo/mediator";
import type { ProvisionRequest } from "@malleo/workflows/worker";
import type { Logger } from "./log";
import type { Provisioner } from "./provisioner";

export interface GuestSettings {
  /** Directory of the built guest image (vmlinuz, initrd.img): `npm run guest:build`. */
  imageDir: string;
  bridge: string;
  /** The host's address on the bridge with its prefix, e.g. 10.77.0.1/24. */
  bridgeCidr: string;
  /** "auto" probes KVM with a test boot and falls back to QEMU software emulation. */
  accelerator: "auto" | "kvm" | "qemu";
}

/**
 * Real guests on qemu hosts: each VM is a libvirt domain booting the project's guest image;
 * its kernel command line tells the guest's /init its address, VM id, per-VM secret and the
 * Mediator, and the theater inside registers at boot, when the Mediator replaces that boot
 * secret with a one-time one. A restarted worker reads the boot secret back from the running
 * domain's command line and finds the rotated one in Postgres (Mediator.readmitTheater), so a
 * guest that is still up is adopted, not rebooted.
 */
export class GuestTheaters implements Provisioner {
  private readonly net: GuestNetwork;
  private readonly reserved = new Set<string>();
  private readonly accelerators = new Map<string, AcceleratorChoice>();

  constructor(
    private readonly mediator: Mediator,
    private readonly opts: {
      guest: GuestSettings;
      /** The Mediator's listen address (known once it listens); guests reach its port on the bridge. */
      mediatorAddress: () => string;
      theaterTimeoutMs: number;
      dataDir: string;
      log: Logger;
    },
  ) {
    this.net = parseBridgeCidr(opts.guest.bridge, opts.guest.bridgeCidr);
  }

  /** The accelerator chosen for each qemu host, with the reason (for the UI and the logs). */
  accelerator(hostId: string): AcceleratorChoice | undefined {
    return this.accelerators.get(hostId);
  }

  private image(): { kernel: string; initrd: string } {
    const kernel = path.join(this.opts.guest.imageDir, "vmlinuz");
    const initrd = path.join(this.opts.guest.imageDir, "initrd.img");
    if (!existsSync(kernel) || !existsSync(initrd))
      throw new AppError("HYPERVISOR_FAILED", `no guest image in ${this.opts.guest.imageDir}: run \`npm run guest:build\``, {});
    return { kernel, initrd };
  }

  /** Decides KVM or software emulation for a freshly opened qemu host and configures its guests. */
  async prepareHost(conn: HostConnection): Promise<AcceleratorChoice> {
    const base = { ...this.image(), cmdline: GUEST_BASE_CMDLINE, bridge: this.net.bridge };
    const logs = path.join(this.opts.dataDir, "logs");
    mkdirSync(logs, { recursive: true });
    const choice: AcceleratorChoice =
      this.opts.guest.accelerator === "auto"
        ? await probeAccelerator(conn, base, { consoleLog: path.join(logs, `kvm-probe-${conn.spec.id}.log`) })
        : {
            virtType: this.opts.guest.accelerator,
            reason: `configured (MALLEO_GUEST_ACCELERATOR=${this.opts.guest.accelerator})`,
          };
    conn.setGuestConfig({ ...base, virtType: choice.virtType });
    this.accelerators.set(conn.spec.id, choice);
    this.opts.log({ event: "host accelerator", hostId: conn.spec.id, accelerator: choice.virtType, reason: choice.reason });
    return choice;
  }

  private mediatorForGuests(): string {
    const port = this.opts.mediatorAddress().split(":").at(-1);
    return `${this.net.gateway}:${port}`;
  }

  /** Boots (or adopts) the VM's guest and waits for its theater to register. Idempotent. */
  async provision(conn: HostConnection, vm: ProvisionRequest): Promise<void> {
    if (!conn.guestConfig) await this.prepareHost(conn);
    if (this.mediator.theater(vm.id)) return;
    const existing = await conn.domainGet(vm.name);
    let ip: string;
    if (existing) {
      const secret = /\bmalleo\.secret=(\S+)/.exec(await conn.domainGetXml(vm.name))?.[1];
      ip = existing.metadata.ip ?? "";
      if (!secret || !ip)
        throw new AppError("HYPERVISOR_FAILED", `domain ${vm.name} on ${conn.spec.id} is not a Malleo guest`, {});
      // A running guest's theater registered before: the secret it was given then (rotated, in
      // Postgres) is expected, not the boot secret. A guest booted again starts over with it.
      if (existing.active) await this.mediator.readmitTheater(vm.id, secret);
      else this.mediator.expectTheater(vm.id, secret);
      if (!existing.active) await conn.domainStart(vm.name);
      this.opts.log({ event: "guest adopted", vmId: vm.id, name: vm.name, hostId: conn.spec.id, ip });
    } else {
      const used = (await conn.domainList()).map((d) => d.metadata.ip ?? "");
      const free = allocateGuestAddress(this.net, [...used, ...this.reserved]);
      if (!free)
        throw new AppError("CAPACITY_EXCEEDED", `no free guest address on bridge ${this.net.bridge} for ${vm.name}`, {
          hostId: conn.spec.id,
        });
      ip = free;
      this.reserved.add(ip);
      const secret = randomBytes(24).toString("hex");
      // A new guest brings no actor: it gets them from spawns and migrations the Mediator drives.
      this.mediator.expectTheater(vm.id, secret, { actors: [] });
      try {
        await conn.domainCreate({
          name: vm.name,
          uuid: vm.id,
          vcpus: vm.vcpus,
          memoryMiB: vm.memoryMiB,
          metadata: { vmId: vm.id, application: vm.applicationId, ip },
          guest: {
            kernelArgs: guestKernelArgs({
              vmId: vm.id,
              secret,
              mediator: this.mediatorForGuests(),
              ipCidr: `${ip}/${this.net.prefix}`,
            }),
            macAddress: guestMacAddress(vm.id),
            consoleLog: path.join(this.opts.dataDir, "logs", `guest-${vm.name}.log`),
          },
        });
      } catch (e) {
        throw new AppError("HYPERVISOR_FAILED", `host ${conn.spec.id} refused to create ${vm.name}: ${(e as Error).message}`, {
          hostId: conn.spec.id,
        });
      } finally {
        this.reserved.delete(ip);
      }
      this.opts.log({
        event: "guest created",
        vmId: vm.id,
        name: vm.name,
        hostId: conn.spec.id,
        ip,
        accelerator: conn.guestConfig?.virtType,
      });
    }
    const t0 = Date.now();
    try {
      await this.mediator.awaitTheater(vm.id, this.opts.theaterTimeoutMs);
    } catch {
      await conn.domainDestroy(vm.name).catch(() => undefined);
      throw new AppError(
        "THEATER_TIMEOUT",
        `the theater of ${vm.name} (guest ${ip} on ${conn.spec.id}) did not register within ${this.opts.theaterTimeoutMs} ms`,
        { vmId: vm.id },
      );
    }
    this.opts.log({ event: "guest theater registered", vmId: vm.id, name: vm.name, ms: Date.now() - t0 });
  }
}
