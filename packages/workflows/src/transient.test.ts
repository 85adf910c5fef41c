import { describe, expect, it } from "vitest";
import { AppError } from "@malleo/core";
import { isTransientDatabaseError } from "./operation-workflow";

function named(name: string, message: string, code?: string): Error {
  const e = new Error(message);
  e.name = name;
  if (code) Object.assign(e, { code });
  return e;
}

describe("isTransientDatabaseError", () => {
  it.each([
    named("PrismaClientKnownRequestError", "Can't reach database server at 127.0.0.1:54380", "P1001"),
    named("DriverAdapterError", "ECONNREFUSED"),
    named("error", "terminating connection due to administrator command", "57P01"),
    named("error", "the database system is starting up", "57P03"),
  ])("retries %s", (e) => expect(isTransientDatabaseError(e)).toBe(true));

  it.each([
    new Error("migration to 127.0.0.1:41399 failed: read ECONNRESET"),
    new Error("theater of VM x disconnected: connection closed"),
    new AppError("TRANSFER_FAILED", "Can't reach database server (quoted by an actor)"),
    named("PrismaClientKnownRequestError", "Unique constraint failed on the fields: (`name`)", "P2002"),
    "ECONNREFUSED",
  ])("does not retry %s", (e) => expect(isTransientDatabaseError(e)).toBe(false));
});
