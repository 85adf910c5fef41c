import { createHash, hkdfSync, randomBytes } from "node:crypto";
import type { Socket } from "node:net";
import { TLSSocket, connect as tlsConnect } from "node:tls";

// Every Malleo link is TLS with a pre-shared key (TLS 1.2 PSK suites: Node's TLS-PSK does not
// do TLS 1.3), so bytes on the wire are encrypted and integrity-protected and a peer that does
// not hold the key never gets a frame through (a plain-TCP client fails the handshake).
//
// - Mediator link: the key is derived from the VM's secret, with the VM id and a key id as the
//   PSK identity, so the Mediator picks the right secret before a byte of the application
//   protocol is read; `admit` then proves the secret itself (the Mediator keeps only its digest).
// - Theater-to-theater links: the key is derived from the cluster peer key, which a theater
//   gets only once a Mediator admitted it; the peer handshake (peer-auth.ts) runs on top.
//
// Both keys go through HKDF-SHA256 with a label of their own, so neither key is used as is.
// Suites: DHE-PSK-AES256-GCM-SHA384 first (forward secrecy, and AES-GCM runs on the CPU's AES
// instructions: about 2.5 times ChaCha20's throughput on this machine), then
// ECDHE-PSK-CHACHA20-POLY1305 and PSK-AES256-GCM-SHA384. The DHE group is OpenSSL's built-in one
// (`dhparam: "auto"`); the key exchange costs a few ms once per link.

export const LINK_TLS_CIPHERS = "DHE-PSK-AES256-GCM-SHA384:ECDHE-PSK-CHACHA20-POLY1305:PSK-AES256-GCM-SHA384";
const TLS_VERSION = "TLSv1.2" as const;
const MEDIATOR_LINK_LABEL = "malleo-mediator-link-v1";
const PEER_LINK_LABEL = "malleo-peer-link-v1";
const KEY_ID_LABEL = "malleo-key-id-v1";
/** PSK identity of every theater-to-theater link (the key, not the name, is what is proven). */
export const PEER_LINK_IDENTITY = "malleo-peer";

/** SHA-256 of a VM secret: what the Mediator keeps (and Postgres stores) instead of the secret. */
export function secretDigest(secret: string): Buffer {
  return createHash("sha256").update(secret).digest();
}

/** A short public name for a secret's digest, sent in the clear as part of the PSK identity. */
export function secretKeyId(digest: Uint8Array): string {
  return createHash("sha256").update(KEY_ID_LABEL).update(digest).digest("hex").slice(0, 16);
}

/** The PSK identity a theater of `vmId` presents: `<vmId> <key id>`. */
export function mediatorLinkIdentity(vmId: string, digest: Uint8Array): string {
  return `${vmId} ${secretKeyId(digest)}`;
}

/** Splits a Mediator-link PSK identity; null if it is not one. */
export function parseMediatorLinkIdentity(identity: string): { vmId: string; keyId: string } | null {
  const match = /^(\S{1,100}) ([0-9a-f]{16})$/.exec(identity);
  return match ? { vmId: match[1]!, keyId: match[2]! } : null;
}

/** The Mediator-link PSK for a VM whose secret has this digest. */
export function mediatorLinkKey(vmId: string, digest: Uint8Array): Buffer {
  return Buffer.from(hkdfSync("sha256", digest, MEDIATOR_LINK_LABEL, vmId, 32));
}

/** The theater-to-theater PSK for a cluster peer key. */
export function peerLinkKey(clusterKey: Uint8Array): Buffer {
  return Buffer.from(hkdfSync("sha256", clusterKey, PEER_LINK_LABEL, "", 32));
}

/**
 * A key that matches nothing: answered for a known VM with an unknown key id, so that the
 * handshake fails on the key (the theater hears "wrong secret") rather than on the identity
 * (which it reads as "no theater expected").
 */
export function unmatchableKey(): Buffer {
  return randomBytes(32);
}

/**
 * Server side: the TLS socket over an accepted connection. `keyFor(identity)` returns the PSK
 * for that identity, or null to refuse it.
 */
export function acceptTls(socket: Socket, keyFor: (identity: string) => Buffer | null): TLSSocket {
  return new TLSSocket(socket, {
    isServer: true,
    dhparam: "auto",
    ciphers: LINK_TLS_CIPHERS,
    minVersion: TLS_VERSION,
    maxVersion: TLS_VERSION,
    pskCallback: (_socket: TLSSocket, identity: string) => keyFor(identity),
  } as ConstructorParameters<typeof TLSSocket>[1]);
}

/** Client side: dials `host:port` and proves `key` as `identity`; emits `secureConnect` when ready. */
export function connectTls(options: { host: string; port: number; identity: string; key: Buffer }): TLSSocket {
  return tlsConnect({
    host: options.host,
    port: options.port,
    ciphers: LINK_TLS_CIPHERS,
    minVersion: TLS_VERSION,
    maxVersion: TLS_VERSION,
    // PSK suites carry no certificate: the key is what authenticates the server.
    checkServerIdentity: () => undefined,
    pskCallback: () => ({ psk: options.key, identity: options.identity }),
  });
}

/** The TLS alert a client gets when the server does not know its PSK identity (VM not expected). */
export function isUnknownIdentityAlert(error: unknown): boolean {
  return (error as { code?: unknown })?.code === "ERR_SSL_TLSV1_ALERT_UNKNOWN_PSK_IDENTITY";
}

/** The TLS alerts a client gets when the server holds another key for its identity (wrong secret). */
export function isWrongKeyAlert(error: unknown): boolean {
  const code = (error as { code?: unknown })?.code;
  return code === "ERR_SSL_SSLV3_ALERT_BAD_RECORD_MAC" || code === "ERR_SSL_TLSV1_ALERT_DECRYPT_ERROR";
}
