import { z } from "zod";
import { hostUpdateInput, hostUriPolicyProblem, hostUriProblem, type HostUriPolicy } from "@malleo/core";
import { hostRegister, type Db } from "@malleo/db";

const configuredHosts = z.array(
  z.object({
    id: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/, { error: "host id: letters, digits, _ . -" }),
    uri: z.string().min(1),
    vmQuota: z.number().int().min(0),
    // Optional: absent leaves the ratios as they are in Postgres (e.g. changed from the UI).
    cpuOvercommit: hostUpdateInput.shape.cpuOvercommit,
    memoryOvercommit: hostUpdateInput.shape.memoryOvercommit,
  }),
);
export type ConfiguredHost = z.infer<typeof configuredHosts>[number];

/**
 * Parses MALLEO_HOSTS: a JSON array of {"id","uri","vmQuota"} with optional "cpuOvercommit" and
 * "memoryOvercommit", e.g. [{"id":"pm-a","uri":"qemu:///system","vmQuota":4,"cpuOvercommit":2}].
 * Throws a message naming the bad entry.
 */
export function parseConfiguredHosts(json: string | undefined, policy?: HostUriPolicy): ConfiguredHost[] {
  if (!json) return [];
  let raw: unknown;
  try {
    raw = JSON.parse(json);
  } catch (e) {
    throw new Error(`MALLEO_HOSTS is not JSON: ${(e as Error).message}`);
  }
  const parsed = configuredHosts.safeParse(raw);
  if (!parsed.success)
    throw new Error(`MALLEO_HOSTS: ${parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ")}`);
  for (const h of parsed.data) {
    const problem = hostUriProblem(h.uri) ?? (policy ? hostUriPolicyProblem(h.uri, policy) : null);
    if (problem) throw new Error(`MALLEO_HOSTS entry ${h.id}: uri ${problem}`);
  }
  return parsed.data;
}

/** Upserts the configured hosts; their capacity is read from libvirt by the reconciler. */
export async function registerConfiguredHosts(db: Db, hosts: ConfiguredHost[]): Promise<void> {
  for (const h of hosts) await hostRegister(db, h);
}
