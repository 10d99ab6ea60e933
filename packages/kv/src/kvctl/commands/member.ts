// Book 12.10: `kvctl member list|add|remove|promote` and `kvctl move-leader` — cluster membership
// and leadership, with member ids in hex as etcdctl prints and accepts them.
import type { Member } from "../../types.js";
import { UsageError } from "../args.js";
import { type Command, type Ctx, needArgs } from "../context.js";
import { hexId, parseHexId, table } from "../format.js";
import { headerJson, memberJson } from "../json.js";

function printMembers(ctx: Ctx, members: Member[]): void {
  const rows = members.map((m) => [
    hexId(m.ID), m.name === "" ? "unstarted" : "started", m.name, m.peerURLs.join(","), m.clientURLs.join(","), String(m.isLearner === true),
  ]);
  if (ctx.format === "table") {
    ctx.out(table(["ID", "STATUS", "NAME", "PEER ADDRS", "CLIENT ADDRS", "IS LEARNER"], rows));
  } else {
    for (const r of rows) ctx.out(r.join(", ") + "\n");
  }
}

export const memberList: Command = {
  path: ["member", "list"],
  usage: "member list",
  summary: "show every member: id, name, peer and client URLs",
  flags: [],
  async run(ctx, args) {
    needArgs(args, 0, 0, this.usage);
    const r = await ctx.client.memberList();
    if (ctx.format === "json") ctx.json({ header: headerJson(r.header), members: r.members.map(memberJson) });
    else printMembers(ctx, r.members);
    return 0;
  },
};

export const memberAdd: Command = {
  path: ["member", "add"],
  usage: "member add <memberName> [options]",
  summary: "announce a new member (start it afterwards with --initial-cluster-state existing)",
  flags: [
    { name: "peer-urls", kind: "string", default: "", help: "the new member's peer URLs, comma-separated" },
    { name: "learner", kind: "bool", help: "add it as a non-voting learner" },
  ],
  async run(ctx, args) {
    ctx.noTable();
    needArgs(args, 1, 1, this.usage);
    const name = args[0]!;
    const urls = ctx.flags.str("peer-urls").split(",").map((u) => u.trim()).filter(Boolean);
    if (urls.length === 0) throw new UsageError("the new member needs its peer URLs (--peer-urls)");
    for (const u of urls) {
      if (!/^https?:\/\/[^/]+$/.test(u.replace(/\/$/, ""))) throw new UsageError(`bad peer URL "${u}" (want e.g. http://10.0.0.2:2380)`);
    }
    const r = await ctx.client.memberAdd(urls, { isLearner: ctx.flags.bool("learner") });
    if (ctx.format === "json") {
      ctx.json({ header: headerJson(r.header), member: memberJson(r.member), members: r.members.map(memberJson) });
      return 0;
    }
    ctx.out(`Member ${hexId(r.member.ID).padStart(16)} added to cluster ${hexId(r.header.clusterId).padStart(16)}\n\n`);
    const conf: string[] = [];
    for (const m of r.members) {
      const n = m.ID === r.member.ID ? name : m.name;
      for (const u of m.peerURLs) conf.push(`${n}=${u}`);
    }
    ctx.out(`ETCD_NAME="${name}"\nETCD_INITIAL_CLUSTER="${conf.join(",")}"\n`);
    ctx.out(`ETCD_INITIAL_ADVERTISE_PEER_URLS="${r.member.peerURLs.join(",")}"\nETCD_INITIAL_CLUSTER_STATE="existing"\n`);
    return 0;
  },
};

export const memberRemove: Command = {
  path: ["member", "remove"],
  usage: "member remove <memberID>",
  summary: "take a member out of the cluster by id",
  flags: [],
  async run(ctx, args) {
    ctx.noTable();
    needArgs(args, 1, 1, this.usage);
    const id = parseHexId(args[0]!, "member");
    const r = await ctx.client.memberRemove(id);
    if (ctx.format === "json") ctx.json({ header: headerJson(r.header), members: r.members.map(memberJson) });
    else ctx.out(`Member ${hexId(id).padStart(16)} removed from cluster ${hexId(r.header.clusterId).padStart(16)}\n`);
    return 0;
  },
};

export const memberPromote: Command = {
  path: ["member", "promote"],
  usage: "member promote <memberID>",
  summary: "turn a learner into a voting member",
  flags: [],
  async run(ctx, args) {
    ctx.noTable();
    needArgs(args, 1, 1, this.usage);
    const id = parseHexId(args[0]!, "member");
    const r = await ctx.client.memberPromote(id);
    if (ctx.format === "json") ctx.json({ header: headerJson(r.header), members: r.members.map(memberJson) });
    else ctx.out(`Member ${hexId(id).padStart(16)} promoted in cluster ${hexId(r.header.clusterId).padStart(16)}\n`);
    return 0;
  },
};

export const moveLeader: Command = {
  path: ["move-leader"],
  usage: "move-leader <transferee-member-id>",
  summary: "hand leadership to the member with this id",
  flags: [],
  async run(ctx, args) {
    ctx.noTable();
    needArgs(args, 1, 1, this.usage);
    const target = parseHexId(args[0]!, "member");
    const leaderEp = await ctx.client.leaderEndpoint();
    const from = (await ctx.client.status({ endpoint: leaderEp })).header.memberId;
    const r = await ctx.client.moveLeader(target, { endpoint: leaderEp });
    if (ctx.format === "json") ctx.json({ header: headerJson(r.header) });
    else ctx.out(`Leadership transferred from ${hexId(from)} to ${hexId(target)}\n`);
    return 0;
  },
};

export const memberCommands = [memberList, memberAdd, memberRemove, memberPromote];
