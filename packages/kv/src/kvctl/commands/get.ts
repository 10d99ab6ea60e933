// Book 12.10: `kvctl get` — a range read (one key, a prefix, from a key, at a revision) printed
// like etcdctl: key and value on alternate lines, or as JSON, or as a table.
import { prefixRange } from "../../client/index.js";
import type { RangeRequest, SortTarget } from "../../types.js";
import { UsageError } from "../args.js";
import { type Command, type Ctx, needArgs } from "../context.js";
import { table } from "../format.js";
import { headerJson, kvJson } from "../json.js";

const SORT_TARGETS: Record<string, SortTarget> = { CREATE: "CREATE", KEY: "KEY", MODIFY: "MOD", VALUE: "VALUE", VERSION: "VERSION" };

export const getCommand: Command = {
  path: ["get"],
  usage: "get [options] <key> [range_end]",
  summary: "read one key, a prefix, or a key range",
  flags: [
    { name: "consistency", kind: "string", default: "l", help: "l: linearizable read (via the leader), s: serializable (local, may be stale)" },
    { name: "order", kind: "string", default: "", help: "sort direction: ASCEND (when left empty) or DESCEND" },
    { name: "sort-by", kind: "string", default: "", help: "what to sort on: CREATE, KEY, MODIFY, VALUE or VERSION" },
    { name: "limit", kind: "int", default: "0", help: "return at most this many keys (0: no limit)" },
    { name: "prefix", kind: "bool", help: "read every key that starts with the given key" },
    { name: "from-key", kind: "bool", help: "read every key from the given one upward, in byte order" },
    { name: "rev", kind: "int", default: "0", help: "read as of this revision (0: the latest)" },
    { name: "keys-only", kind: "bool", help: "leave the values out" },
    { name: "count-only", kind: "bool", help: "print only how many keys match" },
    { name: "print-value-only", kind: "bool", help: "print values without their keys (simple output only)" },
  ],
  async run(ctx, args) {
    needArgs(args, 1, 2, this.usage);
    const req = rangeRequest(ctx, args);
    const resp = await ctx.client.range(req);
    if (ctx.format === "json") {
      ctx.json({ header: headerJson(resp.header), kvs: resp.kvs.length ? resp.kvs.map(kvJson) : undefined, more: resp.more || undefined, count: resp.count || undefined });
    } else if (ctx.format === "table") {
      const utf8 = (s: string) => Buffer.from(s, "latin1").toString("utf8");
      const rows = resp.kvs.map((kv) => [utf8(kv.key), utf8(kv.value), String(kv.createRevision), String(kv.modRevision), String(kv.version), kv.lease === "0" ? "" : BigInt(kv.lease).toString(16)]);
      ctx.out(table(["KEY", "VALUE", "CREATE REV", "MOD REV", "VERSION", "LEASE"], rows));
    } else if (req.countOnly) {
      ctx.out(`${resp.count}\n`);
    } else {
      for (const kv of resp.kvs) ctx.printKv(kv, ctx.flags.bool("print-value-only"));
    }
    return 0;
  },
};

function rangeRequest(ctx: Ctx, args: string[]): RangeRequest {
  const f = ctx.flags;
  let key = Buffer.from(args[0]!, "utf8").toString("latin1");
  const req: RangeRequest = { key };
  if (args[1] !== undefined) {
    if (f.bool("prefix") || f.bool("from-key")) throw new UsageError("no range_end is allowed with --prefix or --from-key");
    req.rangeEnd = Buffer.from(args[1], "utf8").toString("latin1");
  }
  if (f.bool("prefix") && f.bool("from-key")) throw new UsageError("use --prefix or --from-key, not both");
  if (f.bool("prefix")) Object.assign(req, prefixRange(key));
  if (f.bool("from-key")) {
    if (key === "") req.key = key = "\0";
    req.rangeEnd = "\0";
  }
  if (key === "" && !f.bool("prefix")) throw new UsageError("key is empty (use --prefix \"\" for every key)");
  const consistency = f.str("consistency");
  if (consistency !== "l" && consistency !== "s") throw new UsageError(`--consistency must be l or s, not "${consistency}"`);
  if (consistency === "s") req.serializable = true;
  if (f.int("limit") < 0) throw new UsageError("--limit must not be negative");
  req.limit = f.int("limit");
  req.revision = f.int("rev");
  const order = f.str("order").toUpperCase();
  if (order !== "" && order !== "ASCEND" && order !== "DESCEND") throw new UsageError(`--order must be ASCEND or DESCEND, not "${f.str("order")}"`);
  const sortBy = f.str("sort-by").toUpperCase();
  if (sortBy !== "" && !SORT_TARGETS[sortBy]) throw new UsageError(`--sort-by must be CREATE, KEY, MODIFY, VALUE or VERSION, not "${f.str("sort-by")}"`);
  if (order !== "" || sortBy !== "") {
    req.sortOrder = (order || "ASCEND") as "ASCEND" | "DESCEND";
    req.sortTarget = SORT_TARGETS[sortBy || "KEY"];
  }
  if (f.bool("keys-only")) req.keysOnly = true;
  if (f.bool("count-only")) {
    if (f.bool("keys-only")) throw new UsageError("use --keys-only or --count-only, not both");
    req.countOnly = true;
  }
  return req;
}
