/** Every refusal in Malleo is an AppError with a code; only the API layer maps codes to transport errors. */
export const ERROR_CODES = {
  INVALID_INPUT: "the request is malformed",
  NOT_FOUND: "the thing named does not exist",
  VM_LOCKED: "another operation holds the VM",
  VM_NOT_RUNNING: "the VM is not running",
  APPLICATION_DEGRADED: "the application has lost actors and must be restored first",
  APPLICATION_STOPPED: "the application is stopped and must be started first",
  QUOTA_EXCEEDED: "a host has no free VM slot",
  CAPACITY_EXCEEDED: "a host lacks CPU or memory",
  HOST_IN_USE: "the host's live VMs need what the change would take away",
  HOST_UNREACHABLE: "a target host cannot be reached",
  SPLIT_TOO_SMALL: "the VM cannot be divided that way",
  MERGE_INVALID: "the VMs cannot be merged",
  READY_TIMEOUT: "actors did not reach their safe point in time",
  THEATER_TIMEOUT: "a new VM's theater did not register in time",
  HYPERVISOR_FAILED: "libvirt refused the request",
  TRANSFER_FAILED: "moving actors failed",
  CHECKPOINT_FAILED: "the application could not be checkpointed",
  CANCELLED: "an operator cancelled the operation",
  CANCEL_TOO_LATE: "the operation can no longer be cancelled",
  NOT_WAITING: "the operation is not waiting for that decision",
  DEADLINE_PASSED: "the request arrived after the deadline its client set; nothing was changed",
  IDEMPOTENCY_KEY_REUSED: "the idempotency key was already used for a different request",
  INTERNAL: "unexpected failure",
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

export class AppError extends Error {
  readonly code: ErrorCode;
  readonly details: Record<string, unknown>;

  constructor(code: ErrorCode, message: string, details: Record<string, unknown> = {}) {
    super(message);
    this.name = "AppError";
    this.code = code;
    this.details = details;
  }

  static is(e: unknown): e is AppError {
    return e instanceof AppError || (e instanceof Error && e.name === "AppError" && "code" in e);
  }
}
