// Makes this machine ready for real guests (packages, libvirtd/virtlogd, bridge, guest image)
// or says why it cannot: used by `npm run test:guests` and `npm run bench -- guest-boot`.
import { spawnSync } from "node:child_process";
import path from "node:path";
import { buildGuestImage, type GuestImage } from "./build";

const root = path.resolve(import.meta.dirname, "../..");

export const GUEST_BRIDGE = process.env.MALLEO_BRIDGE ?? "malleo0";
export const GUEST_BRIDGE_CIDR = process.env.MALLEO_BRIDGE_CIDR ?? "10.77.0.1/24";

export type GuestEnvironment = { ok: true; image: GuestImage } | { ok: false; skipped: string };

/** Runs scripts/guest/host-setup.sh then builds the guest image if needed. */
export async function prepareGuestEnvironment(): Promise<GuestEnvironment> {
  if (process.platform !== "linux") return { ok: false, skipped: `not Linux (${process.platform})` };
  const r = spawnSync("bash", [path.join(root, "scripts/guest/host-setup.sh"), "all"], {
    encoding: "utf8",
    stdio: ["ignore", "pipe", "inherit"],
    env: { ...process.env, MALLEO_BRIDGE: GUEST_BRIDGE, MALLEO_BRIDGE_CIDR: GUEST_BRIDGE_CIDR },
  });
  const skipped = /^skipped: (.*)$/m.exec(r.stdout ?? "")?.[1];
  if (r.status === 3 || skipped) return { ok: false, skipped: skipped ?? "host setup refused" };
  if (r.status !== 0) throw new Error(`scripts/guest/host-setup.sh failed with status ${r.status}`);
  return { ok: true, image: await buildGuestImage() };
}

/** Removes the bridge and stops the libvirtd/virtlogd that host-setup.sh itself started. */
export function teardownGuestBridge(): void {
  spawnSync("bash", [path.join(root, "scripts/guest/host-setup.sh"), "teardown"], {
    stdio: ["ignore", "ignore", "inherit"],
    env: { ...process.env, MALLEO_BRIDGE: GUEST_BRIDGE },
  });
}
