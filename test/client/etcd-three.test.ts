// Book 12.5 and 12.10: EtcdClient and kvctl against a three-member etcd cluster — every member
// agrees, leadership moves on request, and the client fails over when the member it uses dies.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EtcdClient } from "../../packages/kv/src/client/index.js";
import { kvctlMain } from "../../packages/kv/src/kvctl/main.js";
import { type EtcdCluster, etcdAvailable, startEtcdCluster } from "../support/etcd-cluster.js";

describe.skipIf(!etcdAvailable())("EtcdClient against a three-member etcd", () => {
  let etcd: EtcdCluster;
  let c: EtcdClient;

  async function kvctl(args: string[]): Promise<{ code: number; out: string; err: string }> {
    let out = "";
    let err = "";
    const code = await kvctlMain(["--endpoints", etcd.endpoints.join(","), ...args], {
      stdout: (s) => void (out += Buffer.from(s).toString("utf8")),
      stderr: (s) => void (err += s),
    });
    return { code, out, err };
  }

  beforeAll(async () => {
    etcd = await startEtcdCluster({ members: 3 });
    c = new EtcdClient({ endpoints: etcd.endpoints });
  });
  afterAll(async () => {
    await c?.close();
    await etcd?.stop();
  });

  it("sees one cluster and one leader from every endpoint", async () => {
    const members = (await c.memberList()).members;
    expect(members.map((m) => m.name).sort()).toEqual(["e1", "e2", "e3"]);
    const statuses = await Promise.all(etcd.endpoints.map((endpoint) => c.status({ endpoint })));
    expect(new Set(statuses.map((s) => s.leader)).size).toBe(1);
    expect(new Set(statuses.map((s) => s.header.clusterId)).size).toBe(1);
    const put = await c.put({ key: "/three", value: "v" }, { endpoint: etcd.endpoints[0] });
    for (const endpoint of etcd.endpoints) {
      expect((await c.get("/three", { endpoint }))?.modRevision).toBe(put.header.revision);
    }
    const st = await kvctl(["endpoint", "status", "--cluster"]);
    expect(st.code).toBe(0);
    expect(st.out.trim().split("\n")).toHaveLength(3);
    expect(st.out.match(/, true, false, /g)).toHaveLength(1); // exactly one leader
  });

  it("moves leadership with moveLeader and with kvctl move-leader", async () => {
    const before = await c.status({ endpoint: await c.leaderEndpoint() });
    const target = (await c.memberList()).members.find((m) => m.ID !== before.leader)!;
    await c.moveLeader(target.ID);
    const after = await c.status({ endpoint: target.clientURLs[0] });
    expect(after.leader).toBe(target.ID);

    const next = (await c.memberList()).members.find((m) => m.ID !== target.ID)!;
    const hex = BigInt(next.ID).toString(16);
    const r = await kvctl(["move-leader", hex]);
    expect(r).toEqual({ code: 0, out: `Leadership transferred from ${BigInt(target.ID).toString(16)} to ${hex}\n`, err: "" });
    expect((await c.status({ endpoint: next.clientURLs[0] })).leader).toBe(next.ID);
  });

  it("fails over when the member it uses is killed", async () => {
    const leader = (await c.status()).leader;
    const members = (await c.memberList()).members;
    const victim = members.find((m) => m.ID !== leader)!;
    const others = etcd.endpoints.filter((e) => e !== victim.clientURLs[0]);
    const fc = new EtcdClient({ endpoints: [victim.clientURLs[0]!, ...others] });
    await fc.put({ key: "/fo", value: "1" });
    const i = etcd.endpoints.indexOf(victim.clientURLs[0]!);
    process.kill(etcd.pids[i]!, "SIGKILL");
    await new Promise((r) => setTimeout(r, 200));
    await fc.put({ key: "/fo", value: "2" });
    expect((await fc.get("/fo"))?.value).toBe("2");
    const h = await kvctl(["endpoint", "health"]);
    expect(h.code).toBe(1);
    expect(h.err).toContain(`${victim.clientURLs[0]} is unhealthy`);
    await fc.close();
  });
});
