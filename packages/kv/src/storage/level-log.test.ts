// Book 12.4: the write-ahead log keeps what was synced, replaces conflicting tails, and refuses
// to start from damaged data.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Level } from "level";
import { afterEach, describe, expect, it } from "vitest";
import type { Entry } from "../raft/types.js";
import { CorruptDataError } from "../server/deps.js";
import { LevelLog } from "./level-log.js";

const dirs: string[] = [];
function dir(): string {
  const d = mkdtempSync(join(tmpdir(), "corekube-wal-"));
  dirs.push(d);
  return d;
}
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const ent = (index: number, term: number, data = `cmd${index}`): Entry => ({ index, term, type: "normal", data });

describe("LevelLog", () => {
  it("reads back entries, hard state, meta and snapshot after reopening", async () => {
    const d = dir();
    let log = await LevelLog.open(d);
    await log.saveMeta({ clusterId: "1", memberId: "2", name: "n" });
    await log.save({ hardState: { term: 2, vote: "2", commit: 3 }, entries: [ent(1, 1), ent(2, 1), ent(3, 2)] }, true);
    await log.close();
    log = await LevelLog.open(d);
    const s = await log.load();
    expect(s.meta).toEqual({ clusterId: "1", memberId: "2", name: "n" });
    expect(s.hardState).toEqual({ term: 2, vote: "2", commit: 3 });
    expect(s.entries.map((e) => [e.index, e.term, e.data])).toEqual([[1, 1, "cmd1"], [2, 1, "cmd2"], [3, 2, "cmd3"]]);
    await log.close();
  });

  it("replaces a conflicting tail, including entries past the new end", async () => {
    const d = dir();
    const log = await LevelLog.open(d);
    await log.save({ entries: [ent(1, 1), ent(2, 1), ent(3, 1), ent(4, 1)] }, true);
    await log.save({ entries: [ent(3, 2, "new3")] }, true);
    const s = await log.load();
    expect(s.entries.map((e) => [e.index, e.term, e.data])).toEqual([[1, 1, "cmd1"], [2, 1, "cmd2"], [3, 2, "new3"]]);
    await log.close();
  });

  it("a leader's snapshot replaces the log; a local one keeps entries until compact", async () => {
    const d = dir();
    const log = await LevelLog.open(d);
    await log.save({ entries: [ent(1, 1), ent(2, 1), ent(3, 1)] }, true);
    await log.saveSnapshot({ meta: { index: 2, term: 1, conf: { voters: ["1"], learners: [] } }, data: "state@2" });
    let s = await log.load();
    expect(s.snapshot?.data).toBe("state@2");
    expect(s.entries.map((e) => e.index)).toEqual([3]);
    await log.compact(2);
    s = await log.load();
    expect(s.entries.map((e) => e.index)).toEqual([3]);
    await log.save({ snapshot: { meta: { index: 10, term: 3, conf: { voters: ["1"], learners: [] } }, data: "state@10" }, entries: [ent(11, 3)] }, true);
    s = await log.load();
    expect(s.snapshot?.meta.index).toBe(10);
    expect(s.entries.map((e) => e.index)).toEqual([11]);
    await log.close();
  });

  it("refuses to load an entry whose checksum does not match", async () => {
    const d = dir();
    const log = await LevelLog.open(d);
    await log.save({ entries: [ent(1, 1), ent(2, 1)] }, true);
    await log.close();
    const raw = new Level<string, string>(d);
    const key = "e" + (2).toString(16).padStart(16, "0");
    const rec = JSON.parse((await raw.get(key))!);
    rec.d = "tampered";
    await raw.put(key, JSON.stringify(rec));
    await raw.close();
    const again = await LevelLog.open(d);
    await expect(again.load()).rejects.toThrow(CorruptDataError);
    await expect(again.load()).rejects.toThrow(/checksum mismatch in log entry 2/);
    await again.close();
  });

  it("refuses a log with a hole in it", async () => {
    const d = dir();
    const log = await LevelLog.open(d);
    await log.save({ entries: [ent(1, 1), ent(2, 1), ent(3, 1)] }, true);
    await log.close();
    const raw = new Level<string, string>(d);
    await raw.del("e" + (2).toString(16).padStart(16, "0"));
    await raw.close();
    const again = await LevelLog.open(d);
    await expect(again.load()).rejects.toThrow(/gap: expected entry 2, found 3/);
    await again.close();
  });
});

describe("LevelLog after a crash", () => {
  it("holds every acknowledged entry when the writer is SIGKILLed mid-stream, many times", async () => {
    const { spawn } = await import("node:child_process");
    const { fileURLToPath } = await import("node:url");
    const child = fileURLToPath(new URL("./wal-crash-child.ts", import.meta.url));
    const d = dir();
    let acked = 0;
    for (let round = 0; round < 6; round++) {
      const p = spawn(process.execPath, ["--import", "tsx", child, d, String(16 * 1024)], { stdio: ["ignore", "pipe", "inherit"] });
      let buf = "";
      await new Promise<void>((resolve) => {
        p.stdout!.on("data", (c: Buffer) => {
          buf += c.toString();
          const lines = buf.split("\n");
          buf = lines.pop()!;
          for (const l of lines) acked = Math.max(acked, Number(l));
          if (lines.length > 0 && acked > (round + 1) * 300) p.kill("SIGKILL");
        });
        p.on("exit", () => resolve());
      });
      const log = await LevelLog.open(d, {}, { segmentBytes: 16 * 1024 });
      const s = await log.load();
      await log.close();
      const last = s.entries.at(-1)?.index ?? 0;
      expect(last, `round ${round}`).toBeGreaterThanOrEqual(acked);
      for (const e of s.entries) expect(e.data.startsWith(`v${e.index}:`)).toBe(true);
      if (s.snapshot) {
        expect(s.snapshot.data).toBe(`state@${s.snapshot.meta.index}`);
        expect(s.entries[0]?.index).toBe(s.snapshot.meta.index + 1);
      }
      for (let i = 1; i < s.entries.length; i++) expect(s.entries[i]!.index).toBe(s.entries[i - 1]!.index + 1);
      expect(s.hardState!.commit).toBeLessThanOrEqual(last);
    }
  }, 120_000);
});
