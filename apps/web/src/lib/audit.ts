/** The audit log for people: each entry as a sentence, refusals as messages, not raw validator output. */

export interface AuditLike {
  actor: string;
  procedure: string;
  input?: unknown;
  ok: boolean;
  error: string | null;
  target?: string | null;
}

const VERBS: Record<string, string> = {
  "auth.signIn": "signed in",
  "auth.signOut": "signed out",
  "auth.changePassword": "changed their own password",
  "users.create": "created user",
  "users.setRole": "changed the role of",
  "users.disable": "disabled user",
  "users.enable": "enabled user",
  "users.resetPassword": "reset the password of",
  "users.createToken": "created API",
  "users.revokeToken": "revoked API",
  "hosts.register": "registered",
  "hosts.update": "changed the settings of",
  "hosts.remove": "removed",
  "hosts.test": "tested the connection to",
  "operations.split": "requested a split",
  "operations.merge": "requested a merge",
  "operations.cancel": "requested cancel of an operation",
  "operations.decideReadyTimeout": "answered a timed-out ready barrier",
};

/** "created user vera (viewer)", "changed the role of otto (operator)", "requested a split". */
export function auditAction(a: AuditLike): string {
  const verb = VERBS[a.procedure];
  if (!verb) return a.procedure;
  if (a.procedure === "users.setRole" && a.target) {
    const m = /^(.*) \((\w+)\)$/.exec(a.target);
    if (m) return `changed the role of ${m[1]} to ${m[2]}`;
  }
  if (a.procedure === "operations.decideReadyTimeout") {
    const decision = (a.input as { decision?: unknown } | null | undefined)?.decision;
    return decision === "abort" ? "chose to abort at a ready barrier" : "chose to wait longer at a ready barrier";
  }
  return a.target ? `${verb} ${a.target}` : verb;
}

/**
 * A refusal as a message: a validator's JSON list of issues becomes "field: message; …", and a
 * long stack-like text is kept to its first line.
 */
export function readableError(error: string | null): string {
  if (!error) return "";
  const text = error.trim();
  if (text.startsWith("[") || text.startsWith("{")) {
    try {
      const parsed = JSON.parse(text) as unknown;
      const issues = (Array.isArray(parsed) ? parsed : [parsed]) as { path?: unknown; message?: unknown }[];
      const lines = issues
        .filter((i) => typeof i?.message === "string")
        .map((i) => {
          const path = Array.isArray(i.path) ? i.path.join(".") : typeof i.path === "string" ? i.path : "";
          return path ? `${path}: ${String(i.message)}` : String(i.message);
        });
      if (lines.length > 0) return lines.join("; ");
    } catch {
      // Not JSON after all: shown as it is.
    }
  }
  return text.split("\n")[0]!;
}

/** "session", "API token", or "worker" for the worker's own records. */
export function auditVia(a: { actor: string; via?: string | null }): string {
  if (a.via === "token") return "API token";
  if (a.via === "session") return "session";
  return a.actor === "worker" ? "worker" : "—";
}

/** The audit log's filters as the audit.list input and as the CSV's query string. */
export interface AuditFilter {
  actor?: string;
  procedure?: string;
  ok?: boolean;
  from?: string;
  to?: string;
}

export function auditFilterQuery(f: AuditFilter): string {
  const q = new URLSearchParams();
  if (f.actor) q.set("actor", f.actor);
  if (f.procedure) q.set("procedure", f.procedure);
  if (f.ok !== undefined) q.set("ok", String(f.ok));
  if (f.from) q.set("from", f.from);
  if (f.to) q.set("to", f.to);
  return q.toString();
}

export function auditFilterFromParams(params: URLSearchParams): Record<string, unknown> {
  const f: Record<string, unknown> = {};
  for (const key of ["actor", "procedure", "from", "to"] as const) {
    const v = params.get(key);
    if (v) f[key] = v;
  }
  const ok = params.get("ok");
  if (ok === "true") f.ok = true;
  else if (ok === "false") f.ok = false;
  else if (ok !== null) f.ok = ok; // refused by the schema, with its message
  return f;
}
