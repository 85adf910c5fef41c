// `malleo hosts [test <uri>] | vms | ops | split | merge | cancel | ready | watch | apps | kinds | bundle | bundles | deploy | stop | start | delete | upgrade |
// checkpoints | restore | auto-recovery` — the command-line client of the Malleo API, authenticated with an API token.
// Human-readable tables by default, --json for scripts. main.ts runs it on the process's argv;
// tests run it in-process with their own output (the same code path, without a child process).
import { parseArgs } from "node:util";
import { hostUse } from "@malleo/core";
import { bundleBuildCommand, bundleRegisterCommand } from "./bundle";
import { apiClient } from "./client";
import {
  hostTestCommand,
  parseAutoRecoveryArgs,
  parseDeployArgs,
  parseRestoreArgs,
  parseTransfer,
  parseUpgradeStrategy,
  readyCommand,
  RECOVERY_USAGE,
  UsageError,
} from "./commands";
import { mergeRequest, splitRequest, targetLines } from "./placement";
import { mib, ms, table } from "./table";
import { watchOperation } from "./watch";

const USAGE = `usage: malleo <command> [options]

commands:
  hosts                                   hosts with VM slots, vCPUs and memory used
  hosts test <libvirt-uri>                try a URI before registering it (admin): a worker
                                          connects and reports CPUs and memory, or why not
  vms [--host H] [--app A]                VMs with vCPUs, memory, state and actors
  ops [--status S] [--kind K] [--vm V] [--host H] [--operator O] [--limit N]
                                          operations, newest first
  split <vm> --hosts H1,H2[,…] | --count N [--transfer live|barrier]
                                          split a VM into one new VM per host named, or into
                                          N new VMs on the hosts the console would choose
  merge <vm> <vm> [<vm>…] [--host H] [--transfer live|barrier]
                                          merge VMs of one application onto host H (default:
                                          the host the console would choose)
  cancel <operation-id>                   cancel an operation (until its Transfer completes)
  ready extend|abort <operation-id>       answer a ready barrier that timed out: wait longer, or abort (roll back)
  watch <operation-id>                    follow an operation's steps live (server-sent events) until it ends
  apps                                    applications with kind, status and progress
  kinds                                   application kinds (installed and registered bundles), version and default configuration
  bundle build <dir> [--out FILE]         build an application folder into one self-contained bundle file (no token needed)
  bundle register <file>                  register a bundle (admin): checked, stored with its version and sha256
  bundles                                 the registered bundles: kind, version, sha256, size, who and when
  deploy <kind> --id A --vms HOST:VCPUS:MIB[,…] [--config '<json>'] [--version V]
                                          deploy an application on new VMs (config over the kind's default)
  checkpoints <app>                       an application's checkpoints (time, size, sha256, kind) and auto-recovery
  restore <app> <checkpoint-sequence>     restore every actor of the application from that checkpoint (operator)
  auto-recovery <app> on|off              recover the application by itself after a lost theater, or leave it to you
  stop|start|delete <application>         hold its actors / resume them / destroy its VMs and actors (history kept)
  upgrade <application> <version> [--strategy rolling|restart]
                                          move a bundle application to another registered version:
                                          rolling (default for the same state format; new VMs on the
                                          new version, each actor moved live) or restart (from one
                                          checkpoint, states migrated; default when the format changed)

options:
  --url URL      the Malleo web server (default $MALLEO_URL or http://127.0.0.1:3000)
  --token TOKEN  an API token (default $MALLEO_TOKEN); an admin creates one on the Admin page
  --json         print JSON instead of a table
  --transfer M   how actors move in a split or merge: live (default; each actor pauses only
                 while it moves) or barrier (all actors pause together for a consistent cut)
`;

const OPTIONS = {
  url: { type: "string" },
  token: { type: "string" },
  json: { type: "boolean", default: false },
  host: { type: "string" },
  hosts: { type: "string" },
  count: { type: "string" },
  app: { type: "string" },
  status: { type: "string" },
  kind: { type: "string" },
  vm: { type: "string" },
  operator: { type: "string" },
  limit: { type: "string" },
  transfer: { type: "string" },
  id: { type: "string" },
  vms: { type: "string" },
  config: { type: "string" },
  version: { type: "string" },
  out: { type: "string" },
  strategy: { type: "string" },
  help: { type: "boolean", short: "h", default: false },
} as const;

/** Where the CLI reads its environment and writes its output. */
export interface CliIo {
  env: Readonly<Record<string, string | undefined>>;
  stdout(text: string): void;
  stderr(text: string): void;
}

/**
 * Runs one `malleo` command line (without the program name); resolves to its exit status: 0 done,
 * 1 refused or failed (the server's message on stderr, as JSON with --json), 2 mistyped (usage).
 */
export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  let json = argv.includes("--json");
  try {
    const { values: opts, positionals } = parseArgs({ args: [...argv], allowPositionals: true, options: OPTIONS });
    json = opts.json;
    return await runCommand(opts, positionals, io);
  } catch (err) {
    const e = err as Error & { code?: string; data?: { code?: string; appCode?: string } };
    const usage = e instanceof UsageError || (typeof e.code === "string" && e.code.startsWith("ERR_PARSE_ARGS"));
    if (json) io.stderr(`${JSON.stringify({ error: { message: e.message, code: e.data?.code, appCode: e.data?.appCode } })}\n`);
    else io.stderr(`malleo: ${e.message}\n`);
    return usage ? 2 : 1;
  }
}

type Options = ReturnType<typeof parseArgs<{ args: string[]; allowPositionals: true; options: typeof OPTIONS }>>["values"];

async function runCommand(opts: Options, positionals: string[], io: CliIo): Promise<number> {
  const print = (json: unknown, human: () => string): void =>
    io.stdout(opts.json ? `${JSON.stringify(json, null, 2)}\n` : `${human()}\n`);
  const [command, ...args] = positionals;
  if (opts.help || !command) {
    io.stdout(USAGE);
    return command || opts.help ? 0 : 2;
  }
  if (command === "bundle" && args[0] === "build") {
    const r = await bundleBuildCommand(args[1], opts.out);
    print(r, () => `built ${r.file} (${r.bytes} bytes) from ${r.entry}\n  register it: malleo bundle register ${r.file}`);
    return 0;
  }
  const url = opts.url ?? io.env.MALLEO_URL ?? "http://127.0.0.1:3000";
  const token = opts.token ?? io.env.MALLEO_TOKEN;
  if (!token) throw new UsageError("an API token is needed: --token or MALLEO_TOKEN (an admin creates one on the Admin page)");
  const api = apiClient(url, token);

  switch (command) {
    case "hosts": {
      if (args[0] === "test") {
        const r = await hostTestCommand(api, args.slice(1));
        print(r.json, () => r.human);
        return r.exitCode;
      }
      if (args.length > 0) throw new UsageError(`malleo hosts takes no arguments, or: test <libvirt-uri>\n\n${USAGE}`);
      const topo = await api.topology.get.query();
      const rows = topo.hosts.map((h) => {
        const used = hostUse(h.vms);
        return {
          id: h.id,
          status: h.status,
          vms: used.vms,
          vmQuota: h.vmQuota,
          vcpus: used.vcpus,
          cpus: h.cpus,
          memoryMiB: used.memoryMiB,
          capacityMiB: h.memoryMiB,
        };
      });
      print(rows, () =>
        table(
          ["HOST", "STATUS", "VMS", "VCPUS", "MEMORY"],
          rows.map((r) => [
            r.id,
            r.status,
            `${r.vms}/${r.vmQuota}`,
            `${r.vcpus}/${r.cpus}`,
            `${mib(r.memoryMiB)}/${mib(r.capacityMiB)}`,
          ]),
        ),
      );
      return 0;
    }
    case "vms": {
      const topo = await api.topology.get.query();
      const vms = topo.hosts
        .flatMap((h) => h.vms)
        .filter((v) => (!opts.host || v.hostId === opts.host) && (!opts.app || v.applicationId === opts.app))
        .map((v) => ({
          id: v.id,
          name: v.name,
          hostId: v.hostId,
          applicationId: v.applicationId,
          vcpus: v.vcpus,
          memoryMiB: v.memoryMiB,
          state: v.state,
          actors: v.actorCount,
          lockedBy: v.lockedBy,
        }));
      print(vms, () =>
        table(
          ["VM", "HOST", "APP", "VCPUS", "MEMORY", "STATE", "ACTORS", "LOCKED BY"],
          vms.map((v) => [
            v.name,
            v.hostId,
            v.applicationId,
            v.vcpus,
            mib(v.memoryMiB),
            v.state,
            v.actors,
            v.lockedBy?.slice(0, 8) ?? "",
          ]),
        ),
      );
      return 0;
    }
    case "ops": {
      const limit = opts.limit ? Number(opts.limit) : 25;
      const r = await api.operations.search.query({
        pageSize: limit,
        ...(opts.status ? { statuses: opts.status.split(",") as never } : {}),
        ...(opts.kind ? { kind: opts.kind as "split" | "merge" } : {}),
        ...(opts.vm ? { vm: opts.vm } : {}),
        ...(opts.host ? { hostId: opts.host } : {}),
        ...(opts.operator ? { operator: opts.operator } : {}),
      });
      print(
        r,
        () =>
          table(
            ["ID", "KIND", "STATUS", "OPERATOR", "WHAT", "SUBMITTED", "DURATION"],
            r.items.map((o) => [
              o.id,
              o.kind,
              o.status,
              o.operator,
              o.plan
                ? `${o.plan.sources.map((s) => s.name).join(",")} -> ${o.plan.targets.map((t) => `${t.name}@${t.hostId}`).join(",")}`
                : "",
              o.createdAt.toISOString(),
              ms(o.finishedAt ? o.finishedAt.getTime() - (o.startedAt ?? o.createdAt).getTime() : null),
            ]),
          ) + `\n(${r.items.length} of ${r.total})`,
      );
      return 0;
    }
    case "split": {
      const [vm] = args;
      if (!vm || (!opts.hosts && !opts.count))
        throw new UsageError("usage: malleo split <vm> --hosts H1,H2[,…] | --count N [--transfer live|barrier]");
      const transfer = parseTransfer(opts.transfer);
      const { vmId, targetHostIds, preview } = splitRequest(await api.topology.get.query(), vm, opts);
      const op = await api.operations.split.mutate({ vmId, count: targetHostIds.length, targetHostIds, transfer });
      print(
        op,
        () =>
          `accepted: split ${vm} into ${targetHostIds.length} VMs on ${targetHostIds.join(", ")} (${transfer} transfer) — operation ${op.id}\n${targetLines(preview)}\n  follow it: malleo watch ${op.id}`,
      );
      return 0;
    }
    case "merge": {
      if (args.length < 2) throw new UsageError("usage: malleo merge <vm> <vm> [<vm>…] [--host H] [--transfer live|barrier]");
      const transfer = parseTransfer(opts.transfer);
      const { vmIds, targetHostId } = mergeRequest(await api.topology.get.query(), args, opts.host);
      const op = await api.operations.merge.mutate({ vmIds, targetHostId, transfer });
      print(
        op,
        () =>
          `accepted: merge ${args.join(", ")} onto ${targetHostId} (${transfer} transfer) — operation ${op.id}\n  follow it: malleo watch ${op.id}`,
      );
      return 0;
    }
    case "cancel": {
      const [id] = args;
      if (!id) throw new UsageError("usage: malleo cancel <operation-id>");
      const r = await api.operations.cancel.mutate({ id });
      print(r, () => `cancel requested for operation ${r.id}; it rolls back at its next step boundary`);
      return 0;
    }
    case "ready": {
      const r = await readyCommand(api, args);
      print(r.json, () => r.human);
      return 0;
    }
    case "checkpoints": {
      const [applicationId, ...rest] = args;
      if (!applicationId || rest.length > 0) throw new UsageError(RECOVERY_USAGE);
      const r = await api.applications.recovery.query({ applicationId });
      print(
        r,
        () =>
          `${r.applicationId}: ${r.status}${r.statusReason ? ` — ${r.statusReason}` : ""}; auto-recovery ${r.autoRecovery ? "on" : "off"}` +
          (r.restoreRequested ? `; restore from #${r.restoreRequested.sequence} requested by ${r.restoreRequested.by}` : "") +
          "\n" +
          table(
            ["#", "TAKEN", "KIND", "ITERATION", "ACTORS", "SIZE", "SHA256"],
            r.checkpoints.map((c) => [
              c.sequence,
              c.takenAt.toISOString(),
              c.reason,
              c.iteration,
              c.actors,
              `${c.bytes} B`,
              c.sha256.slice(0, 16),
            ]),
          ),
      );
      return 0;
    }
    case "restore": {
      const r = await api.applications.restore.mutate(parseRestoreArgs(args));
      print(
        r,
        () =>
          `restore of ${r.applicationId} from checkpoint #${r.restoreRequested?.sequence} requested; the worker replaces every actor once no operation holds its VMs\n  follow it: malleo checkpoints ${r.applicationId}`,
      );
      return 0;
    }
    case "auto-recovery": {
      const r = await api.applications.setAutoRecovery.mutate(parseAutoRecoveryArgs(args));
      print(r, () => `${r.applicationId}: auto-recovery ${r.autoRecovery ? "on" : "off"}`);
      return 0;
    }
    case "watch": {
      const [id] = args;
      if (!id) throw new UsageError("usage: malleo watch <operation-id>");
      return watchOperation(api, id, opts.json ?? false, (line) => io.stdout(`${line}\n`));
    }
    case "apps": {
      const list = await api.applications.list.query();
      print(list, () =>
        table(
          ["APPLICATION", "KIND", "STATUS", "PROGRESS"],
          list.map((a) => [a.id, a.kind, a.statusReason ? `${a.status}: ${a.statusReason}` : a.status, String(a.iteration)]),
        ),
      );
      return 0;
    }
    case "kinds": {
      const kinds = await api.applications.kinds.query();
      print(kinds, () =>
        table(
          ["KIND", "VERSION", "SOURCE", "DESCRIPTION", "DEFAULT CONFIG"],
          kinds.map((k) => [k.kind, k.version, k.source, k.description, JSON.stringify(k.defaultConfig)]),
        ),
      );
      return 0;
    }
    case "bundle": {
      if (args[0] !== "register" || args.length !== 2)
        throw new UsageError("usage: malleo bundle build <dir> [--out FILE] | malleo bundle register <file>");
      const b = await bundleRegisterCommand(url, token, args[1]);
      print(b, () =>
        b.created
          ? `registered ${b.kind} ${b.version} (sha256 ${b.sha256}, ${b.size} bytes; behaviors ${b.behaviors.join(", ")})\n  deploy it: malleo deploy ${b.kind} --id <app> --vms HOST:VCPUS:MIB`
          : `${b.kind} ${b.version} is already registered with these bytes (sha256 ${b.sha256}); nothing changed`,
      );
      return 0;
    }
    case "bundles": {
      const bundles = await api.applications.bundles.query();
      print(bundles, () =>
        table(
          ["KIND", "VERSION", "SHA256", "SIZE", "REGISTERED BY", "AT"],
          bundles.map((b) => [b.kind, b.version, b.sha256.slice(0, 16), b.size, b.registeredBy, b.registeredAt.toISOString()]),
        ),
      );
      return 0;
    }
    case "deploy": {
      const kinds = await api.applications.kinds.query();
      const input = parseDeployArgs(args, opts, kinds.find((k) => k.kind === args[0])?.defaultConfig);
      const op = await api.applications.deploy.mutate(input);
      print(
        op,
        () =>
          `accepted: deploy ${input.kind} as ${input.applicationId} on ${input.vms.length} new VMs (${input.vms.map((v) => v.hostId).join(", ")}) — operation ${op.id}\n  follow it: malleo watch ${op.id}`,
      );
      return 0;
    }
    case "stop":
    case "start":
    case "delete": {
      const [applicationId] = args;
      if (!applicationId || args.length > 1) throw new UsageError(`usage: malleo ${command} <application>`);
      const op = await api.applications[command].mutate({ applicationId });
      print(op, () => `accepted: ${command} ${applicationId} — operation ${op.id}\n  follow it: malleo watch ${op.id}`);
      return 0;
    }
    case "upgrade": {
      const [applicationId, version] = args;
      if (!applicationId || !version || args.length > 2)
        throw new UsageError("usage: malleo upgrade <application> <version> [--strategy rolling|restart]");
      const strategy = parseUpgradeStrategy(opts.strategy);
      const op = await api.applications.upgrade.mutate({ applicationId, version, ...(strategy ? { strategy } : {}) });
      print(
        op,
        () =>
          `accepted: upgrade ${applicationId} to ${version} (${op.strategy}) — operation ${op.id}\n  follow it: malleo watch ${op.id}`,
      );
      return 0;
    }
    default:
      throw new UsageError(`unknown command ${command}\n\n${USAGE}`);
  }
}
