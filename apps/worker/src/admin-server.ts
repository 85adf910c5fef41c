import { createHash } from "node:crypto";
import { createServer, type Server } from "node:http";
import { actorListByApplication, applicationGet, vmListLive, type Db } from "@malleo/db";
import { installedApplications } from "@malleo/applications";
import { bundleResult } from "@malleo/sdk/bundle";
import { bundleFileOf } from "@malleo/workflows";
import type { Mediator } from "@malleo/mediator";
import type { Logger } from "./log";
import type { VmManager } from "./vm-manager";

/**
 * A small loopback-only HTTP endpoint for operators and the chaos suite: health, what really
 * exists (domains on each host, actors in each theater) and an application's result digest (its module's `result`).
 * With `chaosFaults` (the chaos suite), `POST /chaos/hosts/<id>/lose` cuts a simulated host off
 * as a lost machine would: its connection drops (the suite has moved its node file away) and
 * its VMs' theater processes die.
 */
export function startAdminServer(
  deps: { db: Db; mediator: Mediator; vms: VmManager; log: Logger; chaosFaults?: boolean },
  port: number,
): Promise<Server> {
  const server = createServer((req, res) => {
    const reply = (status: number, body: unknown) => {
      res.writeHead(status, { "content-type": "application/json" });
      res.end(JSON.stringify(body));
    };
    void (async () => {
      const url = new URL(req.url ?? "/", "http://localhost");
      if (url.pathname === "/healthz") return reply(200, { ok: true });
      if (url.pathname === "/inventory") {
        return reply(200, { domains: await deps.vms.listDomains(), actors: deps.mediator.listActors() });
      }
      const lose = /^\/chaos\/hosts\/([^/]+)\/lose$/.exec(url.pathname);
      if (lose && req.method === "POST" && deps.chaosFaults) {
        const hostId = decodeURIComponent(lose[1]!);
        await deps.vms.testing.disconnectHost(hostId);
        const killed: string[] = [];
        for (const vm of (await vmListLive(deps.db)).filter((v) => v.hostId === hostId)) {
          const pid = deps.vms.theaterPid(vm.id);
          if (pid === undefined) continue;
          process.kill(pid, "SIGKILL");
          killed.push(vm.name);
        }
        deps.log({ event: "fault injected: host lost", hostId, killed });
        return reply(200, { hostId, killed });
      }
      const m = /^\/applications\/([^/]+)\/digest$/.exec(url.pathname);
      if (m) {
        const app = await applicationGet(deps.db, decodeURIComponent(m[1]!));
        if (!app) return reply(404, { error: "no such application" });
        const uans = (await actorListByApplication(deps.db, app.id)).map((a) => a.uan);
        const states = await deps.mediator.collectStates(uans);
        let result: ArrayBufferView;
        if (app.bundleVersion) {
          // A bundle's `result` runs in a child process, as all of its code outside theaters.
          result = await bundleResult(await bundleFileOf(deps.db, app.kind, app.bundleVersion), app.config, states);
        } else {
          const module = installedApplications.get(app.kind);
          if (!module.result) return reply(404, { error: `a ${app.kind} application has no result to digest` });
          result = module.result(installedApplications.parseConfig(app.kind, app.config), states);
        }
        return reply(200, {
          actors: states.size,
          sha256: createHash("sha256")
            .update(Buffer.from(result.buffer, result.byteOffset, result.byteLength))
            .digest("hex"),
        });
      }
      return reply(404, { error: "not found" });
    })().catch((e: Error) => reply(500, { error: e.message }));
  });
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", () => {
      deps.log({ event: "admin endpoint listening", port });
      resolve(server);
    });
  });
}
