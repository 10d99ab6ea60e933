// child: open log at dir, perform a deterministic random sequence of saves from seed, report each acked step on stdout, SIGKILL self after K steps
import { LevelLog } from "./packages/kv/src/storage/level-log.ts";
const [dir, seedS, stepsS, segS] = process.argv.slice(2);
let seed = Number(seedS);
const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
const log = await LevelLog.open(dir!, {}, { segmentBytes: Number(segS) });
const st = await log.load();
let last = st.entries.at(-1)?.index ?? st.snapshot?.meta.index ?? 0;
let term = st.hardState?.term ?? 1;
const steps = Number(stepsS);
for (let i = 0; i < steps; i++) {
  const r = rnd();
  if (r < 0.1 && last > 3) {
    // conflicting tail
    const lo = last - Math.floor(rnd() * 3);
    term++;
    const ents = Array.from({ length: 1 + Math.floor(rnd() * 3) }, (_, j) => ({ index: lo + j, term, type: "normal" as const, data: `t${term}-${lo + j}-${"x".repeat(Math.floor(rnd() * 400))}` }));
    process.stdout.write(`INTENT ${JSON.stringify({ entries: ents })}\n`);
    await log.save({ entries: ents, hardState: { term, vote: "1", commit: Math.max(0, lo - 1) } }, true);
    last = ents.at(-1)!.index;
  } else if (r < 0.13 && last > 10) {
    await log.saveSnapshot({ meta: { index: last - 5, term, conf: { voters: ["1"], learners: [] } }, data: `snap${last - 5}` });
    await log.compact(last - 8);
  } else if (r < 0.14) {
    const idx = last + 5;
    process.stdout.write(`INTENT ${JSON.stringify({ snap: idx, entries: [{ index: idx + 1, term, type: "normal", data: "after-snap" }] })}\n`);
    await log.save({ snapshot: { meta: { index: idx, term, conf: { voters: ["1"], learners: [] } }, data: `lsnap${idx}` }, entries: [{ index: idx + 1, term, type: "normal", data: "after-snap" }], hardState: { term, vote: "1", commit: idx } }, true);
    last = idx + 1;
  } else {
    const n = 1 + Math.floor(rnd() * 5);
    const ents = Array.from({ length: n }, (_, j) => ({ index: last + 1 + j, term, type: "normal" as const, data: `t${term}-${last + 1 + j}-${"y".repeat(Math.floor(rnd() * 600))}` }));
    process.stdout.write(`INTENT ${JSON.stringify({ entries: ents })}\n`);
    await log.save({ entries: ents }, true);
    last += n;
  }
  process.stdout.write(`ACK ${i} ${last} ${term}\n`);
}
if (process.env.CLEAN) { await log.close(); process.exit(0); }
process.kill(process.pid, "SIGKILL");
