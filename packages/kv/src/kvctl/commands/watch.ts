// Book 12.10: `kvctl watch` — streams a key's or a prefix's events until interrupted (SIGINT),
// printed like etcdctl: the event type, then the previous key/value if asked, then key and value.
import { prefixRange } from "../../client/index.js";
import type { WatchCreateRequest, WatchResponse } from "../../watch/types.js";
import { UsageError } from "../args.js";
import { type Command, type Ctx, needArgs } from "../context.js";
import { eventJson, headerJson } from "../json.js";

const latin1 = (s: string) => Buffer.from(s, "utf8").toString("latin1");

export const watchCommand: Command = {
  path: ["watch"],
  usage: "watch [options] <key> [range_end]",
  summary: "print every change to a key or prefix as it happens (Ctrl-C to stop)",
  flags: [
    { name: "prefix", kind: "bool", help: "watch every key that starts with the given key" },
    { name: "rev", kind: "int", default: "0", help: "replay the changes since this revision first (0: only new changes)" },
    { name: "prev-kv", kind: "bool", help: "also print each key's value from before the change" },
    { name: "progress-notify", kind: "bool", help: "ask the server for periodic progress messages while nothing changes" },
  ],
  async run(ctx, args) {
    ctx.noTable();
    needArgs(args, 1, 2, this.usage);
    const f = ctx.flags;
    const req: WatchCreateRequest = { key: latin1(args[0]!), prevKv: f.bool("prev-kv"), progressNotify: f.bool("progress-notify") };
    if (args[1] !== undefined) {
      if (f.bool("prefix")) throw new UsageError("no range_end is allowed with --prefix");
      req.rangeEnd = latin1(args[1]);
    }
    if (f.bool("prefix")) Object.assign(req, prefixRange(req.key));
    if (f.int("rev") < 0) throw new UsageError("--rev must not be negative");
    if (f.int("rev") > 0) req.startRevision = f.int("rev");
    const w = ctx.client.watch(req, { signal: ctx.io.signal });
    await w.created;
    for await (const resp of w) {
      printResponse(ctx, resp);
      if (resp.canceled) {
        const why = resp.cancelReason || (resp.compactRevision ? `etcdserver: mvcc: required revision has been compacted (compact revision ${resp.compactRevision})` : "canceled by the server");
        ctx.io.stderr(`watch was canceled (${why})\n`);
        return 1;
      }
    }
    return 0;
  },
};

function printResponse(ctx: Ctx, resp: WatchResponse): void {
  if (ctx.format === "json") {
    ctx.json({
      Header: headerJson(resp.header), Events: resp.events.length ? resp.events.map(eventJson) : null,
      CompactRevision: resp.compactRevision ?? 0, Canceled: resp.canceled === true, Created: resp.created === true,
    });
    return;
  }
  for (const ev of resp.events) {
    ctx.out(`${ev.type}\n`);
    if (ev.prevKv) ctx.printKv(ev.prevKv);
    ctx.printKv(ev.kv);
  }
}
