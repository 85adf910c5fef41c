import type { HostConnection } from "@malleo/hypervisor";
import type { ProvisionRequest } from "@malleo/workflows/worker";

/**
 * How a VM comes to exist on one kind of host, with its theater registered: the simulated path
 * (a test-driver domain and a local theater process, `SimulatedProvisioner`) and the QEMU path
 * (a guest booted from the project's image, `GuestTheaters`) both implement it.
 */
export interface Provisioner {
  /** Makes the VM's domain and theater exist and waits for the theater to register. Idempotent. */
  provision(conn: HostConnection, vm: ProvisionRequest): Promise<void>;
  /** Readies a freshly opened host of this kind (an accelerator probe, domains rebuilt, …). */
  prepareHost?(conn: HostConnection): Promise<unknown>;
}
