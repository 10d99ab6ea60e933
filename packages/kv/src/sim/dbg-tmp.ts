import { runSeed } from "./run.js";
import { describeOp } from "./history.js";
import { showEvent } from "./watch-check.js";
const [seed, members, dur, key, lo, hi] = process.argv.slice(2);
const r = await runSeed({ seed: Number(seed), members: Number(members), durationMs: Number(dur) * 1000, keepHistory: true, memberLogs: false });
console.log(r.failure?.kind);
const leases = new Set(process.argv.slice(8));
for (const op of r.history!) {
  const i = op.input as any;
  if (i.key === key || leases.has(i.lease) || (op.output as any)?.lease && leases.has((op.output as any).lease)) console.log(describeOp(op));
}
const seen = new Map<string, string>();
for (const w of r.watches!) for (const resp of w.responses) for (const e of resp.events) if (e.key === key && e.rev >= Number(lo) && e.rev <= Number(hi)) seen.set(`${e.rev}`, showEvent(e) + (e.prev ? ` prev=${e.prev.value}@${e.prev.modRev}/lease${e.prev.lease}` : "") + ` lease=${e.lease}`);
for (const [k, v] of [...seen].sort((a, b) => Number(a[0]) - Number(b[0]))) console.log("event", v);
