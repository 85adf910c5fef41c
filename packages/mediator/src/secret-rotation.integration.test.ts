// One-time VM secrets: the Mediator issues a fresh secret at each registration (kept by its
// secret store first), the theater proves that one from then on, and the secret it registered
// with — the boot secret on a guest's kernel command line — is refused once it confirmed.
// In-process theaters against real Mediators on loopback.
import { afterEach, describe, expect, it } from "vitest";
import { RECORDER_BEHAVIOR, Theater, TheaterRefusedError, builtinBehaviors, parseAddress, secretDigest } from "@malleo/actors";
import { waitUntil } from "@malleo/testing";
import { Mediator, type TheaterSecretStore, type TheaterSecrets } from "./mediator";
import { mediatorTlsSocket } from "./testing";

const BOOT = "boot-secret-on-the-kernel-command-line";

/** Stands in for Postgres: what a restarted worker reads back. */
class MemorySecretStore implements TheaterSecretStore {
  readonly saved = new Map<string, TheaterSecrets>();
  async save(vmId: string, secrets: TheaterSecrets): Promise<void> {
    this.saved.set(vmId, { boot: Buffer.from(secrets.boot), accepted: secrets.accepted.map((d) => Buffer.from(d)) });
  }
  async load(vmId: string): Promise<TheaterSecrets | null> {
    return this.saved.get(vmId) ?? null;
  }
  /** The secret this VM's theater proves now has been confirmed, and it is not the boot secret. */
  rotatedAndConfirmed(vmId: string, not: Buffer = secretDigest(BOOT)): boolean {
    const secrets = this.saved.get(vmId);
    return secrets?.accepted.length === 1 && !secrets.accepted[0]!.equals(not);
  }
}

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

async function startMediator(store: TheaterSecretStore, port = 0): Promise<{ mediator: Mediator; address: string }> {
  const mediator = new Mediator({ port, secretStore: store });
  const { address } = await mediator.start();
  cleanups.push(() => mediator.stop());
  return { mediator, address };
}

function theater(vmId: string, mediator: string, secret: string): Theater {
  const t = new Theater({ vmId, mediator, secret, behaviors: builtinBehaviors, reconnectDelayMs: 50, log: () => {} });
  cleanups.push(() => t.stop());
  return t;
}

describe("one-time theater secrets", () => {
  it("issues a fresh secret at first registration; once confirmed, the boot secret is refused", async () => {
    const store = new MemorySecretStore();
    const { mediator, address } = await startMediator(store);
    mediator.expectTheater("vm-rot", BOOT, { actors: [] });
    await theater("vm-rot", address, BOOT).start();
    await waitUntil("the rotated secret to be saved and confirmed", () => store.rotatedAndConfirmed("vm-rot"));
    expect(store.saved.get("vm-rot")!.boot.equals(secretDigest(BOOT))).toBe(true);

    // Someone who read the boot secret: refused at TLS (the key is the rotated secret's now)…
    await expect(mediatorTlsSocket(address, "vm-rot", BOOT)).rejects.toMatchObject({
      code: "ERR_SSL_SSLV3_ALERT_BAD_RECORD_MAC",
    });
    // …and a theater started with it is refused as having the wrong secret.
    const impostor = new Theater({
      vmId: "vm-rot",
      mediator: address,
      secret: BOOT,
      behaviors: builtinBehaviors,
      registrationTimeoutMs: 5_000,
      log: () => {},
    });
    const refused = await impostor.start().then(
      () => null,
      (error: Error) => error,
    );
    expect(refused).toBeInstanceOf(TheaterRefusedError);
    expect(refused?.message).toContain("wrong secret for VM vm-rot");
    expect(mediator.theater("vm-rot")).toBeDefined(); // the real one is untouched
  });

  it("a restarted Mediator re-admits the theater with its rotated secret, rotates it again, and refuses the boot secret", async () => {
    const store = new MemorySecretStore();
    const first = await startMediator(store);
    first.mediator.expectTheater("vm-again", BOOT, { actors: [] });
    const survivor = theater("vm-again", first.address, BOOT);
    await survivor.start();
    const uan = "uan://probe/rotated";
    await first.mediator.spawnActors("vm-again", [{ uan, behavior: RECORDER_BEHAVIOR, init: null }]);
    await waitUntil("the first rotation", () => store.rotatedAndConfirmed("vm-again"));
    const firstRotation = store.saved.get("vm-again")!.accepted[0]!;

    // A worker restart: a new Mediator on the same port, told only the boot secret (as a restarted
    // worker reads it from the theater record or the domain XML), finds the rotated one in the store.
    await first.mediator.stop();
    const second = await startMediator(store, parseAddress(first.address).port);
    await second.mediator.readmitTheater("vm-again", BOOT, { actors: [uan] });
    await second.mediator.awaitTheater("vm-again", 10_000);
    expect(second.mediator.listActors("vm-again").map((actor) => actor.uan)).toEqual([uan]);
    await waitUntil("a second rotation", () => store.rotatedAndConfirmed("vm-again", firstRotation));
    await expect(mediatorTlsSocket(second.address, "vm-again", BOOT)).rejects.toMatchObject({
      code: "ERR_SSL_SSLV3_ALERT_BAD_RECORD_MAC",
    });

    // Rotations of an earlier theater of the VM (another boot secret) are not taken for this one's.
    const third = new Mediator({ secretStore: store });
    await third.readmitTheater("vm-again", "the boot secret of a newer theater");
    const { address } = await third.start();
    cleanups.push(() => third.stop());
    (await mediatorTlsSocket(address, "vm-again", "the boot secret of a newer theater")).destroy();
  });

  it("without a secret store, secrets are not rotated (the boot secret keeps working)", async () => {
    const mediator = new Mediator();
    const { address } = await mediator.start();
    cleanups.push(() => mediator.stop());
    mediator.expectTheater("vm-plain", BOOT, { actors: [] });
    await theater("vm-plain", address, BOOT).start();
    (await mediatorTlsSocket(address, "vm-plain", BOOT)).destroy();
  });
});
