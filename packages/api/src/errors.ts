import type { ErrorCode } from "@malleo/core";
import type { TRPC_ERROR_CODE_KEY } from "@trpc/server";

/**
 * How each domain refusal travels over HTTP. The UI reads `appCode` for the precise reason;
 * the tRPC code only decides the status a generic client sees.
 */
export const TRPC_CODE_BY_APP_CODE: Record<ErrorCode, TRPC_ERROR_CODE_KEY> = {
  INVALID_INPUT: "BAD_REQUEST",
  SPLIT_TOO_SMALL: "BAD_REQUEST",
  MERGE_INVALID: "BAD_REQUEST",
  NOT_FOUND: "NOT_FOUND",
  VM_LOCKED: "CONFLICT",
  VM_NOT_RUNNING: "CONFLICT",
  APPLICATION_DEGRADED: "CONFLICT",
  APPLICATION_STOPPED: "CONFLICT",
  QUOTA_EXCEEDED: "PRECONDITION_FAILED",
  CAPACITY_EXCEEDED: "PRECONDITION_FAILED",
  HOST_IN_USE: "CONFLICT",
  HOST_UNREACHABLE: "PRECONDITION_FAILED",
  READY_TIMEOUT: "TIMEOUT",
  THEATER_TIMEOUT: "TIMEOUT",
  HYPERVISOR_FAILED: "INTERNAL_SERVER_ERROR",
  TRANSFER_FAILED: "INTERNAL_SERVER_ERROR",
  CHECKPOINT_FAILED: "INTERNAL_SERVER_ERROR",
  CANCELLED: "CONFLICT",
  CANCEL_TOO_LATE: "CONFLICT",
  NOT_WAITING: "CONFLICT",
  DEADLINE_PASSED: "CONFLICT",
  IDEMPOTENCY_KEY_REUSED: "CONFLICT",
  INTERNAL: "INTERNAL_SERVER_ERROR",
};

export function trpcCodeForAppCode(code: ErrorCode): TRPC_ERROR_CODE_KEY {
  return TRPC_CODE_BY_APP_CODE[code] ?? "INTERNAL_SERVER_ERROR";
}

export interface InputIssue {
  path: string;
  message: string;
}

type PathSegment = PropertyKey | { key: PropertyKey };

/** The issues of a zod (or any Standard Schema) failure, or undefined when `cause` is not one. */
export function inputIssuesOf(cause: unknown): InputIssue[] | undefined {
  if (typeof cause !== "object" || cause === null || !("issues" in cause)) return undefined;
  const issues = (cause as { issues: unknown }).issues;
  if (!Array.isArray(issues)) return undefined;
  return issues.map((raw) => {
    const issue = raw as { message?: unknown; path?: readonly PathSegment[] };
    const path = (issue.path ?? [])
      .map((seg) => (typeof seg === "object" && seg !== null ? seg.key : seg))
      .map(String)
      .join(".");
    return { path, message: typeof issue.message === "string" ? issue.message : "invalid value" };
  });
}

/** "count: a split makes at least 2 VMs; targetHostIds: give exactly one target host per new VM" */
export function describeInputIssues(issues: InputIssue[]): string {
  if (issues.length === 0) return "the request is malformed";
  return issues.map((i) => (i.path ? `${i.path}: ${i.message}` : i.message)).join("; ");
}
