import { describe, expect, it } from "vitest";
import { loadWorkerEnv } from "./env";

const base = { DATABASE_URL: "postgres://u:p@localhost:5432/malleo" };

describe("worker configuration: the cluster's Mediators", () => {
  it("reads MALLEO_CLUSTER_MEDIATORS as a list of host:port", () => {
    const env = loadWorkerEnv({ ...base, MALLEO_CLUSTER_MEDIATORS: "127.0.0.1:4100,10.0.0.2:4101" });
    expect(env.clusterMediators).toEqual(["127.0.0.1:4100", "10.0.0.2:4101"]);
    expect(loadWorkerEnv(base).clusterMediators).toEqual([]);
  });

  it("refuses an entry without a port, saying what is accepted", () => {
    expect(() => loadWorkerEnv({ ...base, MALLEO_CLUSTER_MEDIATORS: "127.0.0.1:4100,10.0.0.2" })).toThrow(
      /MALLEO_CLUSTER_MEDIATORS: MALLEO_CLUSTER_MEDIATORS is a comma-separated list of host:port, e\.g\. 10\.0\.0\.1:7000,10\.0\.0\.2:7000/,
    );
  });

  it("gives each worker an executor ID and refuses an empty one", () => {
    expect(loadWorkerEnv({ ...base, MALLEO_EXECUTOR_ID: "worker-a" }).MALLEO_EXECUTOR_ID).toBe("worker-a");
    expect(() => loadWorkerEnv({ ...base, MALLEO_EXECUTOR_ID: "" })).toThrow(/MALLEO_EXECUTOR_ID/);
  });
});

describe("worker configuration: where the Mediator listens", () => {
  it("listens on loopback by default, and on the bridge address when a qemu host is configured", () => {
    expect(loadWorkerEnv(base).MALLEO_MEDIATOR_HOST).toBe("127.0.0.1");
    const hosts = JSON.stringify([{ id: "pm-a", uri: "qemu:///system", vmQuota: 2 }]);
    expect(loadWorkerEnv({ ...base, MALLEO_HOSTS: hosts }).MALLEO_MEDIATOR_HOST).toBe("10.77.0.1");
    expect(loadWorkerEnv({ ...base, MALLEO_HOSTS: hosts, MALLEO_BRIDGE_CIDR: "10.9.0.1/24" }).MALLEO_MEDIATOR_HOST).toBe(
      "10.9.0.1",
    );
    expect(loadWorkerEnv({ ...base, MALLEO_MEDIATOR_HOST: "10.1.2.3" }).MALLEO_MEDIATOR_HOST).toBe("10.1.2.3");
  });

  it("refuses a wildcard address unless explicitly allowed", () => {
    expect(() => loadWorkerEnv({ ...base, MALLEO_MEDIATOR_HOST: "0.0.0.0" })).toThrow(/every interface/);
    expect(
      loadWorkerEnv({ ...base, MALLEO_MEDIATOR_HOST: "0.0.0.0", MALLEO_MEDIATOR_ALLOW_WILDCARD: "1" }).MALLEO_MEDIATOR_HOST,
    ).toBe("0.0.0.0");
  });
});
