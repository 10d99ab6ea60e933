// Book 12.1: `kvctl endpoint status|health` — asks every endpoint (or, with --cluster, every
// member's client URL) for its status or health, one line or table row each, like etcdctl.
import type { StatusResponse } from "../../client/index.js";
import { type Command, type Ctx, needArgs } from "../context.js";
import { goDuration, hexId, humanBytes, table } from "../format.js";
import { type JsonOut, RawNumber, headerJson } from "../json.js";

const clusterFlag = { name: "cluster", kind: "bool" as const, help: "ask every member's client URLs (from member list), not just --endpoints" };

async function targets(ctx: Ctx): Promise<string[]> {
  if (!ctx.flags.bool("cluster")) return ctx.endpoints;
  const r = await ctx.client.memberList();
  return [...new Set(r.members.flatMap((m) => m.clientURLs))];
}

function statusJson(s: StatusResponse): JsonOut {
  const id = (v: string) => (v === "0" ? undefined : new RawNumber(v));
  return {
    header: headerJson(s.header), version: s.version, dbSize: s.dbSize || undefined, leader: id(s.leader),
    raftIndex: s.raftIndex || undefined, raftTerm: s.raftTerm || undefined, raftAppliedIndex: s.raftAppliedIndex || undefined,
    errors: s.errors.length ? s.errors : undefined, dbSizeInUse: s.dbSizeInUse || undefined, isLearner: s.isLearner || undefined,
  };
}

export const endpointStatus: Command = {
  path: ["endpoint", "status"],
  usage: "endpoint status [flags]",
  summary: "leader, term, index and size as each --endpoints member sees them",
  flags: [clusterFlag],
  async run(ctx, args) {
    needArgs(args, 0, 0, this.usage);
    const eps = await targets(ctx);
    const results = await Promise.all(eps.map(async (ep) => {
      try {
        return { ep, s: await ctx.client.status({ endpoint: ep }) };
      } catch (e) {
        ctx.io.stderr(`could not get the status of ${ep} (${(e as Error).message})\n`);
        return { ep, s: undefined };
      }
    }));
    const ok = results.filter((r): r is { ep: string; s: StatusResponse } => r.s !== undefined);
    if (ctx.format === "json") {
      ctx.json(ok.map((r) => ({ Endpoint: r.ep, Status: statusJson(r.s) })));
    } else {
      const rows = ok.map(({ ep, s }) => [
        ep, hexId(s.header.memberId), s.version, humanBytes(s.dbSize), String(s.leader === s.header.memberId),
        String(s.isLearner), String(s.raftTerm), String(s.raftIndex), String(s.raftAppliedIndex), s.errors.join(", "),
      ]);
      if (ctx.format === "table") {
        ctx.out(table(["ENDPOINT", "ID", "VERSION", "DB SIZE", "IS LEADER", "IS LEARNER", "RAFT TERM", "RAFT INDEX", "RAFT APPLIED INDEX", "ERRORS"], rows));
      } else {
        for (const r of rows) ctx.out(r.join(", ") + "\n");
      }
    }
    return ok.length === results.length ? 0 : 1;
  },
};

export const endpointHealth: Command = {
  path: ["endpoint", "health"],
  usage: "endpoint health [flags]",
  summary: "whether each --endpoints member has a leader and can serve a read",
  flags: [clusterFlag],
  async run(ctx, args) {
    needArgs(args, 0, 0, this.usage);
    const eps = await targets(ctx);
    const results = await Promise.all(eps.map(async (endpoint) => {
      const t0 = performance.now();
      try {
        const h = await ctx.client.health({ endpoint });
        const took = goDuration(performance.now() - t0);
        return { endpoint, health: h.health, took, error: h.health ? "" : h.reason || "etcdserver: unhealthy cluster" };
      } catch (e) {
        return { endpoint, health: false, took: goDuration(performance.now() - t0), error: (e as Error).message };
      }
    }));
    if (ctx.format === "json") {
      ctx.json(results.map((r) => ({ endpoint: r.endpoint, health: r.health, took: r.took, error: r.error || undefined })));
    } else if (ctx.format === "table") {
      ctx.out(table(["ENDPOINT", "HEALTH", "TOOK", "ERROR"], results.map((r) => [r.endpoint, String(r.health), r.took, r.error])));
    } else {
      for (const r of results) {
        if (r.health) ctx.out(`${r.endpoint} is healthy: successfully committed proposal: took = ${r.took}\n`);
        else ctx.io.stderr(`${r.endpoint} is unhealthy: failed to commit proposal: ${r.error}\n`);
      }
    }
    if (results.every((r) => r.health)) return 0;
    ctx.io.stderr("Error: unhealthy cluster\n");
    return 1;
  },
};

export const endpointCommands = [endpointStatus, endpointHealth];
