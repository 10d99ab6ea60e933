// Book 12.4 (test helper): a process that saves log entries through LevelLog with tiny WAL
// segments and prints each index once its save resolved; the test SIGKILLs it mid-stream.
import { LevelLog } from "./level-log.js";

const [dir, segBytes] = process.argv.slice(2);
const log = await LevelLog.open(dir!, {}, { segmentBytes: Number(segBytes) });
const loaded = await log.load();
let next = (loaded.entries.at(-1)?.index ?? 0) + 1;
for (;;) {
  const n = 1 + (next % 7);
  const entries = Array.from({ length: n }, (_, i) => ({ index: next + i, term: 1, type: "normal" as const, data: `v${next + i}:` + "x".repeat((next + i) % 900) }));
  await log.save({ entries, hardState: { term: 1, vote: "0", commit: next + n - 1 } }, true);
  next += n;
  process.stdout.write(`${next - 1}\n`);
  if (next % 50 < 7) {
    // as the member does: a snapshot first, then the log before it goes
    await log.saveSnapshot({ meta: { index: next - 40, term: 1, conf: { voters: ["1"], learners: [] } }, data: `state@${next - 40}` });
    await log.compact(next - 40);
  }
}
