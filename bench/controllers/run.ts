// Book 2.3.3 and 11.3: the controller-manager benchmark: Deployments turned into ReplicaSets and pods,
// then rolled to a new template, by a real `corekube controller-manager` process, with a real scheduler,
// `corekube simulated-nodes` as the kubelets, `corekube apiserver` and `corekube kv`.
//
//   npx tsx bench/controllers/run.ts [--quick] [--deployments N] [--replicas N] [--nodes N]
//
// Case 1: create D Deployments of R replicas; time from the first create until every Deployment reports
// availableReplicas == R (seen by a watch). Case 2: change every Deployment's template (an env var);
// time until each has updatedReplicas == availableReplicas == replicas == R, observedGeneration ==
// generation, and no pod of the old template left. Full: 100 × 10 on 100 nodes; --quick: 10 × 10 on 10.
// For each case: the controller-manager's CPU seconds and peak RSS, and the other processes' CPU.
// Upstream publishes no figure for this shape; the pod-startup SLO (p99 ≤ 5 s) is printed as a reference.
// Asserts nothing.
import type { KubeObject, Pod } from "@corekube/api";
import { DEPLOYMENTS, NAMESPACES, RestClient, SERVICE_ACCOUNTS } from "@corekube/client";
import { type ControlPlane, startControlPlane } from "../../test/support/apiserver-process.js";
import { CLI } from "../../test/support/kv-process.js";
import { cpuSeconds, percentile, pidsWith } from "../apiserver/load.js";
import { type Component, mib, RssSampler, startComponent, statusKiB } from "./procs.js";
import { APP_LABEL, type Deployment, REV_ENV, Tracker } from "./tracker.js";

const argv = process.argv.slice(2);
const quick = argv.includes("--quick");
function intFlag(name: string, dflt: number): number {
  const i = argv.indexOf(name);
  if (i < 0) return dflt;
  const v = Number(argv[i + 1]);
  if (!Number.isInteger(v) || v <= 0) {
    console.error(`${name} needs a whole number above 0, got "${argv[i + 1] ?? ""}"`);
    process.exit(2);
  }
  return v;
}
for (const a of argv) {
  if (a.startsWith("--") && !["--quick", "--deployments", "--replicas", "--nodes", "--kube-api-qps"].includes(a)) {
    console.error(`unknown flag ${a} (known: --quick, --deployments N, --replicas N, --nodes N, --kube-api-qps N (the controller-manager's; 0 = no limit))`);
    process.exit(2);
  }
}
const DEPLOYS = intFlag("--deployments", quick ? 10 : 100);
const REPLICAS = intFlag("--replicas", 10);
const NODES = intFlag("--nodes", quick ? 10 : 100);
const PODS_TOTAL = DEPLOYS * REPLICAS;
/** The controller-manager's own --kube-api-qps (its default when not given); burst is twice it. */
const CM_QPS = (() => {
  const i = argv.indexOf("--kube-api-qps");
  if (i < 0) return undefined;
  const v = Number(argv[i + 1]);
  if (!Number.isInteger(v) || v < 0) {
    console.error(`--kube-api-qps needs a whole number (0 = no limit), got "${argv[i + 1] ?? ""}"`);
    process.exit(2);
  }
  return v;
})();
const NS = "bench-deploy";
const CREATE_CONCURRENCY = 16;
const CASE_TIMEOUT_MS = 600_000;
/** Upstream's pod startup SLO (kubernetes/community sig-scalability/slos, via ../shared/reference/node-anchors.md). */
const SLO_POD_STARTUP_P99_S = 5;

const fmt = (x: number) => (Number.isNaN(x) ? "-" : x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function deployment(i: number): Deployment {
  const name = `web-${i}`;
  return {
    metadata: { name, namespace: NS },
    spec: {
      replicas: REPLICAS,
      selector: { matchLabels: { [APP_LABEL]: name } },
      template: { metadata: { labels: { [APP_LABEL]: name } }, spec: podSpec("1") },
    },
  };
}

function podSpec(rev: string): Pod["spec"] {
  return {
    containers: [
      {
        name: "app",
        image: "registry.k8s.io/pause:3.10",
        env: [{ name: REV_ENV, value: rev }],
        resources: { requests: { cpu: "100m", memory: "64Mi" } },
      },
    ],
  };
}

async function inParallel(total: number, concurrency: number, op: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < total; i = next++) await op(i);
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, total) }, worker));
}

// Everything started is stopped from here, newest first: at the end, on failure, and on SIGINT/SIGTERM.
const cleanups: (() => Promise<void>)[] = [];
let cleaning: Promise<void> | undefined;
function cleanup(): Promise<void> {
  cleaning ??= (async () => {
    while (cleanups.length) {
      try {
        await cleanups.pop()!();
      } catch (e) {
        console.error(`cleanup: ${(e as Error).message}`);
      }
    }
  })();
  return cleaning;
}
for (const sig of ["SIGINT", "SIGTERM"] as const) {
  process.once(sig, () => {
    console.error(`\n${sig}: stopping every process this benchmark started`);
    void cleanup().finally(() => process.exit(130));
  });
}

interface Pids {
  cm: number;
  scheduler: number;
  simnodes: number;
  apiserver: number[];
  kv: number[];
}

interface CaseResult {
  seconds: number;
  perDeployment: number[];
  startups: number[];
}

function cpuAll(p: Pids): Record<string, number> {
  return {
    "controller-manager": cpuSeconds([p.cm]),
    apiserver: cpuSeconds(p.apiserver),
    scheduler: cpuSeconds([p.scheduler]),
    "simulated-nodes": cpuSeconds([p.simnodes]),
    kv: cpuSeconds(p.kv),
  };
}

/** Runs `act` and waits until `reached` has every Deployment; prints the case's figures. */
async function measure(
  title: string,
  tracker: Tracker,
  pids: Pids,
  reached: Map<string, number>,
  act: (startOf: Map<string, number>) => Promise<void>,
  progress: () => string,
  startupRev: string,
): Promise<CaseResult> {
  console.log(`\n== ${title}`);
  const rss = new RssSampler(pids.cm, 200);
  const cpu0 = cpuAll(pids);
  const startOf = new Map<string, number>();
  const t0 = performance.now();
  const acting = act(startOf).then(() => performance.now());
  const deadline = t0 + CASE_TIMEOUT_MS;
  let lastReport = t0;
  while (reached.size < DEPLOYS) {
    if (performance.now() > deadline) {
      rss.stop();
      throw new Error(`${title}: only ${reached.size}/${DEPLOYS} Deployments got there in ${CASE_TIMEOUT_MS / 1000} s (${progress()})`);
    }
    if (performance.now() - lastReport > 10_000) {
      lastReport = performance.now();
      console.log(`  ... ${fmt((lastReport - t0) / 1000)} s: ${reached.size}/${DEPLOYS} Deployments done; ${progress()}`);
    }
    await sleep(25);
  }
  const actedAt = await acting;
  const tEnd = Math.max(...reached.values());
  const cpu1 = cpuAll(pids);
  const peak = rss.stop();
  const seconds = (tEnd - t0) / 1000;
  const perDeployment = [...reached].map(([name, t]) => (t - startOf.get(name)!) / 1000).sort((a, b) => a - b);
  const startups = [...(tracker.startups.get(startupRev) ?? [])].map((ms) => ms / 1000).sort((a, b) => a - b);
  console.log(`  requests sent in ${fmt((actedAt - t0) / 1000)} s; last Deployment done ${fmt(seconds)} s after the first request`);
  console.log(`  ${PODS_TOTAL} pods in ${fmt(seconds)} s = ${fmt(PODS_TOTAL / seconds)} pods/s (${fmt(DEPLOYS / seconds)} Deployments/s)`);
  const pct = (xs: number[]) => `p50 ${fmt(percentile(xs, 50))} s, p90 ${fmt(percentile(xs, 90))} s, p99 ${fmt(percentile(xs, 99))} s, max ${fmt(xs[xs.length - 1] ?? NaN)} s`;
  console.log(`  per Deployment, its own request → done: ${pct(perDeployment)}`);
  console.log(`  per pod, first seen by our watch → Running and Ready seen (${startups.length} pods): ${pct(startups)}`);
  const cmCpu = cpu1["controller-manager"]! - cpu0["controller-manager"]!;
  console.log(`  controller-manager: CPU ${fmt(cmCpu)} s (${fmt((100 * cmCpu) / seconds)}% of one core), peak VmRSS ${mib(peak)} (sampled every 200 ms)`);
  const others = Object.keys(cpu0)
    .filter((k) => k !== "controller-manager")
    .map((k) => `${k} ${fmt(cpu1[k]! - cpu0[k]!)} s`)
    .join(", ");
  console.log(`  CPU of the others, for context: ${others}`);
  return { seconds, perDeployment, startups };
}

async function main(): Promise<void> {
  console.log(
    `controller-manager benchmark${quick ? " (quick)" : ""}: ${DEPLOYS} Deployments × ${REPLICAS} replicas = ${PODS_TOTAL} pods on ${NODES} simulated nodes`,
  );
  console.log(`  processes: corekube kv, apiserver, scheduler, simulated-nodes (start-delay 200ms), controller-manager (--leader-elect=false${CM_QPS === undefined ? "" : ` --kube-api-qps ${CM_QPS}`})`);
  const cp: ControlPlane = await startControlPlane({ backend: "kv" });
  cleanups.push(() => cp.stop());
  const client = await RestClient.fromKubeconfig({ path: cp.kubeconfig, qps: 0, userAgent: "bench-controllers" });
  cleanups.push(() => client.close());

  const start = (name: string, args: string[]): Component => {
    const c = startComponent(name, args);
    cleanups.push(async () => {
      const t = performance.now();
      await c.stop();
      console.log(`  ${name} stopped in ${fmt(performance.now() - t)} ms`);
    });
    return c;
  };
  const sched = start("scheduler", ["scheduler", "--kubeconfig", cp.kubeconfig, "--leader-elect=false", "--secure-port", "0", "--kube-api-qps", "0"]);
  // The simulated kubelets get room for every pod's status write, so they are not what is measured.
  const sim = start("simulated-nodes", ["simulated-nodes", "--kubeconfig", cp.kubeconfig, "--count", String(NODES), "--kube-api-qps", "2000"]);
  await sim.waitFor(`running ${NODES} node(s)`, 120_000);
  const qpsArgs = CM_QPS === undefined ? [] : ["--kube-api-qps", String(CM_QPS), "--kube-api-burst", String(CM_QPS * 2)];
  const cm = start("controller-manager", ["controller-manager", "--kubeconfig", cp.kubeconfig, "--leader-elect=false", "--secure-port", "0", ...qpsArgs]);
  await cm.waitFor("controller-manager: running", 60_000);

  // The namespace's default ServiceAccount shows the controller-manager's informers are synced.
  await client.resource<KubeObject>(NAMESPACES).create({ metadata: { name: NS } });
  const sas = client.resource(SERVICE_ACCOUNTS);
  for (let deadline = Date.now() + 60_000; ; await sleep(100)) {
    if ((await sas.list({ namespace: NS })).items.some((s) => s.metadata.name === "default")) break;
    if (Date.now() > deadline) throw new Error(`no default ServiceAccount in ${NS} after 60 s:\n${cm.log()}`);
  }

  const pids: Pids = {
    cm: cm.pid,
    scheduler: sched.pid,
    simnodes: sim.pid,
    apiserver: pidsWith(CLI, "apiserver", cp.stateDir),
    kv: pidsWith(CLI, " kv ", cp.etcdServers[0]!),
  };
  const tracker = new Tracker(client, NS);
  await tracker.start();
  cleanups.push(() => tracker.stop());
  const deps = client.resource<Deployment>(DEPLOYMENTS);
  const progress = () => {
    let avail = 0;
    for (const d of tracker.deployments.values()) avail += d.status?.availableReplicas ?? 0;
    return `${tracker.podCount()} pods present, ${avail} available by status`;
  };

  try {
    const reached1 = tracker.expect("1", REPLICAS, false);
    const c1 = await measure(
      `Case 1: create ${DEPLOYS} Deployments × ${REPLICAS} replicas (${PODS_TOTAL} pods) until each has availableReplicas == ${REPLICAS}`,
      tracker,
      pids,
      reached1,
      (startOf) =>
        inParallel(DEPLOYS, CREATE_CONCURRENCY, async (i) => {
          const d = deployment(i);
          startOf.set(d.metadata.name!, performance.now());
          await deps.create(d);
        }),
      progress,
      "1",
    );

    const reached2 = tracker.expect("2", REPLICAS, true);
    const c2 = await measure(
      `Case 2: roll all ${DEPLOYS} Deployments to a new template (env ${REV_ENV}=2; default RollingUpdate 25%/25%) until updated == available == replicas == ${REPLICAS}, observedGeneration == generation, old pods gone`,
      tracker,
      pids,
      reached2,
      (startOf) =>
        inParallel(DEPLOYS, CREATE_CONCURRENCY, async (i) => {
          const name = `web-${i}`;
          startOf.set(name, performance.now());
          await deps.patch(name, { spec: { template: { spec: podSpec("2") } } }, "merge", { namespace: NS });
        }),
      progress,
      "2",
    );

    console.log(`\n== controller-manager memory: VmHWM (peak RSS over its whole life) ${mib(statusKiB(pids.cm, "VmHWM"))}, VmRSS now ${mib(statusKiB(pids.cm, "VmRSS"))}`);

    console.log("\n== Reference (no upstream figure exists for this shape)");
    console.log(
      `  Upstream pod startup SLO: p99 ≤ ${SLO_POD_STARTUP_P99_S} s for stateless pods, pod creation → all containers started, seen via watch (sig-scalability; node-anchors.md §7a).`,
    );
    const line = (what: string, p99: number) => console.log(`  ${what}: p99 ${fmt(p99)} s = ${fmt(p99 / SLO_POD_STARTUP_P99_S)}× the 5 s SLO`);
    line("Case 1 pods, first seen → Ready (the SLI's own shape; includes simulated-nodes' 200 ms start delay)", percentile(c1.startups, 99));
    line("Case 1 per-Deployment create → all replicas available (a stricter shape: adds ReplicaSet creation, every pod create and the status roll-up RS → Deployment)", percentile(c1.perDeployment, 99));
    line("Case 2 new pods, first seen → Ready", percentile(c2.startups, 99));
    console.log(
      `  Case 2 per-Deployment rollout (p99 ${fmt(percentile(c2.perDeployment, 99))} s) is several sequential pod startups (maxSurge 3, maxUnavailable 2 of ${REPLICAS}), so it is not compared with the SLO.`,
    );
    console.log("  Pods are first seen at their ADDED watch event here, since creationTimestamp has whole-second resolution.");
  } catch (e) {
    console.error(`\nfailed: ${(e as Error).message}`);
    console.error(`--- controller-manager log tail ---\n${cm.log().slice(-4000)}`);
    process.exitCode = 1;
  }
}

try {
  await main();
} catch (e) {
  console.error(`\nfailed: ${(e as Error).stack ?? e}`);
  process.exitCode = 1;
} finally {
  await cleanup();
}
