// parent: run child with random kills (SIGKILL mid-run from outside too), then verify log contiguity and tail state against child's acks
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { LevelLog } from "./packages/kv/src/storage/level-log.ts";
let failures = 0;
for (let trial = 0; trial < Number(process.env.TRIALS ?? 6); trial++) {
  const dir = mkdtempSync(join(tmpdir(), "waltest-"));
  let expectLast = 0;
  let model = new Map<number, string>();
  const applyIntent = (m: Map<number, string>, it: any) => {
    if (!it) return;
    if (it.snap !== undefined) m.clear();
    const lo = it.entries[0].index;
    for (const k of [...m.keys()]) if (k >= lo) m.delete(k);
    for (const e of it.entries) m.set(e.index, e.term + ":" + e.data);
  };
  for (let round = 0; round < 4; round++) {
    const child = spawn(process.execPath, ["--import", "tsx", ".tmpwalchild.mts", dir, String(trial * 100 + round + 1), "300", String(round % 2 ? 4096 : 20000)], { stdio: ["ignore", "pipe", "inherit"], env: { ...process.env, CLEAN: round === 3 ? "1" : "" } });
    let lastAck = "";
    let buf = "";
    let pendingIntent: any = null;
    child.stdout.on("data", (d) => { buf += d; const lines = buf.split("\n"); buf = lines.pop()!; for (const l of lines) { if (l.startsWith("INTENT ")) pendingIntent = JSON.parse(l.slice(7)); else if (l.startsWith("ACK")) { lastAck = l; applyIntent(model, pendingIntent); pendingIntent = null; } } });
    const killAt = 200 + Math.random() * 1500;
    const t = setTimeout(() => child.kill("SIGKILL"), killAt);
    await new Promise((r) => child.on("exit", r));
    clearTimeout(t);
    if (lastAck) expectLast = Number(lastAck.split(" ")[2]);
    const log = await LevelLog.open(dir, {}, { segmentBytes: round % 2 ? 4096 : 20000 });
    try {
      const st = await log.load();
      const got = st.entries.at(-1)?.index ?? st.snapshot?.meta.index ?? 0;
      // acked last must be present: got >= expectLast (a not-yet-acked write may also be there)
      let ok = got >= expectLast;
      const check = (m: Map<number, string>) => st.entries.every((e) => m.get(e.index) === e.term + ":" + e.data) && [...m.keys()].filter((k) => k > (st.snapshot?.meta.index ?? 0)).length === st.entries.length;
      const withPending = new Map(model); if (pendingIntent) applyIntent(withPending, pendingIntent);
      if (check(model)) {} else if (pendingIntent && check(withPending)) { model = withPending; } else { ok = false; console.log("CONTENT MISMATCH"); }
      console.log(`trial ${trial} round ${round} ack ${lastAck} loaded last ${got} entries ${st.entries.length} snap ${st.snapshot?.meta.index ?? "-"} ${ok ? "ok" : "MISSING"}`);
      if (!ok) failures++;
      expectLast = got;
    } catch (e) { console.log("LOAD ERROR", (e as Error).message); failures++; }
    await log.close();
  }
  rmSync(dir, { recursive: true, force: true });
}
console.log("failures", failures);
