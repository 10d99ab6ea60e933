// Book 12.5: CAP in practice — a member cut off from its quorum refuses linearizable reads and
// writes (an error, never stale data), still answers serializable reads, and the cluster comes
// back when a majority returns.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RawEtcd } from "../support/etcd-json.js";
import { type KvCluster, startKv } from "../support/kv-process.js";

const etcd = new RawEtcd();
let kv: KvCluster;

beforeAll(async () => {
  kv = await startKv({ members: 3 });
}, 60_000);
afterAll(async () => {
  await etcd.close();
  await kv?.stop();
});

describe("a member without quorum", () => {
  it("refuses linearizable reads and writes but serves serializable reads", async () => {
    const survivor = kv.endpoints[0]!;
    await etcd.put(survivor, "/quorum/x", "before");
    // make sure the survivor has applied it before the others go away
    expect((await etcd.get(survivor, "/quorum/x")).value).toBe("before");
    await kv.kill(1);
    await kv.kill(2);

    const t0 = Date.now();
    const write = await etcd.call<{ error?: string; message?: string; code?: number }>(survivor, "/v3/kv/put", { key: Buffer.from("/quorum/x").toString("base64"), value: Buffer.from("lost").toString("base64") }, 20_000);
    expect(write.status).toBe(503);
    expect(write.body.code).toBe(14);
    expect(write.body.message).toMatch(/etcdserver: (request timed out|no leader|leader changed)/);

    const read = await etcd.call<{ code?: number; message?: string; kvs?: unknown[] }>(survivor, "/v3/kv/range", { key: Buffer.from("/quorum/x").toString("base64") }, 20_000);
    expect(read.status).toBe(503);
    expect(read.body.kvs).toBeUndefined();
    expect(Date.now() - t0).toBeLessThan(30_000);

    const stale = await etcd.get(survivor, "/quorum/x", { serializable: true });
    expect(stale.value).toBe("before");

    const health = await fetch(`${survivor}/health`);
    expect(((await health.json()) as { health: string }).health).toBe("false");

    // a majority again: writes go through (the timed-out write's outcome was unknown to the
    // client: a leader may still commit it, as etcd may)
    await kv.restart(1);
    await kv.waitHealthy(1);
    await kv.waitHealthy(0);
    expect(["before", "lost"]).toContain((await etcd.get(survivor, "/quorum/x")).value);
    await etcd.put(survivor, "/quorum/x", "after");
    expect((await etcd.get(kv.endpoints[1]!, "/quorum/x")).value).toBe("after");
  }, 90_000);
});
