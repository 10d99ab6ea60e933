// Book 11.2 and 12.8: the API server benchmark — real `corekube apiserver` processes over each
// storage backend (corekube kv, then Debian's etcd), measured against the API server's anchors.
//
//   pnpm exec tsx bench/apiserver/run.ts [--quick] [--backend kv|etcd] [--only creates,list,kubectl,steady,watch]
//                                        [--watchers N] [--watch-rate N] [--profile <dir>]
//
// --quick: smaller sizes (about a minute). --profile <dir>: the apiserver and storage processes are
// CPU-profiled (cpu-profile.mjs) and leave their .cpuprofile files in <dir>. Prints figures, each with its
// target and the ratio to it; asserts nothing.
import { mkdirSync } from "node:fs";
import { resolve } from "node:path";
import { Worker } from "node:worker_threads";
import { Agent } from "undici";
import { startControlPlane, type Backend, type ControlPlane } from "../../test/support/apiserver-process.js";
import { etcdAvailable } from "../../test/support/etcd-process.js";
import { kubectl, kubectlAvailable } from "../../test/support/kubectl.js";
import { call, closedLoop, cpuSeconds, expectOk, nowMs, percentile, pidsWith, steadyRate, type Client, type LoadResult, type WatcherConfig } from "./load.js";

const argv = process.argv.slice(2);
const quick = argv.includes("--quick");
const flag = (name: string) => {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1] : undefined;
};
const only = flag("--backend") as Backend | undefined;
const profileDir = flag("--profile");

const SIZE = quick
  ? { pods: 2_000, perNamespace: 1_000, warm: 300, clients: 32, rate: 500, steadySeconds: 4, watchers: 200, watchWrites: 40, watchSeconds: 2, listRuns: 3, kubectlRuns: 3 }
  : { pods: 10_000, perNamespace: 1_000, warm: 500, clients: 32, rate: 500, steadySeconds: 10, watchers: 1_000, watchWrites: 100, watchSeconds: 5, listRuns: 5, kubectlRuns: 5 };
/** --only creates,list,kubectl,steady,watch: a subset of the phases (LIST and kubectl need the creates). */
const phases = new Set((flag("--only") ?? "creates,list,kubectl,steady,watch").split(","));
const watchersFlag = flag("--watchers");
if (watchersFlag) SIZE.watchers = Number(watchersFlag);
/** --watch-rate N: writes per second during the fan-out (default 20); each reaches every watcher. */
const watchRate = Number(flag("--watch-rate") ?? 20);
SIZE.watchWrites = Math.max(1, Math.round(watchRate * SIZE.watchSeconds));
const WATCH_THREADS = 4;

const TARGET = {
  creates: 2_000, // pod creates/s at 32 clients, on corekube kv
  steadyP99: 50, // ms, mutating requests at 500 writes/s
  list: 300, // ms, LIST of 10,000 pods
  watchP99: 100, // ms, with 1,000 watchers
};

interface Figures {
  creates?: LoadResult;
  steady?: LoadResult & { lateStarts: number };
  /** The same mix at a rate this machine sustains, when 500/s is out of reach: the latency floor. */
  steadyLow?: LoadResult & { lateStarts: number; rate: number };
  listJson?: number[];
  listTable?: number[];
  listBytes?: { json: number; table: number };
  watch?: { watchers: number; writes: number; delivered: number; expected: number; p50: number; p99: number; max: number; connectMs: number; writeP50: number; serverCpu: number; clientCpu: number };
  kubectlCold?: number;
  kubectl?: number[];
  kubectlAll?: number;
}

const ms = (x: number | undefined) => (x === undefined || !Number.isFinite(x) ? "-" : x >= 100 ? x.toFixed(0) : x.toFixed(1));
const n0 = (x: number | undefined) => (x === undefined || !Number.isFinite(x) ? "-" : Math.round(x).toLocaleString("en-US"));
const median = (xs: number[] | undefined) => (xs && xs.length ? percentile([...xs].sort((a, b) => a - b), 50) : NaN);

/** "value (target X: ratio×)" — the ratio is value/target, so < 1 is good for times, > 1 for rates. */
function vsTarget(value: number, target: number, unit: string, higherBetter: boolean): string {
  const r = value / target;
  const ok = higherBetter ? r >= 1 : r <= 1;
  return `target ${higherBetter ? "≥" : "≤"} ${n0(target)}${unit}: ${r.toFixed(2)}× ${ok ? "(met)" : "(missed)"}`;
}

const podBody = (name: string, i: number) => ({
  apiVersion: "v1",
  kind: "Pod",
  metadata: { name, labels: { app: "bench", tier: `t${i % 10}` } },
  spec: { containers: [{ name: "app", image: "registry.k8s.io/pause:3.9", resources: { requests: { cpu: "10m", memory: "16Mi" } } }] },
});

async function namespace(c: Client, name: string): Promise<void> {
  expectOk(await call(c, "POST", "/api/v1/namespaces", { apiVersion: "v1", kind: "Namespace", metadata: { name } }), [201, 409], `namespace ${name}`);
}

async function timeList(c: Client, path: string, accept: string, runs: number, expectItems: number): Promise<{ times: number[]; bytes: number }> {
  const times: number[] = [];
  let bytes = 0;
  for (let r = -1; r < runs; r++) {
    const t0 = performance.now();
    const a = expectOk(await call(c, "GET", path, undefined, { accept }), 200, `LIST ${path}`);
    const t = performance.now() - t0;
    const body = JSON.parse(a.text) as { items?: unknown[]; rows?: unknown[] };
    const n = (body.items ?? body.rows ?? []).length;
    if (n !== expectItems) throw new Error(`LIST ${path} (${accept}): ${n} items, expected ${expectItems}`);
    bytes = a.text.length;
    if (r >= 0) times.push(t); // the first run warms up
  }
  return { times, bytes };
}

async function watchFanOut(cp: ControlPlane, c: Client, pids: number[], log: (s: string) => void): Promise<NonNullable<Figures["watch"]>> {
  const ns = "bench-watch";
  await namespace(c, ns);
  const base = `/api/v1/namespaces/${ns}/pods`;
  for (let i = 0; i < 10; i++) expectOk(await call(c, "POST", base, podBody(`w-${i}`, i)), 201, "watch pod");
  const rv = (JSON.parse(expectOk(await call(c, "GET", base), 200, "list").text) as { metadata: { resourceVersion: string } }).metadata.resourceVersion;
  const path = `${base}?watch=true&resourceVersion=${rv}&timeoutSeconds=600`;
  const t0 = performance.now();
  const workers = Array.from({ length: WATCH_THREADS }, (_, k) => {
    const count = Math.floor(SIZE.watchers / WATCH_THREADS) + (k < SIZE.watchers % WATCH_THREADS ? 1 : 0);
    const cfg: WatcherConfig = { url: cp.url, tls: cp.tls, path, count };
    return new Worker(new URL("./watchers.mjs", import.meta.url), { workerData: cfg });
  });
  const next = (w: Worker) => new Promise<any>((res, rej) => { // eslint-disable-line @typescript-eslint/no-explicit-any
    w.once("message", res);
    w.once("error", rej);
  });
  const ready = await Promise.all(workers.map(next));
  const connectMs = performance.now() - t0;
  const openErrors = ready.reduce((a, r) => a + r.errors, 0);
  if (openErrors) log(`  watch: ${openErrors} watchers failed to open: ${ready.find((r) => r.firstError)?.firstError}`);
  await new Promise((r) => setTimeout(r, 500));
  // The writer: merge patches stamping the send time into an annotation, at a steady rate.
  const writeLat: number[] = [];
  const interval = (SIZE.watchSeconds * 1000) / SIZE.watchWrites;
  const start = performance.now();
  const cpu0 = cpuSeconds(pids);
  const client0 = process.cpuUsage();
  const writes: Promise<void>[] = [];
  for (let j = 0; j < SIZE.watchWrites; j++) {
    const due = start + j * interval;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    const sent = nowMs();
    writes.push(
      call(c, "PATCH", `${base}/w-${j % 10}`, { metadata: { annotations: { "bench/sent": sent.toFixed(3) } } }, { "content-type": "application/merge-patch+json" }).then((a) => {
        expectOk(a, 200, "watch write");
        writeLat.push(nowMs() - sent);
      }),
    );
  }
  await Promise.all(writes);
  await new Promise((r) => setTimeout(r, 3_000));
  const elapsed = (performance.now() - start) / 1000;
  const serverCpu = (cpuSeconds(pids) - cpu0) / elapsed;
  const client = process.cpuUsage(client0);
  const clientCpu = (client.user + client.system) / 1e6 / elapsed;
  const done = await Promise.all(workers.map((w) => {
    const p = next(w);
    w.postMessage("stop");
    return p;
  }));
  await Promise.all(workers.map((w) => w.terminate()));
  const lat = done.flatMap((d) => d.latencies as number[]).sort((a, b) => a - b);
  writeLat.sort((a, b) => a - b);
  return {
    watchers: SIZE.watchers - openErrors,
    writes: SIZE.watchWrites,
    delivered: lat.length,
    expected: (SIZE.watchers - openErrors) * SIZE.watchWrites,
    p50: percentile(lat, 50),
    p99: percentile(lat, 99),
    max: lat[lat.length - 1] ?? NaN,
    connectMs,
    writeP50: percentile(writeLat, 50),
    serverCpu,
    clientCpu,
  };
}

async function measure(backend: Backend, f: Figures): Promise<void> {
  const log = (s: string) => console.log(`${backend.padEnd(4)} ${s}`);
  const cp = await startControlPlane({ backend });
  const agent = new Agent({ connect: { ca: cp.tls.ca, cert: cp.tls.cert, key: cp.tls.key }, connections: 64 });
  const c: Client = { url: cp.url, agent };
  const pids = [...pidsWith(cp.stateDir), ...pidsWith(`--listen-client-urls ${cp.etcdServers[0]}`)];
  try {
    log(`control plane up at ${cp.url} (server pids ${pids.join(", ")})`);
    if (phases.has("creates") || phases.has("list") || phases.has("kubectl")) await createsPhase();
    if (phases.has("list")) await listPhase();
    if (phases.has("kubectl")) await kubectlPhase();
    if (phases.has("steady")) await steadyPhase();
    if (phases.has("watch")) {
      f.watch = await watchFanOut(cp, c, pids, log);
      const w = f.watch;
      log(`watch fan-out, ${n0(w.watchers)} watchers, ${w.writes} writes at ${watchRate}/s: delivery p50 ${ms(w.p50)} ms, p99 ${ms(w.p99)} ms, max ${ms(w.max)} ms; ${n0(w.delivered)}/${n0(w.expected)} events delivered; opening the watchers took ${ms(w.connectMs)} ms; write p50 ${ms(w.writeP50)} ms; server ${w.serverCpu.toFixed(2)} cores, client (watcher threads) ${w.clientCpu.toFixed(2)} — ${vsTarget(w.p99, TARGET.watchP99, " ms", false)}`);
    }
  } finally {
    await agent.close();
    await cp.stop();
  }

  async function createsPhase() {
    const namespaces = Math.ceil(SIZE.pods / SIZE.perNamespace);
    for (let n = 0; n < namespaces; n++) await namespace(c, `bench-${n}`);
    const create = async (i: number) => {
      const ns = `bench-${Math.floor(i / SIZE.perNamespace)}`;
      expectOk(await call(c, "POST", `/api/v1/namespaces/${ns}/pods`, podBody(`p-${i}`, i)), 201, "create pod");
    };
    // The first pods warm up connections and the JIT; the rest are measured.
    await closedLoop(SIZE.clients, SIZE.warm, create, []);
    f.creates = await closedLoop(SIZE.clients, SIZE.pods - SIZE.warm, (i) => create(i + SIZE.warm), pids);
    log(`pod creates, ${SIZE.clients} clients: ${n0(f.creates.opsPerSec)}/s, p50 ${ms(f.creates.p50)} ms, p99 ${ms(f.creates.p99)} ms, ${f.creates.errors} errors; server ${f.creates.serverCpu.toFixed(2)} cores, client ${f.creates.clientCpu.toFixed(2)} — ${vsTarget(f.creates.opsPerSec, TARGET.creates, "/s", true)}`);
  }

  async function listPhase() {
    const list = await timeList(c, "/api/v1/pods", "application/json", SIZE.listRuns, SIZE.pods);
    f.listJson = list.times;
    const table = await timeList(c, "/api/v1/pods", "application/json;as=Table;v=v1;g=meta.k8s.io,application/json", SIZE.listRuns, SIZE.pods);
    f.listTable = table.times;
    f.listBytes = { json: list.bytes, table: table.bytes };
    log(`LIST ${n0(SIZE.pods)} pods, JSON: p50 ${ms(median(f.listJson))} ms of ${f.listJson.map(ms).join(", ")} (${(list.bytes / 1e6).toFixed(1)} MB) — ${vsTarget(median(f.listJson), TARGET.list, " ms", false)}`);
    log(`LIST ${n0(SIZE.pods)} pods, Table: p50 ${ms(median(f.listTable))} ms of ${f.listTable.map(ms).join(", ")} (${(table.bytes / 1e6).toFixed(1)} MB) — ${vsTarget(median(f.listTable), TARGET.list, " ms", false)}`);
  }

  async function kubectlPhase() {
    if (kubectlAvailable("1.33")) {
      const k = kubectl("1.33", cp.kubeconfig);
      try {
        const get = async (args: string[], lines: number) => {
          const t0 = performance.now();
          const out = await k.ok(args, { timeoutMs: 120_000 });
          const t = performance.now() - t0;
          const n = out.trim().split("\n").length;
          if (n !== lines) throw new Error(`kubectl ${args.join(" ")}: ${n} lines, expected ${lines}`);
          return t;
        };
        const args = ["get", "pods", "-n", "bench-0"];
        f.kubectlCold = await get(args, SIZE.perNamespace + 1);
        f.kubectl = [];
        for (let r = 0; r < SIZE.kubectlRuns; r++) f.kubectl.push(await get(args, SIZE.perNamespace + 1));
        f.kubectlAll = await get(["get", "pods", "-A"], SIZE.pods + 1);
        log(`kubectl 1.33 get pods (${n0(SIZE.perNamespace)} pods): p50 ${ms(median(f.kubectl))} ms of ${f.kubectl.map(ms).join(", ")}; first run (discovery) ${ms(f.kubectlCold)} ms; get pods -A (${n0(SIZE.pods)}) ${ms(f.kubectlAll)} ms`);
      } finally {
        k.cleanup();
      }
    } else {
      log("kubectl 1.33 is not installed: skipped");
    }
  }

  async function steadyPhase() {
    // A steady 500 writes/s: create s-k, patch s-(k-100), delete s-(k-200), round and round.
    const ns = "bench-steady";
    await namespace(c, ns);
    const base = `/api/v1/namespaces/${ns}/pods`;
    await closedLoop(SIZE.clients, 200, async (i) => void expectOk(await call(c, "POST", base, podBody(`s-${i}`, i)), 201, "steady pod"), []);
    let step = 0; // pods s-0 … s-(step+199) exist before each round
    const mix = async (rate: number, seconds: number) => {
      const first = step;
      const r = await steadyRate(
        rate,
        seconds,
        async (i) => {
          const k = 200 + first + Math.floor(i / 3);
          if (i % 3 === 0) expectOk(await call(c, "POST", base, podBody(`s-${k}`, k)), 201, "steady create");
          else if (i % 3 === 1) expectOk(await call(c, "PATCH", `${base}/s-${k - 100}`, { metadata: { labels: { step: String(i) } } }, { "content-type": "application/merge-patch+json" }), 200, "steady patch");
          else expectOk(await call(c, "DELETE", `${base}/s-${k - 200}?gracePeriodSeconds=0`), 200, "steady delete");
        },
        pids,
      );
      step += Math.ceil(Math.round(rate * seconds) / 3);
      return r;
    };
    f.steady = await mix(SIZE.rate, SIZE.steadySeconds);
    log(`mutating requests at ${SIZE.rate}/s for ${SIZE.steadySeconds} s (create/patch/delete): achieved ${n0(f.steady.opsPerSec)}/s, p50 ${ms(f.steady.p50)} ms, p99 ${ms(f.steady.p99)} ms, max ${ms(f.steady.max)} ms, ${f.steady.errors} errors${f.steady.firstError ? ` (${f.steady.firstError.slice(0, 120)})` : ""}, ${f.steady.lateStarts} late starts; server ${f.steady.serverCpu.toFixed(2)} cores — ${vsTarget(f.steady.p99, TARGET.steadyP99, " ms", false)}`);
    if (f.steady.opsPerSec < SIZE.rate * 0.9) {
      // 500/s is beyond this machine: the queue grew all along. The same mix at a rate it
      // sustains shows the latency of a write that does not wait behind others.
      await new Promise((r) => setTimeout(r, 2_000));
      const rate = Math.max(30, Math.round(Math.min(f.steady.opsPerSec, f.creates?.opsPerSec ?? Infinity) / 3 / 10) * 10);
      f.steadyLow = { ...(await mix(rate, 5)), rate };
      log(`  the same mix at ${rate}/s for 5 s: p50 ${ms(f.steadyLow.p50)} ms, p99 ${ms(f.steadyLow.p99)} ms, ${f.steadyLow.errors} errors; server ${f.steadyLow.serverCpu.toFixed(2)} cores`);
    }
  }
}

function summary(results: Map<Backend, Figures>): string {
  const rows: [string, string, (f: Figures) => string][] = [
    [`pod creates/s, ${SIZE.clients} clients`, `≥ ${n0(TARGET.creates)} (kv)`, (f) => n0(f.creates?.opsPerSec)],
    [`mutating p50 ms at ${SIZE.rate}/s`, "", (f) => ms(f.steady?.p50)],
    [`mutating p99 ms at ${SIZE.rate}/s`, `≤ ${TARGET.steadyP99}`, (f) => ms(f.steady?.p99)],
    ["mutating p50/p99 ms at a sustainable rate", "", (f) => (f.steadyLow ? `${ms(f.steadyLow.p50)}/${ms(f.steadyLow.p99)} @${f.steadyLow.rate}/s` : "-")],
    [`LIST ${n0(SIZE.pods)} pods JSON p50 ms`, `≤ ${TARGET.list}`, (f) => ms(median(f.listJson))],
    [`LIST ${n0(SIZE.pods)} pods Table p50 ms`, `≤ ${TARGET.list}`, (f) => ms(median(f.listTable))],
    [`watch p50 ms, ${n0(SIZE.watchers)} watchers, ${watchRate} events/s`, "", (f) => ms(f.watch?.p50)],
    [`watch p99 ms, ${n0(SIZE.watchers)} watchers, ${watchRate} events/s`, `≤ ${TARGET.watchP99}`, (f) => ms(f.watch?.p99)],
    [`kubectl get pods (${n0(SIZE.perNamespace)}) p50 ms`, "", (f) => ms(median(f.kubectl))],
    [`kubectl get pods -A (${n0(SIZE.pods)}) ms`, "", (f) => ms(f.kubectlAll)],
  ];
  const names = [...results.keys()];
  const head = ["figure", "target", ...names.map((n) => (n === "kv" ? "corekube kv" : "etcd"))];
  const body = rows.map(([label, target, get]) => [label, target, ...names.map((n) => get(results.get(n)!))]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((r) => r[i]!.length)));
  const fmt = (r: string[]) => r.map((x, i) => (i === 0 ? x.padEnd(widths[i]!) : x.padStart(widths[i]!))).join(" | ");
  return [fmt(head), widths.map((w) => "-".repeat(w)).join("-+-"), ...body.map(fmt)].join("\n");
}

async function main(): Promise<void> {
  if (profileDir) {
    const dir = resolve(profileDir);
    mkdirSync(dir, { recursive: true });
    // Inherited by the apiserver and storage processes (NODE_OPTIONS refuses --cpu-prof itself).
    const hook = new URL("./cpu-profile.mjs", import.meta.url).href;
    process.env.COREKUBE_CPU_PROFILE_DIR = dir;
    process.env.NODE_OPTIONS = `${process.env.NODE_OPTIONS ?? ""} --import ${hook}`.trim();
  }
  const backends: Backend[] = only ? [only] : ["kv", "etcd"];
  console.log(
    `apiserver benchmark${quick ? " (--quick)" : ""}: ${n0(SIZE.pods)} pods, ${SIZE.clients} create clients, ${SIZE.rate} writes/s for ${SIZE.steadySeconds} s, ${n0(SIZE.watchers)} watchers; ` +
      `TLS with the admin client certificate; one machine for clients and servers\n`,
  );
  const results = new Map<Backend, Figures>();
  for (const b of backends) {
    if (b === "etcd" && !etcdAvailable()) {
      console.log("etcd is not installed: skipped (scripts/setup.sh --test installs Debian's etcd-server)");
      continue;
    }
    const f: Figures = {};
    results.set(b, f);
    try {
      await measure(b, f);
    } catch (e) {
      console.log(`${b}: failed: ${(e as Error).message.split("\n").slice(0, 5).join(" / ")}`);
    }
    console.log("");
  }
  console.log(summary(results));
  if (profileDir) console.log(`\nCPU profiles in ${resolve(profileDir)} (open in Chrome DevTools or speedscope)`);
}

await main();
process.exit(0);
