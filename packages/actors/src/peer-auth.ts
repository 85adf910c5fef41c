import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import { Channel, type ChannelHandlers } from "./channel";
import { PEER_LINK_IDENTITY, connectTls, isUnknownIdentityAlert, isWrongKeyAlert, peerLinkKey } from "./link-tls";
import { MAX_MESSAGE_FRAME_BYTES } from "./framing";
import { bodyType } from "./protocol";
import { parseAddress } from "./names";

// Theater-to-theater links start with a challenge–response handshake proving the cluster peer
// key, which the Mediator hands only to theaters it admitted (per-VM secret). Both sides prove
// it, once per link: after the handshake frames carry no MAC, so messages cost nothing extra.
//
//   acceptor → dialer   peer-challenge { nonce: nA }
//   dialer   → acceptor peer-auth      { vmId, address, nonce: nD, proof: HMAC(key, "dialer"   ‖ nA ‖ nD) }
//   acceptor → dialer   peer-welcome   { proof: HMAC(key, "acceptor" ‖ nD ‖ nA) }   (or peer-refused { reason })
//
// The dialer sends nothing else until it has checked the welcome, and the acceptor refuses (and
// closes) a link on which anything but `peer-auth` comes first, so no actor message or migration
// is ever taken from a peer that has not proven the key. The handshake travels as JSON frames
// (nonces and proofs in base64) and both sides take nothing else until it has succeeded, so no
// byte from an unauthenticated peer reaches `v8.deserialize`.

export const PEER_NONCE_BYTES = 32;
/** A peer key shorter than this is refused: it must not be guessable. */
export const MIN_PEER_KEY_BYTES = 16;
export const PEER_HANDSHAKE_TIMEOUT_MS = 10_000;
/** Handshake frames are a few hundred bytes: an untrusted peer cannot make us buffer more. */
const HANDSHAKE_MAX_FRAME_BYTES = 16 * 1024;
const DIALER_LABEL = "malleo-peer-v1 dialer";
const ACCEPTOR_LABEL = "malleo-peer-v1 acceptor";

/** Who a dialing theater says it is (for the acceptor's logs; the key is what is proven). */
export interface PeerIdentity {
  vmId: string;
  address: string;
}

/** Nonces and proofs are base64 strings: handshake frames are JSON. */
export interface PeerChallenge {
  type: "peer-challenge";
  nonce: string;
}
export interface PeerAuth extends PeerIdentity {
  type: "peer-auth";
  nonce: string;
  proof: string;
}
export interface PeerWelcome {
  type: "peer-welcome";
  proof: string;
}
export interface PeerRefused {
  type: "peer-refused";
  reason: string;
}

function proof(key: Uint8Array, label: string, first: Uint8Array, second: Uint8Array): Buffer {
  return createHmac("sha256", key).update(label).update(first).update(second).digest();
}

const BASE64 = /^[A-Za-z0-9+/]{1,200}={0,2}$/;

/** The bytes of a base64 string of exactly `length` bytes, or null. */
function bytesOf(value: unknown, length: number): Buffer | null {
  if (typeof value !== "string" || !BASE64.test(value)) return null;
  const bytes = Buffer.from(value, "base64");
  return bytes.length === length ? bytes : null;
}

function sameProof(expected: Buffer, given: unknown): boolean {
  const bytes = bytesOf(given, expected.length);
  return bytes !== null && timingSafeEqual(expected, bytes);
}

function nonceOf(value: unknown): Buffer | null {
  return bytesOf(value, PEER_NONCE_BYTES);
}

export class PeerRefusedError extends Error {}

/** The dialer's answer to an acceptor's challenge: its own nonce and its proof of the key over both. */
export function answerPeerChallenge(
  key: Uint8Array,
  self: PeerIdentity,
  acceptorNonce: Uint8Array,
): { auth: PeerAuth; dialerNonce: Buffer } {
  const dialerNonce = randomBytes(PEER_NONCE_BYTES);
  const auth: PeerAuth = {
    type: "peer-auth",
    ...self,
    nonce: dialerNonce.toString("base64"),
    proof: proof(key, DIALER_LABEL, acceptorNonce, dialerNonce).toString("base64"),
  };
  return { auth, dialerNonce };
}

export interface ConnectToPeerOptions {
  address: string;
  key: Uint8Array;
  self: PeerIdentity;
  /** Installed once the handshake has succeeded (before any later frame is dispatched). */
  handlers: ChannelHandlers;
  timeoutMs?: number;
}

/**
 * Dialer side: connects, proves the key, checks the acceptor's proof, and resolves with the
 * channel ready for actor traffic. Rejects (link closed) if the peer is unreachable, refuses us,
 * or cannot prove the key itself.
 */
export function connectToPeer(options: ConnectToPeerOptions): Promise<Channel> {
  const { host, port } = parseAddress(options.address);
  const timeoutMs = options.timeoutMs ?? PEER_HANDSHAKE_TIMEOUT_MS;
  return new Promise<Channel>((resolve, reject) => {
    let settled = false;
    let channel: Channel | null = null;
    // TLS on the cluster peer key (see link-tls.ts), then the handshake below on top of it.
    const socket = connectTls({ host, port, identity: PEER_LINK_IDENTITY, key: peerLinkKey(options.key) });
    const fail = (error: Error) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (channel) channel.destroy(error.message);
      else socket.destroy();
      reject(error);
    };
    const timer = setTimeout(
      () => fail(new Error(`no handshake with peer ${options.address} within ${timeoutMs} ms`)),
      timeoutMs,
    );
    // Before the TLS handshake is done, an alert or a close from the acceptor is its refusal
    // (another cluster key, or it is not admitted yet); anything else (no route…) is passed on.
    const failBeforeConnect = (error: Error) => {
      const code = (error as { code?: string }).code;
      if (isUnknownIdentityAlert(error) || isWrongKeyAlert(error) || code === "ECONNRESET")
        fail(
          new PeerRefusedError(
            `peer ${options.address} refused the link: TLS on another cluster key, or the peer is not admitted yet (${code})`,
          ),
        );
      else fail(error);
    };
    socket.once("error", failBeforeConnect);
    socket.once("secureConnect", () => {
      socket.off("error", failBeforeConnect);
      let dialerNonce: Uint8Array | null = null;
      let acceptorNonce: Uint8Array | null = null;
      const ready: Channel = new Channel(socket, {
        onMessage: (body, self) => {
          if (settled) return;
          const type = bodyType(body);
          const challenged = type === "peer-challenge" ? nonceOf((body as PeerChallenge).nonce) : null;
          if (challenged && dialerNonce === null) {
            acceptorNonce = challenged;
            const answer = answerPeerChallenge(options.key, options.self, acceptorNonce);
            dialerNonce = answer.dialerNonce;
            self.sendJson(answer.auth);
            return;
          }
          if (type === "peer-welcome" && dialerNonce && acceptorNonce) {
            const expected = proof(options.key, ACCEPTOR_LABEL, dialerNonce, acceptorNonce);
            if (!sameProof(expected, (body as PeerWelcome).proof)) {
              fail(new PeerRefusedError(`peer ${options.address} could not prove the cluster key`));
              return;
            }
            settled = true;
            clearTimeout(timer);
            self.trust({ frameBytes: MAX_MESSAGE_FRAME_BYTES });
            self.setHandlers(options.handlers); // synchronously: frames behind the welcome go to them
            resolve(self);
            return;
          }
          if (type === "peer-refused") {
            const reason = String((body as PeerRefused).reason).slice(0, 500);
            fail(new PeerRefusedError(`peer ${options.address} refused the link: ${reason}`));
            return;
          }
          fail(
            new Error(
              `peer ${options.address} broke the handshake with ${JSON.stringify(type?.slice(0, 100) ?? "an untyped frame")}`,
            ),
          );
        },
        onRequest: () => {
          throw new Error("handshake not finished");
        },
        onClose: (reason) => fail(new Error(`peer ${options.address} closed the link during the handshake: ${reason}`)),
      });
      ready.requireJsonUntilTrusted(HANDSHAKE_MAX_FRAME_BYTES);
      channel = ready;
    });
  });
}

export interface AcceptPeerOptions {
  /** The cluster peer key; null while this theater has not been admitted (every peer is refused). */
  key: Uint8Array | null;
  timeoutMs?: number;
  /**
   * Asked once the peer proved the key, before it is welcomed: a reason refuses the link (the
   * dialer hands back what it queued and routes it elsewhere). A stopping theater refuses here.
   */
  refuseAfterProof?(): string | null;
  /** The peer proved the key: returns the handlers for its traffic (installed synchronously). */
  onAuthenticated(peer: PeerIdentity): ChannelHandlers;
  /** The link was refused and is being closed; `claimed` is what the peer said it was, if anything. */
  onRefused(reason: string, claimed: Partial<PeerIdentity>): void;
}

/**
 * Acceptor side, on a fresh incoming channel: challenges the peer and refuses the link (error
 * answer for a request, then close) on anything but a valid proof.
 */
export function acceptPeer(channel: Channel, options: AcceptPeerOptions): void {
  const key = options.key;
  let done = false;
  const refuse = (reason: string, claimed: Partial<PeerIdentity> = {}): void => {
    if (done) return;
    done = true;
    clearTimeout(timer);
    options.onRefused(reason, claimed);
    channel.socket.pause(); // read nothing more from it
    channel.sendJson({ type: "peer-refused", reason } satisfies PeerRefused);
    // After this turn, so an error answer to a request still goes out first; a peer that does
    // not close its side is cut off shortly after.
    setImmediate(() => {
      void channel.end(`peer refused: ${reason}`);
      setTimeout(() => channel.destroy(`peer refused: ${reason}`), 2_000).unref();
    });
  };
  channel.requireJsonUntilTrusted(HANDSHAKE_MAX_FRAME_BYTES);
  const timeoutMs = options.timeoutMs ?? PEER_HANDSHAKE_TIMEOUT_MS;
  const timer = setTimeout(() => refuse(`no handshake within ${timeoutMs} ms`), timeoutMs);
  const acceptorNonce = randomBytes(PEER_NONCE_BYTES);
  channel.setHandlers({
    onMessage: (body) => {
      if (done) return;
      const type = bodyType(body);
      if (type !== "peer-auth") {
        refuse(`${JSON.stringify(type?.slice(0, 100) ?? "untyped")} sent before the handshake`);
        return;
      }
      const auth = body as Partial<PeerAuth>;
      const claimed: Partial<PeerIdentity> = {
        vmId: typeof auth.vmId === "string" ? auth.vmId.slice(0, 200) : undefined,
        address: typeof auth.address === "string" ? auth.address.slice(0, 200) : undefined,
      };
      if (!key) {
        refuse("this theater has not been admitted by a Mediator yet", claimed);
        return;
      }
      const dialerNonce = nonceOf(auth.nonce);
      if (!dialerNonce || !sameProof(proof(key, DIALER_LABEL, acceptorNonce, dialerNonce), auth.proof)) {
        refuse("wrong proof of the cluster peer key", claimed);
        return;
      }
      const late = options.refuseAfterProof?.() ?? null;
      if (late) {
        refuse(late, claimed);
        return;
      }
      done = true;
      clearTimeout(timer);
      channel.sendJson({
        type: "peer-welcome",
        proof: proof(key, ACCEPTOR_LABEL, dialerNonce, acceptorNonce).toString("base64"),
      } satisfies PeerWelcome);
      channel.trust({ frameBytes: MAX_MESSAGE_FRAME_BYTES });
      channel.setHandlers(options.onAuthenticated({ vmId: claimed.vmId ?? "?", address: claimed.address ?? "?" }));
    },
    onRequest: (body) => {
      const type = bodyType(body);
      const reason = `request ${JSON.stringify(type?.slice(0, 100) ?? "untyped")} sent before the handshake`;
      refuse(reason);
      throw new Error(`peer refused: ${reason}`);
    },
    onClose: () => clearTimeout(timer),
  });
  if (!key) {
    refuse("this theater has not been admitted by a Mediator yet");
    return;
  }
  channel.sendJson({ type: "peer-challenge", nonce: acceptorNonce.toString("base64") } satisfies PeerChallenge);
}
