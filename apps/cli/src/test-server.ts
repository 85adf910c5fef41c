// Tests only: a fetch-style handler (the API's handleApiRequest, the bundle upload route) served
// over node:http on a loopback port, as the web process serves it, so the CLI's own client, its
// token and its event stream (server-sent events) go over real HTTP.
import { createServer } from "node:http";
import { Readable } from "node:stream";

export interface ServedHandler {
  url: string;
  close(): Promise<void>;
}

export async function serveFetchHandler(handler: (req: Request) => Promise<Response>): Promise<ServedHandler> {
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const headers = new Headers();
      for (const [k, v] of Object.entries(req.headers)) if (typeof v === "string") headers.set(k, v);
      // A client that goes away (a finished `malleo watch`) ends its event stream.
      const gone = new AbortController();
      res.on("close", () => gone.abort());
      const request = new Request(`http://${req.headers.host}${req.url}`, {
        method: req.method,
        headers,
        signal: gone.signal,
        ...(req.method === "GET" || req.method === "HEAD" ? {} : { body: Buffer.concat(chunks) }),
      });
      void handler(request).then(
        (answer) => {
          res.writeHead(answer.status, Object.fromEntries(answer.headers));
          if (answer.body) Readable.fromWeb(answer.body as never).pipe(res);
          else res.end();
        },
        (e: Error) => {
          res.writeHead(500, { "content-type": "text/plain" });
          res.end(e.message);
        },
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as { port: number }).port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
