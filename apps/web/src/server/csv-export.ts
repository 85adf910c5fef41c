import { authenticate, findHostileInput } from "@malleo/api";
import type { Db } from "@malleo/db";
import { csvRow } from "../lib/csv";
import { logLine } from "./log";
import { getDb } from "./services";

const PAGE = 500;
const MAX_ROWS = 100_000;

export const plainText = (status: number, body: string) =>
  new Response(`${body}\n`, { status, headers: { "content-type": "text/plain" } });

interface FilterSchema<F> {
  safeParse(
    value: unknown,
  ): { success: true; data: F } | { success: false; error: { issues: { path: PropertyKey[]; message: string }[] } };
}

/**
 * A list as a CSV download, for the session cookie or an API token: the filters from the query
 * string are checked like any input (hostile input, then the schema; 400 with the field), the
 * first page is read before anything is sent (a failing query is a 500, never a cut-off file),
 * the rest is streamed page by page, and a failure part-way ends the file with a line saying so.
 */
export async function csvExport<F, Row>(
  req: Request,
  o: {
    /** For the log: "history", "audit". */
    name: string;
    /** The download's name, before the time stamp. */
    filename: string;
    /** After the time stamp ("-utc" when the times are UTC). */
    filenameSuffix?: string;
    fromParams(params: URLSearchParams): unknown;
    schema: FilterSchema<F>;
    header: string[];
    page(db: Db, filter: F, offset: number, limit: number): Promise<Row[]>;
    row(row: Row): unknown[];
  },
): Promise<Response> {
  const db = getDb();
  const user = await authenticate(db, req.headers);
  if (!user) return plainText(401, "sign in first");
  const raw = o.fromParams(new URL(req.url).searchParams);
  const hostile = findHostileInput(raw);
  if (hostile) return plainText(400, `${hostile.path}: ${hostile.message}`);
  const parsed = o.schema.safeParse(raw);
  if (!parsed.success)
    return plainText(400, parsed.error.issues.map((i) => `${i.path.map(String).join(".")}: ${i.message}`).join("; "));
  const filter = parsed.data;
  let first: Row[];
  try {
    first = await o.page(db, filter, 0, PAGE);
  } catch (e) {
    logLine("error", `${o.name} export failed`, { error: (e as Error).message });
    return plainText(500, "unexpected server error; the web server log has the details");
  }
  const encoder = new TextEncoder();
  const stream = new ReadableStream<Uint8Array>({
    async start(controller) {
      controller.enqueue(encoder.encode(csvRow(o.header)));
      for (let offset = 0; offset < MAX_ROWS; offset += PAGE) {
        let items = first;
        if (offset > 0) {
          try {
            items = await o.page(db, filter, offset, PAGE);
          } catch (e) {
            // Headers are sent: end with a line that says the file is incomplete rather than cutting it.
            logLine("error", `${o.name} export failed part-way`, { offset, error: (e as Error).message });
            controller.enqueue(encoder.encode(csvRow(["error", `export stopped after ${offset} rows: unexpected server error`])));
            break;
          }
        }
        for (const item of items) controller.enqueue(encoder.encode(csvRow(o.row(item))));
        if (items.length < PAGE) break;
      }
      controller.close();
    },
  });
  const stamp = new Date().toISOString().slice(0, 19).replace(/[:T]/g, "-");
  return new Response(stream, {
    headers: {
      "content-type": "text/csv; charset=utf-8",
      "content-disposition": `attachment; filename="${o.filename}-${stamp}${o.filenameSuffix ?? ""}.csv"`,
      "cache-control": "no-store",
    },
  });
}
