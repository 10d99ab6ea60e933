// Book 12.4: a single `corekube kv` process — writes survive a SIGKILL (they were fsynced before
// the client heard "ok"), damaged data stops the member with a clear message, and the command's
// flags and help behave.
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { Level } from "level";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RawEtcd } from "../support/etcd-json.js";
import { CLI, type KvCluster, startKv } from "../support/kv-process.js";

const run = promisify(execFile);
const etcd = new RawEtcd();
let kv: KvCluster;

beforeAll(async () => {
  kv = await startKv();
});
afterAll(async () => {
  await etcd.close();
  await kv?.stop();
});

async function corekube(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const r = await run(process.execPath, ["--import", "tsx", CLI, ...args], { timeout: 30_000 });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (e) {
    const err = e as { code: number; stdout: string; stderr: string };
    return { code: err.code, stdout: err.stdout, stderr: err.stderr };
  }
}

describe("corekube kv process", () => {
  it("keeps acknowledged writes across SIGKILL and restart", async () => {
    const ep = kv.endpoints[0]!;
    const revs: number[] = [];
    for (let i = 0; i < 50; i++) revs.push(await etcd.put(ep, `/durable/${i}`, `v${i}`));
    expect(revs).toEqual([...revs].sort((a, b) => a - b));
    await kv.kill(0);
    await kv.restart(0);
    await kv.waitHealthy(0);
    const { kvs, revision } = await etcd.prefix(ep, "/durable/");
    expect(kvs.size).toBe(50);
    expect(kvs.get("/durable/49")).toBe("v49");
    expect(revision).toBe(revs.at(-1));
    // and it still takes writes, at the next revision
    expect(await etcd.put(ep, "/durable/after", "x")).toBe(revs.at(-1)! + 1);
  });

  it("refuses to start on a damaged log, naming the entry", async () => {
    await kv.kill(0);
    const db = new Level<string, string>(`${kv.members[0]!.dataDir}/member/wal`);
    const keys: string[] = [];
    for await (const k of db.keys({ gte: "e", lt: "e~" })) keys.push(k);
    const victim = keys[Math.floor(keys.length / 2)]!;
    const rec = JSON.parse((await db.get(victim))!);
    rec.d = rec.d.replace(/v/g, "V");
    await db.put(victim, JSON.stringify(rec));
    await db.close();
    const m = kv.members[0]!;
    const r = await corekube(...m.args);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/checksum mismatch in log entry \d+/);
    expect(r.stderr).not.toMatch(/at .*\.ts:\d+/); // a message, not a stack trace
  });

  it("documents every command and rejects bad flags with a hint", async () => {
    const top = await corekube("--help");
    expect(top.code).toBe(0);
    for (const cmd of ["up", "down", "status", "kv", "kvctl", "kubelet", "images", "doctor"]) expect(top.stdout).toContain(cmd);
    for (const cmd of ["up", "down", "status", "kv", "kubelet", "images", "doctor"]) {
      const h = await corekube(cmd, "--help");
      expect(h.code, cmd).toBe(0);
      expect(h.stdout).toMatch(/Usage: corekube/);
    }
    const kvHelp = await corekube("kv", "--help");
    for (const f of ["--name", "--data-dir", "--listen-client-urls", "--advertise-client-urls", "--listen-peer-urls", "--initial-advertise-peer-urls", "--initial-cluster", "--initial-cluster-state"]) {
      expect(kvHelp.stdout).toContain(f);
    }
    const bad = await corekube("kv", "--no-such-flag");
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/unknown flag --no-such-flag/);
    const badState = await corekube("kv", "--initial-cluster-state", "maybe");
    expect(badState.code).toBe(2);
    expect(badState.stderr).toMatch(/"new" or "existing"/);
    const unknown = await corekube("frobnicate");
    expect(unknown.code).toBe(2);
  });
});
