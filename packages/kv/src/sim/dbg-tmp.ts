import { runSeed } from "./run.js";
import { showEvent } from "./watch-check.js";
const r = await runSeed({ seed: Number(process.argv[2]), members: Number(process.argv[3]), keepHistory: true, memberLogs: false });
console.log(r.failure?.kind, r.failure?.message);
const wid = Number(process.argv[4]);
const w = r.watches!.find((x) => x.id === wid)!;
console.log(`watch ${w.id} on ${w.member} start ${w.startRevision} open ${w.openAtEnd} responses ${w.responses.length}`);
const lo = Number(process.argv[5]), hi = Number(process.argv[6]);
for (const resp of w.responses) {
  const evs = resp.events;
  if (evs.length === 0 || (evs[evs.length - 1]!.rev >= lo && evs[0]!.rev <= hi) || resp.created || resp.canceled)
    console.log(`  t=${resp.at.toFixed(1)} seq=${resp.seq} hdr=${resp.revision} ${resp.created ? "created " : ""}${resp.canceled ? "canceled " : ""}${resp.progress ? "progress " : ""}${evs.map(showEvent).join(" ").slice(0, 300)}`);
}
