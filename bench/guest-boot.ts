// Guest boot: from libvirt domain create to the guest's theater registered with the Mediator,
// one guest and three at once, under whichever accelerator the probe chose. The boot is split
// into phases read from the host's clock and the guest's console: libvirt's domain create, the
// firmware and kernel loading up to the kernel's first instant (the /init banner's time minus the
// kernel uptime it prints; with `quiet` the kernel itself prints nothing before that), the kernel
// up to /init, /init up to the theater's start, and the theater up to its registration.
// Published reference: Firecracker boots to init in ≤ 125 ms on KVM (its SPEC.md); this machine
// has no working KVM, so guests run under QEMU's software emulation and the goals are 5 s for one
// guest and 10 s for three at once.
import { randomBytes, randomUUID } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, rmSync } from "node:fs";
import path from "node:path";
import {
  allocateGuestAddress,
  GUEST_BASE_CMDLINE,
  guestKernelArgs,
  guestMacAddress,
  HostConnection,
  parseBridgeCidr,
  probeAccelerator,
} from "@malleo/hypervisor";
import { Mediator } from "@malleo/mediator";
import { GUEST_BRIDGE, GUEST_BRIDGE_CIDR, prepareGuestEnvironment, teardownGuestBridge } from "../scripts/guest/environment";
import type { BenchResult } from "./run";

const FIRECRACKER_BOOT_TO_INIT_MS = 125;

async function waitForConsole(file: string, needle: string, deadline: number): Promise<number> {
  while (Date.now() < deadline) {
    if (existsSync(file) && readFileSync(file, "utf8").includes(needle)) return Date.now();
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`console ${file} did not show ${needle} in time`);
}

export async function run(): Promise<BenchResult> {
  const env = await prepareGuestEnvironment();
  if (!env.ok) {
    console.log(`skipped: ${env.skipped}`);
    return { figures: { skipped: env.skipped }, checks: [] };
  }
  const net = parseBridgeCidr(GUEST_BRIDGE, GUEST_BRIDGE_CIDR);
  const logs = path.join(env.image.dir, "bench-console");
  mkdirSync(logs, { recursive: true });
  const base = { kernel: env.image.kernel, initrd: env.image.initrd, cmdline: GUEST_BASE_CMDLINE, bridge: net.bridge };
  const host = await HostConnection.open({ id: "bench-local", uri: "qemu:///system" });
  const accel = await probeAccelerator(host, base, { consoleLog: path.join(logs, "kvm-probe.log") });
  console.log(`accelerator: ${accel.virtType} (${accel.reason})`);
  host.setGuestConfig({ ...base, virtType: accel.virtType });
  const mediator = new Mediator({ host: net.gateway });
  const { address } = await mediator.start();
  const used = new Set<string>();
  const names: string[] = [];

  interface Boot {
    registeredMs: number;
    createdMs: number;
    kernelStartMs: number;
    initMs: number;
    theaterStartMs: number;
  }

  async function bootGuest(label: string): Promise<Boot> {
    const vmId = randomUUID();
    const secret = randomBytes(16).toString("hex");
    const ip = allocateGuestAddress(net, used)!;
    used.add(ip);
    const consoleLog = path.join(logs, `${label}.log`);
    rmSync(consoleLog, { force: true });
    mediator.expectTheater(vmId, secret);
    const name = `malleo-bench-${label}`;
    names.push(name);
    const t0 = Date.now();
    await host.domainCreate({
      name,
      uuid: vmId,
      vcpus: 1,
      memoryMiB: 256,
      metadata: { vmId, bench: "guest-boot" },
      guest: {
        kernelArgs: guestKernelArgs({ vmId, secret, mediator: address, ipCidr: `${ip}/${net.prefix}` }),
        macAddress: guestMacAddress(vmId),
        consoleLog,
      },
    });
    const createdMs = Date.now() - t0;
    const deadline = t0 + 60_000;
    const [init] = await Promise.all([
      waitForConsole(consoleLog, "malleo-init: start", deadline),
      mediator.awaitTheater(vmId, 60_000),
    ]);
    const registeredMs = Date.now() - t0;
    // The guest's own clock: kernel uptime at the /init banner and at the theater's start.
    const text = readFileSync(consoleLog, "utf8");
    const uptimeAtInit = Number(/malleo-init: start \(kernel up ([\d.]+) s\)/.exec(text)?.[1]) * 1000;
    const uptimeAtTheater = Number(/malleo-init: starting the theater at ([\d.]+) s/.exec(text)?.[1]) * 1000;
    const initMs = init - t0;
    const kernelStartMs = initMs - uptimeAtInit;
    return { registeredMs, createdMs, kernelStartMs, initMs, theaterStartMs: kernelStartMs + uptimeAtTheater };
  }

  try {
    const one = await bootGuest("one");
    await Promise.all(names.splice(0).map((n) => host.domainDestroy(n)));
    used.clear();
    const t0 = Date.now();
    const three = await Promise.all(["a", "b", "c"].map((l) => bootGuest(`three-${l}`)));
    const threeMs = Date.now() - t0;
    return {
      figures: {
        accelerator: accel.virtType,
        kernel: path.basename(env.image.kernel),
        "one guest: create → domain running ms": one.createdMs,
        "one guest: create → kernel start ms": Math.round(one.kernelStartMs),
        "one guest: create → /init ms": one.initMs,
        "one guest: create → theater started ms": Math.round(one.theaterStartMs),
        "one guest: create → theater registered ms": one.registeredMs,
        "three at once: all registered ms": threeMs,
        "three at once: slowest /init ms": Math.max(...three.map((g) => g.initMs)),
        "Firecracker published boot to init ms (KVM)": FIRECRACKER_BOOT_TO_INIT_MS,
        "load average (1 min) at the end": Number(readFileSync("/proc/loadavg", "utf8").split(" ")[0]),
      },
      checks: [
        { what: "one guest registered (ms)", value: one.registeredMs, goal: 5000, better: "lower" },
        { what: "three guests registered (ms)", value: threeMs, goal: 10_000, better: "lower" },
      ],
    };
  } finally {
    await Promise.all(names.map((n) => host.domainDestroy(n).catch(() => undefined)));
    await mediator.stop();
    await host.close();
    teardownGuestBridge();
  }
}
