// How an accepted operation reaches a worker, and how the operator's answers reach its workflow:
// through DBOS's own queue and messages, written by DBOS's client from whichever process accepted
// the request (the web server, the CLI's API, a test). Safe for the web process: it imports only
// DBOS's client, never the workflow code.
import { DBOSClient } from "@dbos-inc/dbos-sdk";
import { createLogger } from "@malleo/core";
import { databaseUrlOf, publishEvent, type Db, type Operation } from "@malleo/db";

/** The DBOS queue every operation's workflow is enqueued on; the leader worker dequeues it. */
export const OPERATION_QUEUE = "malleo-operations";
/** The registered name of the operation workflow (operation-workflow.ts registers it under this). */
export const OPERATION_WORKFLOW = "malleo.operation";
/** The topic of the messages a workflow waiting at a timed-out ready barrier receives. */
export const READY_DECISION_TOPIC = "ready-decision";

export type ReadyMessage = "extend" | "abort" | "cancel";

/**
 * DBOS keeps its own tables in a database of their own: `MALLEO_SYSTEM_DATABASE_URL`, by default
 * the sibling `<name>_dbos` of the application's database on the same server. The worker and every
 * process that submits derive it the same way.
 */
export function systemDatabaseUrlFor(
  databaseUrl: string,
  override: string | undefined = process.env.MALLEO_SYSTEM_DATABASE_URL,
): string {
  if (override) return override;
  const sys = new URL(databaseUrl);
  sys.pathname = `${sys.pathname.replace(/\/$/, "") || "/malleo"}_dbos`;
  return sys.toString();
}

const log = createLogger("queue");

/**
 * How long a request waits for DBOS's database. Its client retries a refused connection without
 * end, and a submission must not hang on it: past this the hand-over is left to the worker (the
 * enqueue may still land later; it is idempotent).
 */
const HAND_OVER_DEADLINE_MS = 3_000;

function withinDeadline<T>(work: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`DBOS's database did not answer within ${HAND_OVER_DEADLINE_MS} ms`)),
      HAND_OVER_DEADLINE_MS,
    );
  });
  work.catch(() => undefined); // a late failure after the deadline is already accounted for
  return Promise.race([work, deadline]).finally(() => clearTimeout(timer));
}
const clients = new Map<string, Promise<DBOSClient>>();

function clientFor(db: Db): Promise<DBOSClient> {
  const url = systemDatabaseUrlFor(databaseUrlOf(db));
  let client = clients.get(url);
  if (!client) {
    client = DBOSClient.create({ systemDatabaseUrl: url, systemDatabasePoolSize: 2 });
    clients.set(url, client);
    client.catch(() => clients.delete(url));
  }
  return client;
}

/**
 * Hands an accepted (queued) operation to the workers: enqueues its workflow, whose id is the
 * operation's id, so a second hand-over of the same operation is a no-op. Returns false, and logs
 * why, when the queue cannot be reached (no worker has ever created DBOS's tables, or their
 * database is down): the operation stays queued and the leader worker hands it over itself when it
 * starts or its reconciliation next runs — it is never lost, only late.
 */
export async function handOverOperation(db: Db, operationId: string): Promise<boolean> {
  try {
    await withinDeadline(
      clientFor(db).then((client) =>
        client.enqueue({ workflowName: OPERATION_WORKFLOW, queueName: OPERATION_QUEUE, workflowID: operationId }, operationId),
      ),
    );
    return true;
  } catch (e) {
    log({
      event: "operation not handed over yet",
      level: "warn",
      operationId,
      error: (e as Error).message,
      detail: "it stays queued; the leader worker hands it over when it starts or at its next reconciliation",
    });
    return false;
  }
}

/** What every submission does once its operation is recorded: tells the consoles, hands it over. */
export async function accepted(db: Db, op: Operation): Promise<Operation> {
  await publishEvent(db, { type: "operation", operationId: op.id });
  await handOverOperation(db, op.id);
  return op;
}

/**
 * Delivers an answer to an operation's workflow waiting at a timed-out ready barrier (or a cancel,
 * which wakes it too). Only sent after the guarded write that records it, so a lost message is
 * never the only record: a workflow also reads the recorded decision when its wait ends.
 */
export async function sendReadyMessage(db: Db, operationId: string, message: ReadyMessage): Promise<void> {
  try {
    await withinDeadline(clientFor(db).then((client) => client.send(operationId, message, READY_DECISION_TOPIC)));
  } catch (e) {
    log({ event: "ready decision not delivered", level: "warn", operationId, message, error: (e as Error).message });
  }
}

/** Closes the clients this process opened (tests and graceful shutdowns). */
export async function closeQueueClients(): Promise<void> {
  const open = [...clients.values()];
  clients.clear();
  await Promise.all(open.map((c) => c.then((x) => x.destroy()).catch(() => undefined)));
}
