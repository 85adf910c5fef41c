import { describe, expect, it } from "vitest";
import { TheaterConfigError, readTheaterConfig } from "./config";

describe("theater configuration", () => {
  it("reads flags, with the secret from the environment", () => {
    const config = readTheaterConfig(["--vm", "vm-1", "--mediator", "10.0.0.1:7000"], { MALLEO_THEATER_SECRET: "s3cret" });
    expect(config).toEqual({
      vmId: "vm-1",
      mediators: ["10.0.0.1:7000"],
      secret: "s3cret",
      listenHost: "127.0.0.1",
      advertisedHost: undefined,
      fault: undefined,
      applicationModules: [],
    });
  });

  it("reads the application modules to host besides the installed ones", () => {
    const env = { MALLEO_THEATER_SECRET: "s", MALLEO_APPLICATION_MODULES: "/a/app.ts, @acme/app ," };
    expect(readTheaterConfig(["--vm", "v", "--mediator", "h:1"], env).applicationModules).toEqual(["/a/app.ts", "@acme/app"]);
    expect(readTheaterConfig(["--vm", "v", "--mediator", "h:1", "--applications", "/b.ts"], env).applicationModules).toEqual([
      "/b.ts",
    ]);
  });

  it("lets a guest image configure everything through the environment", () => {
    const config = readTheaterConfig([], {
      MALLEO_VM_ID: "vm-2",
      MALLEO_MEDIATOR: "192.168.122.1:7000",
      MALLEO_THEATER_SECRET: "x",
      MALLEO_LISTEN_HOST: "0.0.0.0",
      MALLEO_ADVERTISE_HOST: "192.168.122.15",
    });
    expect(config).toMatchObject({ vmId: "vm-2", listenHost: "0.0.0.0", advertisedHost: "192.168.122.15" });
  });

  it("flags win over the environment", () => {
    expect(
      readTheaterConfig(["--vm", "flag", "--mediator", "h:1", "--secret", "f"], {
        MALLEO_VM_ID: "env",
        MALLEO_THEATER_SECRET: "e",
      }),
    ).toMatchObject({
      vmId: "flag",
      secret: "f",
    });
  });

  it("refuses missing or malformed parameters with the usage", () => {
    expect(() => readTheaterConfig(["--mediator", "h:1"], { MALLEO_THEATER_SECRET: "s" })).toThrow(/missing --vm[\s\S]*usage/);
    expect(() => readTheaterConfig(["--vm", "v", "--mediator", "h:1"], {})).toThrow(/missing --secret/);
    expect(() => readTheaterConfig(["--vm", "v", "--mediator", "nohost"], { MALLEO_THEATER_SECRET: "s" })).toThrow(
      TheaterConfigError,
    );
    expect(() => readTheaterConfig(["--vm", "v", "--mediator", "h:1", "--bogus"], { MALLEO_THEATER_SECRET: "s" })).toThrow(
      TheaterConfigError,
    );
    expect(() =>
      readTheaterConfig(["--vm", "v", "--mediator", "h:1", "--fault", "explode"], { MALLEO_THEATER_SECRET: "s" }),
    ).toThrow(/unknown --fault/);
  });

  it("takes a comma-separated Mediator list for failover, and names a bad entry", () => {
    expect(
      readTheaterConfig(["--vm", "v", "--mediator", "10.0.0.1:7000, 10.0.0.2:7000"], { MALLEO_THEATER_SECRET: "s" }).mediators,
    ).toEqual(["10.0.0.1:7000", "10.0.0.2:7000"]);
    expect(
      readTheaterConfig([], { MALLEO_VM_ID: "v", MALLEO_MEDIATOR: "a:1,b:2,a:1", MALLEO_THEATER_SECRET: "s" }).mediators,
    ).toEqual(["a:1", "b:2"]);
    expect(() => readTheaterConfig(["--vm", "v", "--mediator", "a:1,b"], { MALLEO_THEATER_SECRET: "s" })).toThrow(
      /entry 2 "b" is not host:port; expected host:port,host:port/,
    );
    expect(() => readTheaterConfig(["--vm", "v", "--mediator", "a:1,,c:3"], { MALLEO_THEATER_SECRET: "s" })).toThrow(
      /entry 2 is empty/,
    );
    expect(() => readTheaterConfig(["--vm", "v", "--mediator", "a:1,c:99999"], { MALLEO_THEATER_SECRET: "s" })).toThrow(
      /entry 2 "c:99999"/,
    );
  });
});
