/**
 * The address of the socket a request came on, as the console's own server (apps/web/server.mjs)
 * records it: in a header whose name that process chose at random when it started and keeps in
 * its globals, so that no client can send it. Undefined under a plain `next start` (no name).
 */
export function socketAddressOf(req: Request): string | undefined {
  const name = (globalThis as Record<symbol, unknown>)[Symbol.for("malleo.socketAddressHeader")];
  if (typeof name !== "string") return undefined;
  return req.headers.get(name) || undefined;
}
