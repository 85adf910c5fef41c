// The console's HTTP server: Next.js's own request handler (what `next start` runs) behind a
// Node server of ours, so that the API knows each request's socket address. Next.js does not
// give route handlers the socket, and the sign-in throttle needs the client's address: without
// it every client shares one count, and fifty wrong passwords from anyone would hold off every
// sign-in for the rest of the window.
//
// Each request gets the socket's address in a header whose name is chosen at random when this
// process starts (apps/web/src/server/socket-address.ts reads the name from the process's
// globals): no client can send it, and under a plain `next start` the API finds no name and
// falls back to the shared count.
//
//   node apps/web/server.mjs [-p PORT] [-H HOSTNAME]    (defaults: $PORT or 3000, 0.0.0.0)
import { randomBytes } from "node:crypto";
import { createServer } from "node:http";
import next from "next";

const SOCKET_ADDRESS_HEADER_KEY = Symbol.for("malleo.socketAddressHeader");
const HEADER_PREFIX = "x-malleo-socket-";

function argument(names, fallback) {
  const argv = process.argv.slice(2);
  for (let i = 0; i < argv.length; i++) {
    if (names.includes(argv[i])) {
      const value = argv[i + 1];
      if (value === undefined || value.startsWith("-")) throw new Error(`${argv[i]} needs a value`);
      return value;
    }
  }
  return fallback;
}

const port = Number(argument(["-p", "--port"], process.env.PORT ?? "3000"));
if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`not a port: ${port}`);
const hostname = argument(["-H", "--hostname"], "0.0.0.0");

const header = `${HEADER_PREFIX}${randomBytes(16).toString("hex")}`;
globalThis[SOCKET_ADDRESS_HEADER_KEY] = header;

const app = next({ dev: false, dir: import.meta.dirname, hostname, port });
await app.prepare();
const handle = app.getRequestHandler();

const server = createServer((req, res) => {
  // The name is random, so a client cannot hit it; anything shaped like it is dropped all the same.
  for (const name of Object.keys(req.headers)) if (name.startsWith(HEADER_PREFIX)) delete req.headers[name];
  req.headers[header] = req.socket.remoteAddress ?? "";
  handle(req, res).catch((e) => {
    process.stderr.write(
      `${JSON.stringify({ time: new Date().toISOString(), level: "error", msg: "request failed", error: String(e) })}\n`,
    );
    if (!res.headersSent) res.statusCode = 500;
    res.end();
  });
});

server.listen(port, hostname, () => {
  process.stdout.write(`malleo web listening on http://${hostname}:${port}\n`);
});

// SIGTERM/SIGINT: stop taking connections, end the open ones (event streams never end by
// themselves), then exit.
for (const signal of ["SIGTERM", "SIGINT"]) {
  process.once(signal, () => {
    server.close(() => process.exit(0));
    server.closeIdleConnections();
    setTimeout(() => server.closeAllConnections(), 2_000).unref();
    setTimeout(() => process.exit(0), 5_000).unref();
  });
}
