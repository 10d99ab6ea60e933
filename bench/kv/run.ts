// Book 12.8: etcd and corekube kv on the same machine, one after the other, measured the storage
// anchors' way (pnpm tsx bench/kv/run.ts [--quick]). Prints figures and ratios; asserts nothing.
import { EtcdClient } from "../../packages/kv/src/client/index.js";
import { startEtcdCluster } from "../../test/support/etcd-cluster.js";
import { getLoad, preload, putLoad, watchLatency } from "./load.js";
import { comparison, type Figure, line, type Point, ratio } from "./report.js";

interface Running {
  endpoints: string[];
  pids: number[];
  stop(): Promise<void>;
}

interface Target {
  name: string;
  start(members: 1 | 3): Promise<Running>;
}

const quick = process.argv.includes("--quick");
const seconds = quick ? 1 : 5;
const watchPuts = quick ? 100 : 500;
const PUT_CLIENTS = [1, 16, 64, 256];

const POINTS: Point[] = [
  ...PUT_CLIENTS.map((n) => ({ id: `put-1-${n}`, label: `put, 1 member, ${n} client${n === 1 ? "" : "s"}` })),
  { id: "get-1-64", label: "get (linearizable), 1 member, 64 clients" },
  { id: "watch-1", label: `watch put→event, ${watchPuts} puts` },
  { id: "put-3-64", label: "put, 3 members (to the leader), 64 clients" },
];

const etcdTarget: Target = { name: "etcd", start: (members) => startEtcdCluster({ members }) };

/** corekube kv through the lead's test/support/kv-process.ts, if it is there and works. */
async function corekubeTarget(): Promise<Target | string> {
  try {
    const path = "../../test/support/kv-process.js";
    const mod = (await import(path)) as { startKv?: (o: { members?: number }) => Promise<Running> };
    if (typeof mod.startKv !== "function") return "test/support/kv-process.ts has no startKv";
    const startKv = mod.startKv;
    return { name: "corekube", start: (members) => startKv({ members }) };
  } catch (e) {
    return (e as Error).message.split("\n")[0]!;
  }
}

function client(endpoints: string[]): EtcdClient {
  return new EtcdClient({ endpoints, connections: 512, timeoutMs: 30_000 });
}

async function measure(t: Target, out: Map<string, Figure>): Promise<void> {
  const record = (id: string, f: Figure) => {
    out.set(id, f);
    console.log(line(t.name, POINTS.find((p) => p.id === id)!, f));
  };
  const one = await t.start(1);
  let c = client(one.endpoints);
  try {
    await putLoad(c, 16, Math.min(1, seconds)); // warm up connections and the JIT; not reported
    for (const n of PUT_CLIENTS) record(`put-1-${n}`, await putLoad(c, n, seconds, one.pids));
    await preload(c);
    record("get-1-64", await getLoad(c, 64, seconds, one.pids));
    record("watch-1", await watchLatency(c, watchPuts));
  } finally {
    await c.close();
    await one.stop();
  }
  const three = await t.start(3);
  try {
    c = client(three.endpoints);
    const leader = await c.leaderEndpoint();
    await c.close();
    c = client([leader]);
    await putLoad(c, 16, Math.min(1, seconds));
    record("put-3-64", await putLoad(c, 64, seconds, three.pids));
  } finally {
    await c.close();
    await three.stop();
  }
}

async function main(): Promise<void> {
  console.log(`kv benchmark: ${seconds} s per point${quick ? " (--quick)" : ""}, 1 KiB values, keys /bench/put/<worker>/<i mod 1000>, EtcdClient on undici Pools`);
  console.log("durability: each server's defaults (etcd fsyncs its WAL before acknowledging; so does corekube kv by default)\n");
  const etcd = new Map<string, Figure>();
  const ours = new Map<string, Figure>();
  await measure(etcdTarget, etcd);
  const ck = await corekubeTarget();
  if (typeof ck === "string") {
    console.log(`\ncorekube: not available (${ck})`);
  } else {
    try {
      await measure(ck, ours);
    } catch (e) {
      console.log(`\ncorekube: failed: ${(e as Error).message.split("\n").slice(0, 5).join(" / ")}`);
    }
  }
  console.log("\n" + comparison(POINTS, etcd, ours, "corekube"));
  const show = (r: number, target: string) => (Number.isFinite(r) ? `${r.toFixed(2)}× (target ${target})` : `n/a (target ${target})`);
  console.log("\ntargets:");
  console.log(`  1 member, put @64 clients, corekube/etcd throughput: ${show(ratio(etcd.get("put-1-64"), ours.get("put-1-64")), "≥ 1.0×")}`);
  console.log(`  3 members, put @64 clients, corekube/etcd throughput: ${show(ratio(etcd.get("put-3-64"), ours.get("put-3-64")), "≥ 0.7×")}`);
  console.log(`  watch put→event p99, corekube/etcd: ${show(ratio(etcd.get("watch-1"), ours.get("watch-1")), "≤ 1.0×")}`);
}

await main();
process.exit(0);
