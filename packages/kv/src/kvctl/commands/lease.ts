// Book 12.10: `kvctl lease grant|revoke|timetolive|list|keep-alive` — leases by hex id, printed
// like etcdctl ("lease 694d5765fc71500b granted with TTL(60s)").
import { EtcdError, GrpcCode } from "../../types.js";
import { UsageError } from "../args.js";
import { type Command, needArgs } from "../context.js";
import { leaseHex, parseHexId } from "../format.js";
import { flatHeader, headerJson, RawNumber } from "../json.js";

const b64 = (s: string) => Buffer.from(s, "latin1").toString("base64");

export const leaseGrant: Command = {
  path: ["lease", "grant"],
  usage: "lease grant <ttl>",
  summary: "make a lease with a time-to-live in seconds",
  flags: [],
  async run(ctx, args) {
    ctx.noTable();
    needArgs(args, 1, 1, this.usage);
    if (!/^\d+$/.test(args[0]!)) throw new UsageError(`bad TTL "${args[0]}": expecting seconds as a positive integer`);
    const resp = await ctx.client.leaseGrant({ TTL: Number(args[0]) });
    if (ctx.format === "json") {
      ctx.json({ ...flatHeader(resp.header), ID: new RawNumber(resp.ID), TTL: resp.TTL, Error: resp.error ?? "" });
    } else {
      ctx.out(`lease ${leaseHex(resp.ID)} granted with TTL(${resp.TTL}s)\n`);
    }
    return 0;
  },
};

export const leaseRevoke: Command = {
  path: ["lease", "revoke"],
  usage: "lease revoke <leaseID>",
  summary: "end a lease now, deleting its keys",
  flags: [],
  async run(ctx, args) {
    ctx.noTable();
    needArgs(args, 1, 1, this.usage);
    const id = parseHexId(args[0]!, "lease");
    const resp = await ctx.client.leaseRevoke(id);
    if (ctx.format === "json") ctx.json({ header: headerJson(resp.header) });
    else ctx.out(`lease ${leaseHex(id)} revoked\n`);
    return 0;
  },
};

export const leaseTimeToLive: Command = {
  path: ["lease", "timetolive"],
  usage: "lease timetolive <leaseID> [options]",
  summary: "seconds left on a lease (and its keys with --keys)",
  flags: [{ name: "keys", kind: "bool", help: "also list the keys attached to the lease" }],
  async run(ctx, args) {
    ctx.noTable();
    needArgs(args, 1, 1, this.usage);
    const id = parseHexId(args[0]!, "lease");
    const keys = ctx.flags.bool("keys");
    const r = await ctx.client.leaseTimeToLive(id, { keys });
    if (ctx.format === "json") {
      ctx.json({ ...flatHeader(r.header), id: new RawNumber(r.ID), ttl: r.TTL, "granted-ttl": r.grantedTTL, keys: r.keys?.length ? r.keys.map(b64) : undefined });
    } else if (r.grantedTTL === 0 && r.TTL === -1) {
      ctx.out(`lease ${leaseHex(id)} already expired\n`);
    } else {
      let line = `lease ${leaseHex(id)} granted with TTL(${r.grantedTTL}s), remaining(${r.TTL}s)`;
      if (keys) line += `, attached keys([${(r.keys ?? []).map((k) => Buffer.from(k, "latin1").toString("utf8")).join(" ")}])`;
      ctx.out(line + "\n");
    }
    return 0;
  },
};

export const leaseList: Command = {
  path: ["lease", "list"],
  usage: "lease list",
  summary: "the ids of every live lease",
  flags: [],
  async run(ctx, args) {
    ctx.noTable();
    needArgs(args, 0, 0, this.usage);
    const r = await ctx.client.leaseLeases();
    if (ctx.format === "json") {
      ctx.json({ ...flatHeader(r.header), leases: r.leases.map((l) => ({ id: new RawNumber(l.ID) })) });
    } else {
      ctx.out(`found ${r.leases.length} leases\n`);
      for (const l of r.leases) ctx.out(`${leaseHex(l.ID)}\n`);
    }
    return 0;
  },
};

export const leaseKeepAlive: Command = {
  path: ["lease", "keep-alive"],
  usage: "lease keep-alive [options] <leaseID>",
  summary: "renew a lease over and over (Ctrl-C to stop)",
  flags: [{ name: "once", kind: "bool", help: "renew the lease once, then exit" }],
  async run(ctx, args) {
    ctx.noTable();
    needArgs(args, 1, 1, this.usage);
    const id = parseHexId(args[0]!, "lease");
    const print = (r: { header: Parameters<typeof flatHeader>[0]; ID: string; TTL: number }) => {
      if (ctx.format === "json") ctx.json({ ...flatHeader(r.header), ID: new RawNumber(r.ID), TTL: r.TTL });
      else ctx.out(`lease ${leaseHex(r.ID)} keepalived with TTL(${r.TTL})\n`);
    };
    if (ctx.flags.bool("once")) {
      print(await ctx.client.leaseKeepAliveOnce(id));
      return 0;
    }
    const ka = ctx.client.leaseKeepAlive(id, { onResponse: print, signal: ctx.io.signal });
    try {
      await ka.done;
    } catch (e) {
      if (!(e instanceof EtcdError && e.code === GrpcCode.NotFound)) throw e;
      if (ctx.format !== "json") ctx.out(`lease ${leaseHex(id)} expired or revoked.\n`);
    }
    return 0;
  },
};

export const leaseCommands = [leaseGrant, leaseRevoke, leaseTimeToLive, leaseList, leaseKeepAlive];
