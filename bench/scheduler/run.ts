// Book 11.2.3-11.2.4: the scheduler benchmark, shaped like upstream's scheduler_perf: nodes are
// created directly (no kubelets), then pods; a real `corekube scheduler` process binds them through a
// real `corekube apiserver` on `corekube kv`. Prints pods/s and the ratio to upstream's thresholds.
//
//   pnpm bench:scheduler [--quick] [--only basic,spread,affinity] [--create-concurrency N] [--profile <dir>]
//
// decisions: the algorithm alone, in process, for each case's sizes (no API server).
// SchedulingBasic: 5,000 nodes, 1,000 initial pods, 10,000 measured pods (threshold 270 pods/s, our
// target 500). TopologySpreading and SchedulingPodAffinity: 500 nodes, 500 initial, 1,000 measured
// (upstream's thresholds, 85 and 35 pods/s, are for 5,000 nodes). --quick divides the sizes by 10.
// --profile <dir>: the scheduler, apiserver and kv processes leave .cpuprofile files there. Asserts nothing.
import { type ChildProcess, spawn } from "node:child_process";
import { mkdirSync } from "node:fs";
import { resolve } from "node:path";
import type { Node, Pod } from "@corekube/api";
import { NAMESPACES, NODES, PODS, RestClient } from "@corekube/client";
import { type ControlPlane, startControlPlane } from "../../test/support/apiserver-process.js";
import { CLI } from "../../test/support/kv-process.js";
import { stopProcess } from "../../test/support/ports.js";
import { cpuSeconds } from "../apiserver/load.js";
import { measureDecisions } from "./decisions.js";

const argv = process.argv.slice(2);
const quick = argv.includes("--quick");
const flag = (name: string) => {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1] : undefined;
};
const only = new Set((flag("--only") ?? "decisions,basic,spread,affinity").split(","));
const CREATE_CONCURRENCY = Number(flag("--create-concurrency") ?? 64);
const scale = (n: number) => (quick ? Math.max(1, Math.round(n / 10)) : n);

interface Case {
  key: string;
  name: string;
  nodes: number;
  initPods: number;
  measurePods: number;
  /** Upstream's threshold (pods/s) and which workload it belongs to. */
  threshold: number;
  thresholdOf: string;
  target?: number;
  zones?: string[];
  pod: (i: number, ns: string) => Pod;
}

const basePod = (name: string, ns: string, labels: Record<string, string> = {}): Pod => ({
  metadata: { name, namespace: ns, labels },
  spec: {
    containers: [{ name: "pause", image: "registry.k8s.io/pause:3.10", resources: { requests: { cpu: "100m", memory: "500Mi" }, limits: { cpu: "100m", memory: "500Mi" } } }],
  },
});

const CASES: Case[] = [
  {
    key: "basic",
    name: "SchedulingBasic",
    nodes: scale(5_000),
    initPods: scale(1_000),
    measurePods: scale(10_000),
    threshold: 270,
    thresholdOf: "SchedulingBasic/5000Nodes_10000Pods",
    target: 500,
    pod: (i, ns) => basePod(`pod-${i}`, ns),
  },
  {
    key: "spread",
    name: "TopologySpreading",
    nodes: scale(500),
    initPods: scale(500),
    measurePods: scale(1_000),
    threshold: 85,
    thresholdOf: "TopologySpreading/5000Nodes_5000Pods",
    zones: ["moon-1", "moon-2", "moon-3"],
    pod: (i, ns) => {
      const p = basePod(`pod-${i}`, ns, { color: "blue" });
      p.spec.topologySpreadConstraints = [
        { maxSkew: 5, topologyKey: "topology.kubernetes.io/zone", whenUnsatisfiable: "DoNotSchedule", labelSelector: { matchLabels: { color: "blue" } } },
      ];
      return p;
    },
  },
  {
    key: "affinity",
    name: "SchedulingPodAffinity",
    nodes: scale(500),
    initPods: scale(500),
    measurePods: scale(1_000),
    threshold: 35,
    thresholdOf: "SchedulingPodAffinity/5000Nodes_5000Pods",
    zones: ["zone1"],
    pod: (i, ns) => {
      const p = basePod(`pod-${i}`, ns, { color: "blue" });
      p.spec.affinity = {
        podAffinity: {
          requiredDuringSchedulingIgnoredDuringExecution: [
            { labelSelector: { matchLabels: { color: "blue" } }, topologyKey: "topology.kubernetes.io/zone", namespaces: ["sched-0", "sched-1"] },
          ],
        },
      };
      return p;
    },
  },
];

function node(i: number, zones?: string[]): Node {
  const name = `node-${i}`;
  const labels: Record<string, string> = { "kubernetes.io/hostname": name };
  if (zones) labels["topology.kubernetes.io/zone"] = zones[i % zones.length]!;
  const capacity = { pods: "110", cpu: "4", memory: "32Gi" };
  return {
    metadata: { name, labels },
    spec: {},
    status: { capacity, allocatable: capacity, conditions: [{ type: "Ready", status: "True", reason: "KubeletReady", message: "simulated" }], phase: "Running" },
  };
}

async function inParallel(total: number, concurrency: number, op: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < total; i = next++) await op(i);
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, total) }, worker));
}

/** Counts pods of `namespace` as they get a node, from one watch. */
class BoundCounter {
  bound = 0;
  firstBound = 0;
  lastBound = 0;
  private seen = new Set<string>();
  private ac = new AbortController();
  private done: Promise<void>;
  constructor(client: RestClient, namespace: string, rv: string) {
    const pods = client.resource<Pod>(PODS);
    this.done = (async () => {
      for await (const ev of pods.watch({ namespace, resourceVersion: rv, signal: this.ac.signal })) {
        const p = ev.object;
        if (ev.type === "BOOKMARK" || !p.spec?.nodeName || this.seen.has(p.metadata.name!)) continue;
        this.seen.add(p.metadata.name!);
        this.bound++;
        const t = performance.now();
        if (this.firstBound === 0) this.firstBound = t;
        this.lastBound = t;
      }
    })().catch((e: unknown) => {
      if (!this.ac.signal.aborted) console.error(`watch failed: ${(e as Error).message}`);
    });
  }
  async until(n: number, timeoutMs: number): Promise<boolean> {
    const deadline = performance.now() + timeoutMs;
    while (this.bound < n) {
      if (performance.now() > deadline) return false;
      await new Promise((r) => setTimeout(r, 20));
    }
    return true;
  }
  async stop(): Promise<void> {
    this.ac.abort();
    await this.done;
  }
}

function startScheduler(kubeconfig: string): { proc: ChildProcess; log: () => string } {
  const out: string[] = [];
  const proc = spawn(
    process.execPath,
    ["--import", "tsx", CLI, "scheduler", "--kubeconfig", kubeconfig, "--leader-elect=false", "--secure-port", "0", "--kube-api-qps", "0"],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  const keep = (b: Buffer) => {
    out.push(b.toString());
    if (out.length > 200) out.splice(0, 100);
  };
  proc.stdout!.on("data", keep);
  proc.stderr!.on("data", keep);
  return { proc, log: () => out.join("") };
}

const fmt = (x: number) => (x >= 100 ? x.toFixed(0) : x.toFixed(1));

async function runCase(c: Case): Promise<void> {
  console.log(`\n== ${c.name}: ${c.nodes} nodes, ${c.initPods} initial pods, ${c.measurePods} measured pods`);
  const cp: ControlPlane = await startControlPlane({ backend: "kv" });
  const client = await RestClient.fromKubeconfig({ path: cp.kubeconfig, qps: 0, userAgent: "bench-scheduler" });
  let sched: ReturnType<typeof startScheduler> | undefined;
  try {
    for (const ns of ["sched-0", "sched-1"]) await client.resource(NAMESPACES).create({ metadata: { name: ns } });
    const t0 = performance.now();
    await inParallel(c.nodes, 64, async (i) => {
      await client.resource<Node>(NODES).create(node(i, c.zones));
    });
    console.log(`  nodes created in ${fmt((performance.now() - t0) / 1000)} s`);

    sched = startScheduler(cp.kubeconfig);
    const pods = client.resource<Pod>(PODS);
    // Initial pods, not measured (as scheduler_perf's initPods).
    const initRv = (await pods.list({ namespace: "sched-0", limit: 1 })).metadata.resourceVersion!;
    const init = new BoundCounter(client, "sched-0", initRv);
    await inParallel(c.initPods, CREATE_CONCURRENCY, async (i) => {
      await pods.create(c.pod(i, "sched-0"));
    });
    if (!(await init.until(c.initPods, 300_000))) throw new Error(`initial pods not all bound (${init.bound}/${c.initPods})\n${sched.log()}`);
    await init.stop();

    // Measured pods: created with the scheduler running; throughput sampled every second.
    const rv = (await pods.list({ namespace: "sched-1", limit: 1 })).metadata.resourceVersion!;
    const counter = new BoundCounter(client, "sched-1", rv);
    const pids = [sched.proc.pid!];
    const cpu0 = cpuSeconds(pids);
    const samples: number[] = [];
    let last = 0;
    const sampler = setInterval(() => {
      samples.push(counter.bound - last);
      last = counter.bound;
    }, 1000);
    const start = performance.now();
    let created = 0;
    const creating = inParallel(c.measurePods, CREATE_CONCURRENCY, async (i) => {
      await pods.create(c.pod(i, "sched-1"));
      created++;
    }).then(() => performance.now());
    const ok = await counter.until(c.measurePods, 600_000);
    const createdAt = await creating;
    clearInterval(sampler);
    if (counter.bound > last) samples.push(counter.bound - last);
    const schedCpu = cpuSeconds(pids) - cpu0;
    await counter.stop();
    if (!ok) throw new Error(`only ${counter.bound}/${c.measurePods} measured pods bound (created ${created})\n${sched.log()}`);
    const seconds = (counter.lastBound - start) / 1000;
    const avg = c.measurePods / seconds;
    const sorted = samples.filter((s) => s > 0).sort((a, b) => a - b);
    const pct = (p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;
    const createRate = c.measurePods / ((createdAt - start) / 1000);
    console.log(`  measured pods created at ${fmt(createRate)} pods/s; last bound ${fmt(seconds)} s after the first create`);
    console.log(`  SchedulingThroughput average: ${fmt(avg)} pods/s (per-second samples p50 ${pct(50)}, p90 ${pct(90)}, max ${pct(100)})`);
    console.log(`  upstream threshold ${c.threshold} pods/s (${c.thresholdOf}): ${(avg / c.threshold).toFixed(2)}×`);
    if (c.target) console.log(`  corekube target ≥ ${c.target} pods/s: ${(avg / c.target).toFixed(2)}× ${avg >= c.target ? "(met)" : "(missed)"}`);
    console.log(`  scheduler process CPU: ${fmt(schedCpu)} s over ${fmt(seconds)} s (${fmt((100 * schedCpu) / seconds)}% of one core)`);
  } finally {
    if (sched) { const t = performance.now(); await stopProcess(sched.proc, 60_000); console.log(`  scheduler stopped in ${fmt(performance.now() - t)} ms`); }
    await client.close();
    await cp.stop();
  }
}

const profileDir = flag("--profile");
if (profileDir) {
  const dir = resolve(profileDir);
  mkdirSync(dir, { recursive: true });
  process.env.COREKUBE_CPU_PROFILE_DIR = dir;
  process.env.NODE_OPTIONS = `${process.env.NODE_OPTIONS ?? ""} --import ${new URL("../apiserver/cpu-profile.mjs", import.meta.url).href}`.trim();
}
console.log(`scheduler benchmark${quick ? " (quick)" : ""}: corekube scheduler + corekube apiserver + corekube kv, ${CREATE_CONCURRENCY} concurrent creators`);
if (only.has("decisions")) {
  console.log("\n== The scheduling algorithm alone (in process, default plugins, no API server)");
  for (const c of CASES) {
    const nodes = Array.from({ length: c.nodes }, (_, i) => node(i, c.zones));
    const pods = Array.from({ length: c.initPods + c.measurePods }, (_, i) => {
      const p = c.pod(i, i < c.initPods ? "sched-0" : "sched-1");
      p.metadata.uid = `uid-${i}`;
      p.spec.schedulerName = "default-scheduler";
      p.spec.priority = 0;
      return p;
    });
    const r = measureDecisions(nodes, pods);
    console.log(`  ${c.name}: ${r.pods} pods on ${r.nodes} nodes in ${fmt(r.seconds)} s = ${fmt(r.podsPerSecond)} decisions/s`);
  }
}
for (const c of CASES) if (only.has(c.key)) await runCase(c);
