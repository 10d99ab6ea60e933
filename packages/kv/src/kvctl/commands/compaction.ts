// Book 12.10: `kvctl compaction` — discards the key-value history below a revision, after which
// reads and watches from older revisions fail with "required revision has been compacted".
import { UsageError } from "../args.js";
import { type Command, needArgs } from "../context.js";
import { headerJson } from "../json.js";

export const compactionCommand: Command = {
  path: ["compaction"],
  usage: "compaction [options] <revision>",
  summary: "drop the history older than a revision",
  flags: [{ name: "physical", kind: "bool", help: "wait until the old revisions are gone from disk before returning" }],
  async run(ctx, args) {
    ctx.noTable();
    needArgs(args, 1, 1, this.usage);
    if (!/^\d+$/.test(args[0]!)) throw new UsageError(`bad revision "${args[0]}": expecting a positive integer`);
    const rev = Number(args[0]);
    const resp = await ctx.client.compact({ revision: rev, physical: ctx.flags.bool("physical") });
    if (ctx.format === "json") ctx.json({ header: headerJson(resp.header) });
    else ctx.out(`compacted revision ${rev}\n`);
    return 0;
  },
};
