// Hand-written shape checks for every body that comes in over a link: a peer (or a theater)
// may be buggy or hostile, so nothing it sends is used before it has been checked here. Each
// guard returns the checked value or a sentence saying what is wrong (never throws).

import type { DeliverMessage, HostedActor } from "./protocol";

/** Longest UAN, VM id, behavior name or address taken from a peer. */
export const MAX_NAME_CHARS = 1_000;
/** Longest list of UANs or actors in one inbound message. */
export const MAX_LIST_ITEMS = 1_000_000;

export type Checked<T> = { ok: true; value: T } | { ok: false; error: string };

const good = <T>(value: T): Checked<T> => ({ ok: true, value });
const bad = <T>(error: string): Checked<T> => ({ ok: false, error });

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

export function isName(value: unknown, max = MAX_NAME_CHARS): value is string {
  return typeof value === "string" && value.length > 0 && value.length <= max;
}

export function isCount(value: unknown): value is number {
  return typeof value === "number" && Number.isSafeInteger(value) && value >= 0;
}

export function isNameList(value: unknown): value is string[] {
  return Array.isArray(value) && value.length <= MAX_LIST_ITEMS && value.every((item) => isName(item));
}

export function isHostedActor(value: unknown): value is HostedActor {
  return (
    isRecord(value) &&
    isName(value.uan) &&
    isName(value.behavior) &&
    (value.stateBytes === undefined || isCount(value.stateBytes))
  );
}

export function isHostedActorList(value: unknown): value is HostedActor[] {
  return Array.isArray(value) && value.length <= MAX_LIST_ITEMS && value.every(isHostedActor);
}

/** A `deliver` as a peer theater (or the Mediator) sends it; the body itself is the application's. */
export function checkDeliver(body: unknown): Checked<DeliverMessage> {
  if (!isRecord(body) || body.type !== "deliver") return bad("not a deliver message");
  if (!isName(body.to)) return bad("deliver: `to` must be a UAN");
  if (body.from !== null && !isName(body.from)) return bad("deliver: `from` must be a UAN or null");
  if (!isCount(body.hops)) return bad("deliver: `hops` must be a count");
  if (body.seq !== undefined && !(isCount(body.seq) && body.seq >= 1)) return bad("deliver: `seq` must be a positive integer");
  return good(body as unknown as DeliverMessage);
}
