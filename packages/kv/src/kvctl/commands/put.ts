// Book 12.10: `kvctl put` and `kvctl del` — one write each, printed like etcdctl ("OK", or the
// number deleted), with the previous key-values when --prev-kv asks for them.
import { prefixRange } from "../../client/index.js";
import type { DeleteRangeRequest } from "../../types.js";
import { UsageError } from "../args.js";
import { type Command, needArgs } from "../context.js";
import { parseHexId } from "../format.js";
import { headerJson, kvJson } from "../json.js";

const latin1 = (s: string) => Buffer.from(s, "utf8").toString("latin1");

export const putCommand: Command = {
  path: ["put"],
  usage: "put [options] <key> <value>  (<value> can also be given from stdin)",
  summary: "write a value under a key",
  flags: [
    { name: "lease", kind: "string", default: "0", help: "attach the key to this lease (hex id; 0: none)" },
    { name: "prev-kv", kind: "bool", help: "also print the key and value it had before this write" },
    { name: "ignore-value", kind: "bool", help: "keep the key's current value (to change only its lease)" },
    { name: "ignore-lease", kind: "bool", help: "keep the key's current lease" },
  ],
  async run(ctx, args) {
    ctx.noTable();
    const f = ctx.flags;
    const ignoreValue = f.bool("ignore-value");
    needArgs(args, 1, ignoreValue ? 1 : 2, this.usage);
    let value = args[1];
    if (value === undefined && !ignoreValue) {
      if (!ctx.io.stdin) throw new UsageError("no value: give it as a second argument or pipe it into stdin");
      value = await ctx.io.stdin();
    }
    const lease = f.str("lease") === "0" ? "0" : parseHexId(f.str("lease"), "lease");
    const resp = await ctx.client.put({
      key: latin1(args[0]!), value: latin1(value ?? ""), lease, prevKv: f.bool("prev-kv"),
      ignoreValue, ignoreLease: f.bool("ignore-lease"),
    });
    if (ctx.format === "json") {
      ctx.json({ header: headerJson(resp.header), prev_kv: resp.prevKv ? kvJson(resp.prevKv) : undefined });
      return 0;
    }
    ctx.out("OK\n");
    if (resp.prevKv) ctx.printKv(resp.prevKv);
    return 0;
  },
};

export const delCommand: Command = {
  path: ["del"],
  usage: "del [options] <key> [range_end]",
  summary: "delete one key, a prefix, or the range [key, range_end)",
  flags: [
    { name: "prefix", kind: "bool", help: "delete every key that starts with the given key" },
    { name: "prev-kv", kind: "bool", help: "also print the keys and values it deleted" },
    { name: "from-key", kind: "bool", help: "delete every key from the given one upward, in byte order" },
  ],
  async run(ctx, args) {
    ctx.noTable();
    needArgs(args, 1, 2, this.usage);
    const f = ctx.flags;
    const req: DeleteRangeRequest = { key: latin1(args[0]!), prevKv: f.bool("prev-kv") };
    if (args[1] !== undefined) {
      if (f.bool("prefix") || f.bool("from-key")) throw new UsageError("no range_end is allowed with --prefix or --from-key");
      req.rangeEnd = latin1(args[1]);
    }
    if (f.bool("prefix") && f.bool("from-key")) throw new UsageError("use --prefix or --from-key, not both");
    if (f.bool("prefix")) Object.assign(req, prefixRange(req.key));
    if (f.bool("from-key")) {
      if (req.key === "") req.key = "\0";
      req.rangeEnd = "\0";
    }
    if (req.key === "" && !f.bool("prefix")) throw new UsageError("key is empty");
    const resp = await ctx.client.deleteRange(req);
    if (ctx.format === "json") {
      ctx.json({ header: headerJson(resp.header), deleted: resp.deleted || undefined, prev_kvs: resp.prevKvs.length ? resp.prevKvs.map(kvJson) : undefined });
      return 0;
    }
    ctx.out(`${resp.deleted}\n`);
    for (const kv of resp.prevKvs) ctx.printKv(kv);
    return 0;
  },
};
