// Book 12.9: three real `corekube kv` processes under concurrent writers while leaders and
// followers are SIGKILLed and restarted; afterwards no acknowledged write is missing, every
// member holds the same data, and what clients saw of shared keys is linearizable.
import { checkKvHistory } from "@corekube/kv/sim/linearizability";
import type { HistoryOp } from "@corekube/kv/sim/history";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type KvCluster, startKv } from "../support/kv-process.js";
import { RawEtcd } from "../support/etcd-json.js";

let cluster: KvCluster;
const etcd = new RawEtcd();

beforeAll(async () => {
  cluster = await startKv({ members: 3, snapshotCount: 300 });
}, 60_000);

afterAll(async () => {
  await etcd.close();
  await cluster?.stop();
});

async function leaderIndex(): Promise<number> {
  for (let attempt = 0; attempt < 100; attempt++) {
    for (let i = 0; i < cluster.members.length; i++) {
      if (!cluster.members[i]!.proc) continue;
      try {
        const s = await etcd.status(cluster.endpoints[i]!);
        if (s.leader !== "0" && s.leader === s.memberId) return i;
      } catch {
        // down or starting
      }
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error("no leader");
}

describe("corekube kv under SIGKILL", () => {
  it("keeps every acknowledged write through repeated leader and follower crashes", async () => {
    const acked = new Map<string, string>(); // key -> last acknowledged value
    const failed = new Set<string>(); // keys whose last write had an unknown outcome
    let stop = false;
    let okCount = 0;
    let errCount = 0;

    const writer = async (w: number) => {
      for (let i = 0; !stop; i++) {
        const key = `/kill/w${w}/k${i % 50}`;
        const value = `w${w}-${i}`;
        const ep = cluster.endpoints[(w + i) % cluster.endpoints.length]!;
        try {
          await etcd.put(ep, key, value, 3_000);
          acked.set(key, value);
          failed.delete(key);
          okCount++;
        } catch {
          failed.add(key); // indeterminate: may or may not have been applied
          errCount++;
          await new Promise((r) => setTimeout(r, 50));
        }
      }
    };
    // Clients that share three keys, reading and writing them; their history must be linearizable.
    const history: HistoryOp[] = [];
    let clock = 0;
    let opId = 0;
    const shared = async (c: number) => {
      for (let i = 0; !stop; i++) {
        const key = `/kill/shared/k${(c * 7 + i) % 3}`;
        const ep = cluster.endpoints[(c + i) % cluster.endpoints.length]!;
        const op: HistoryOp = { id: ++opId, client: c, member: ep, call: ++clock, ret: Infinity, callAt: Date.now(), retAt: 0, input: i % 2 ? { type: "get", key } : { type: "put", key, value: `s${c}-${i}` } };
        history.push(op);
        try {
          if (op.input.type === "put") {
            const rev = await etcd.put(ep, key, op.input.value, 3_000);
            op.output = { type: "write", rev };
          } else {
            const g = await etcd.get(ep, key, { timeoutMs: 3_000 });
            op.output = { type: "get", rev: g.revision, kv: g.value === undefined ? null : { value: g.value, modRev: g.modRevision, createRev: g.createRevision, version: g.version, lease: g.lease } };
          }
          op.ret = ++clock;
          op.retAt = Date.now();
        } catch (e) {
          op.error = (e as Error).message; // indeterminate: ret stays Infinity
          await new Promise((r) => setTimeout(r, 50));
        }
      }
    };
    const writers = [...[0, 1, 2, 3].map(writer), ...[10, 11, 12].map(shared)];

    try {
      for (let round = 0; round < 6; round++) {
        await new Promise((r) => setTimeout(r, 1_200));
        const leader = await leaderIndex();
        const victim = round % 2 === 0 ? leader : (leader + 1 + (round % 3 === 0 ? 1 : 0)) % 3;
        await cluster.kill(victim);
        await new Promise((r) => setTimeout(r, 1_500));
        await cluster.restart(victim);
        await cluster.waitHealthy(victim);
      }
      await new Promise((r) => setTimeout(r, 1_000));
    } finally {
      stop = true;
      await Promise.all(writers);
    }
    expect(okCount).toBeGreaterThan(200);

    // Every acknowledged write is there, unless a later write to that key had an unknown outcome.
    const ep = cluster.endpoints[await leaderIndex()]!;
    const { kvs } = await etcd.prefix(ep, "/kill/");
    for (const [key, value] of acked) {
      if (failed.has(key)) continue;
      expect(kvs.get(key), `acknowledged ${key}=${value}`).toBe(value);
    }

    // All members converge on the same data at the same revision.
    let views: { kvs: Map<string, string>; revision: number }[] = [];
    for (let attempt = 0; attempt < 50; attempt++) {
      views = await Promise.all(cluster.endpoints.map((e) => etcd.prefix(e, "/kill/", true)));
      if (views.every((v) => v.revision === views[0]!.revision)) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    for (const v of views) {
      expect(v.revision).toBe(views[0]!.revision);
      expect([...v.kvs.entries()].sort()).toEqual([...views[0]!.kvs.entries()].sort());
    }
    // Settle each write whose outcome the client never learned, from the store's own event
    // history: applied at revision r (its value is unique), or never applied (then it is dropped).
    let finalRev = 0; // the last revision that wrote a shared key
    for (const k of ["k0", "k1", "k2"]) finalRev = Math.max(finalRev, (await etcd.get(ep, `/kill/shared/${k}`)).modRevision);
    const applied = new Map((await etcd.history(ep, "/kill/shared/", 1, finalRev)).map((e) => [e.value, e.modRevision]));
    const settled = history.flatMap((op): HistoryOp[] => {
      if (op.output || op.input.type !== "put") return op.output ? [op] : [];
      const rev = applied.get(op.input.value);
      return rev === undefined ? [] : [{ ...op, output: { type: "write", rev } }];
    });
    const lin = checkKvHistory(settled, { maxStepsPerPartition: 2_000_000 });
    expect(lin.verdict, lin.explanation).not.toBe("illegal");
    expect(lin.verdict).toBe("ok");
    console.log(`linearizability of ${settled.length} operations on shared keys: ${lin.verdict}`);
    console.log(`kill test: ${okCount} acknowledged writes, ${errCount} failed or timed out, final revision ${views[0]!.revision}`);
  }, 240_000);
});
