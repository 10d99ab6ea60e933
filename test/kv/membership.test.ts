// Book 12.9: membership changes on real processes — a fourth member is added with
// `member add` and `--initial-cluster-state existing`, catches up (through a snapshot), and a
// member is removed while the cluster keeps serving.
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RawEtcd } from "../support/etcd-json.js";
import { type KvCluster, startKv } from "../support/kv-process.js";
import { freePort } from "../support/ports.js";

const etcd = new RawEtcd();
let kv: KvCluster;

beforeAll(async () => {
  kv = await startKv({ members: 3, snapshotCount: 50 });
}, 60_000);
afterAll(async () => {
  await etcd.close();
  await kv?.stop();
});

type MemberJson = { ID: string; name?: string; peerURLs?: string[]; clientURLs?: string[] };

describe("membership", () => {
  it("adds a member that catches up, then removes one", async () => {
    const ep = kv.endpoints[0]!;
    for (let i = 0; i < 120; i++) await etcd.put(ep, `/members/${i}`, `v${i}`);

    const peerURL = `http://127.0.0.1:${await freePort()}`;
    const clientURL = `http://127.0.0.1:${await freePort()}`;
    const added = await etcd.call<{ member: MemberJson; members: MemberJson[] }>(ep, "/v3/cluster/member/add", { peerURLs: [peerURL] });
    expect(added.status).toBe(200);
    expect(added.body.members).toHaveLength(4);
    const newId = added.body.member.ID;

    const dup = await etcd.call<{ message: string; code: number }>(ep, "/v3/cluster/member/add", { peerURLs: [peerURL] });
    expect(dup.status).toBe(412); // FailedPrecondition: grpc-gateway v1, as in etcd 3.4
    expect(dup.body.message).toBe("etcdserver: Peer URLs already exists");

    const first = kv.members[0]!;
    const initialCluster = [...kv.members.map((m) => `${m.name}=${m.peerURL}`), `m4=${peerURL}`].join(",");
    kv.members.push({
      name: "m4",
      clientURL,
      peerURL,
      dataDir: join(first.dataDir, "..", "m4"),
      log: [],
      args: ["kv", "--name", "m4", "--data-dir", join(first.dataDir, "..", "m4"), "--listen-client-urls", clientURL, "--advertise-client-urls", clientURL, "--listen-peer-urls", peerURL, "--initial-advertise-peer-urls", peerURL, "--initial-cluster", initialCluster, "--initial-cluster-state", "existing", "--snapshot-count", "50"],
    });
    kv.endpoints.push(clientURL);
    await kv.restart(3);
    await kv.waitHealthy(3);

    // the newcomer has everything (it was too far behind for the log: a snapshot was sent)
    let view = await etcd.prefix(clientURL, "/members/", true);
    for (let i = 0; i < 50 && view.kvs.size < 120; i++) {
      await new Promise((r) => setTimeout(r, 100));
      view = await etcd.prefix(clientURL, "/members/", true);
    }
    expect(view.kvs.size).toBe(120);
    expect(view.kvs.get("/members/119")).toBe("v119");

    // it published its name and client URL through the log
    let list = await etcd.call<{ members: MemberJson[] }>(ep, "/v3/cluster/member/list", {});
    for (let i = 0; i < 50 && !list.body.members.find((m) => m.ID === newId)?.name; i++) {
      await new Promise((r) => setTimeout(r, 100));
      list = await etcd.call<{ members: MemberJson[] }>(ep, "/v3/cluster/member/list", {});
    }
    expect(list.body.members.find((m) => m.ID === newId)).toMatchObject({ name: "m4", peerURLs: [peerURL], clientURLs: [clientURL] });

    // remove the second member; the other three keep serving writes and reads
    const victim = list.body.members.find((m) => m.name === "m2")!;
    const removed = await etcd.call<{ members: MemberJson[] }>(ep, "/v3/cluster/member/remove", { ID: victim.ID });
    expect(removed.status).toBe(200);
    expect(removed.body.members.map((m) => m.name).sort()).toEqual(["m1", "m3", "m4"]);
    await etcd.put(clientURL, "/members/after", "yes");
    expect((await etcd.get(kv.endpoints[2]!, "/members/after")).value).toBe("yes");

    const gone = await etcd.call<{ message: string }>(ep, "/v3/cluster/member/remove", { ID: victim.ID });
    expect(gone.status).toBe(404);
    expect(gone.body.message).toBe("etcdserver: member not found");
  }, 90_000);
});
