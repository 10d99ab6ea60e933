// Book 9.1-9.4 and 3.3-3.4: the kubelet benchmark: one real kubelet (its own process) on this machine
// runs busybox pods through our runtime, watched against the pod-startup SLO and our own targets.
//
//   npx tsx bench/kubelet/run.ts [--quick] [--pods N] [--rate R] [--steady S] [--grace S] [--runtime-runs N]
//
// Needs Linux, root, runc, catatonit, busybox-static. Starts `corekube kv` + `corekube apiserver`, builds
// the busybox image (scripts/build-busybox-image.sh, no registry) and runs runKubelet in a child process
// (bench/kubelet/kubelet-process.ts) with unique node, bridge, network, kubepods and runtime-dir names.
// No scheduler: every pod has spec.nodeName set.
// Case 0: bench/kubelet/runtime.ts as a child (our runtime vs `runc run`, /bin/true start to exit).
// Case 1: create N pods (`sleep 3600`) at R pods/s (0 = all at once); per pod, request sent (and ADDED
//   seen) → Running and Ready seen by our watch: p50/p90/p99/max against our targets and upstream's SLO.
// Case 2: N pods running for S s: the kubelet's CPU and RSS, the shims' and pauses' total RSS.
// Case 3: delete every pod; time until each is gone from the API and until nothing is left on the host.
// Defaults: 100 pods at 10/s, 30 s steady; --quick: 10 pods, 10 s. Asserts nothing; exit 1 on failure.
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type { Node, Pod, WatchEvent } from "@corekube/api";
import { NODES, PODS, RestClient } from "@corekube/client";
import { newCgroupDriver } from "@corekube/kubelet/cgroups/detect";
import { removeBridgeNetwork } from "@corekube/kubelet/cni/bridge/plugin";
import { importOciLayout } from "@corekube/kubelet/images/oci-layout";
import { ImageStore } from "@corekube/kubelet/images/store";
import type { KubeletOptions } from "@corekube/kubelet/kubelet";
import { LinuxRuntime } from "@corekube/kubelet/runtime/runtime";
import { type ControlPlane, startControlPlane } from "../../test/support/apiserver-process.js";
import { snapshotHostNet } from "../../test/support/host-net.js";
import { CLI } from "../../test/support/kv-process.js";
import { stopProcess } from "../../test/support/ports.js";
import { cpuSeconds, percentile, pidsWith } from "../apiserver/load.js";
import { cpuTimes, kubepodsDirs, memKiB, pausePids, podLeftovers, shimPids, sumMem } from "./node-state.js";

// ---- flags
const argv = process.argv.slice(2);
const KNOWN = ["--quick", "--pods", "--rate", "--steady", "--grace", "--runtime-runs"];
for (const [i, a] of argv.entries()) {
  if (a.startsWith("--") && !KNOWN.includes(a)) {
    console.error(`unknown flag ${a} (known: --quick, --pods N, --rate R (pods/s, 0 = all at once), --steady S, --grace S, --runtime-runs N (0 = skip))`);
    process.exit(2);
  }
  if (!a.startsWith("--") && !(i > 0 && KNOWN.slice(1).includes(argv[i - 1]!))) {
    console.error(`unexpected argument "${a}"`);
    process.exit(2);
  }
}
const quick = argv.includes("--quick");
function numFlag(name: string, dflt: number, min: number): number {
  const i = argv.indexOf(name);
  if (i < 0) return dflt;
  const v = Number(argv[i + 1]);
  if (argv[i + 1] === undefined || !Number.isInteger(v) || v < min) {
    console.error(`${name} needs a whole number ≥ ${min}, got "${argv[i + 1] ?? ""}"`);
    process.exit(2);
  }
  return v;
}
const N = numFlag("--pods", quick ? 10 : 100, 1);
const RATE = numFlag("--rate", 10, 0);
const STEADY_S = numFlag("--steady", quick ? 10 : 30, 1);
const GRACE_S = numFlag("--grace", 1, 0);
const RUNTIME_RUNS = numFlag("--runtime-runs", quick ? 10 : 20, 0);

// ---- anchors (../shared/reference/node-anchors.md)
const SLO_P99_MS = 5000; // upstream pod startup SLO: p99 ≤ 5 s, creation → all containers started, seen via watch
const TARGET_P50_MS = 300; // ours
const TARGET_P99_MS = 1000; // ours
const RUNC_ANCHOR_MS = 23.5; // `runc run` /bin/true median measured on this machine (node-anchors §0)

const fmt = (x: number) => (Number.isNaN(x) ? "-" : x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2));
const mib = (kib: number) => `${(kib / 1024).toFixed(1)} MiB`;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = resolve(HERE, "..", "..");

// ---- everything started is undone from here, newest first: at the end, on failure, on SIGINT/SIGTERM
const cleanups: { what: string; run: () => Promise<void> | void }[] = [];
let cleaning: Promise<void> | undefined;
function cleanup(): Promise<void> {
  cleaning ??= (async () => {
    while (cleanups.length) {
      const c = cleanups.pop()!;
      try {
        await c.run();
      } catch (e) {
        console.error(`cleanup (${c.what}): ${(e as Error).message}`);
      }
    }
  })();
  return cleaning;
}
for (const sig of ["SIGINT", "SIGTERM"] as const) {
  process.once(sig, () => {
    console.error(`\n${sig}: removing everything this benchmark started`);
    void cleanup().finally(() => process.exit(130));
  });
}

// ---- case 0: the runtime microbenchmark, as a child
interface RuntimeResult {
  output: string;
  ours?: { median: number; p90: number };
  runc?: { median: number; p90: number };
}
function runtimeBench(runs: number): Promise<RuntimeResult> {
  return new Promise((done) => {
    const p = spawn(process.execPath, ["--import", "tsx", join(HERE, "runtime.ts"), "--runs", String(runs)], { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
    cleanups.push({ what: "runtime benchmark", run: () => stopProcess(p, 5_000) });
    let out = "";
    p.stdout!.on("data", (b: Buffer) => (out += b.toString()));
    p.stderr!.on("data", (b: Buffer) => (out += b.toString()));
    p.on("close", (code) => {
      const row = (label: string) => {
        const m = new RegExp(`^${label}\\s+([\\d.]+)\\s+([\\d.]+)`, "m").exec(out);
        return m ? { median: Number(m[1]), p90: Number(m[2]) } : undefined;
      };
      done({ output: code === 0 ? out : `${out}\n(exited ${code})`, ours: row("corekube runtime"), runc: row("runc run") });
    });
  });
}

// ---- the kubelet process
interface KubeletProc {
  proc: ChildProcess;
  pid: number;
  log(): string;
}
function startKubelet(optsFile: string): Promise<KubeletProc> {
  // Its own process group: a Ctrl-C reaches only us, and the cleanup stops the kubelet after its pods.
  // BENCH_KUBELET_NODE_FLAGS (e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof") go to the kubelet's node only.
  const extra = (process.env.BENCH_KUBELET_NODE_FLAGS ?? "").split(" ").filter(Boolean);
  const proc = spawn(process.execPath, [...extra, "--import", "tsx", join(HERE, "kubelet-process.ts"), optsFile], { cwd: ROOT, detached: true, stdio: ["ignore", "pipe", "pipe"] });
  const kill = () => proc.kill("SIGKILL");
  process.once("exit", kill);
  const out: string[] = [];
  const log = () => out.join("");
  return new Promise((ready, fail) => {
    const keep = (b: Buffer) => {
      out.push(b.toString());
      if (out.length > 400) out.splice(0, 200);
      if (log().includes("bench-kubelet: ready")) ready({ proc, pid: proc.pid!, log });
    };
    proc.stdout!.on("data", keep);
    proc.stderr!.on("data", keep);
    proc.once("exit", (code) => {
      process.removeListener("exit", kill);
      fail(new Error(`kubelet exited (${code}) before it was ready:\n${log().slice(-4000)}`));
    });
    setTimeout(() => fail(new Error(`kubelet not ready after 120 s:\n${log().slice(-4000)}`)), 120_000).unref();
  });
}

// ---- pods and what our watch saw of them
interface Seen {
  sentAt?: number;
  addedAt?: number;
  readyAt?: number;
  deleteSentAt?: number;
  deletedAt?: number;
}
const isReady = (p: Pod): boolean => p.status?.phase === "Running" && (p.status.conditions ?? []).some((c) => c.type === "Ready" && c.status === "True");

function follow(client: RestClient, namespace: string, rv: string, signal: AbortSignal, on: (ev: WatchEvent<Pod>) => void): Promise<void> {
  return (async () => {
    let last = rv;
    while (!signal.aborted) {
      try {
        for await (const ev of client.resource<Pod>(PODS).watch({ namespace, resourceVersion: last, allowWatchBookmarks: true, timeoutSeconds: 3600, signal })) {
          if (ev.type === "ERROR") throw new Error(JSON.stringify(ev.object).slice(0, 300));
          last = ev.object.metadata.resourceVersion ?? last;
          if (ev.type !== "BOOKMARK") on(ev);
        }
      } catch (e) {
        if (signal.aborted) return;
        console.error(`  (pod watch ended: ${(e as Error).message}; resuming from ${last})`);
        await sleep(200);
      }
    }
  })();
}

/** Polls `done` every 25 ms until true; prints progress every 10 s; throws after timeoutMs. */
async function until(what: string, done: () => boolean, progress: () => string, timeoutMs: number, t0: number): Promise<void> {
  let lastReport = performance.now();
  while (!done()) {
    const now = performance.now();
    if (now - t0 > timeoutMs) throw new Error(`${what}: not there after ${timeoutMs / 1000} s (${progress()})`);
    if (now - lastReport > 10_000) {
      lastReport = now;
      console.log(`  ... ${fmt((now - t0) / 1000)} s: ${progress()}`);
    }
    await sleep(25);
  }
}

const pct = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return { p50: percentile(s, 50), p90: percentile(s, 90), p99: percentile(s, 99), max: s[s.length - 1] ?? NaN };
};
const pctLine = (xs: number[]) => {
  const p = pct(xs);
  return `p50 ${fmt(p.p50)} ms, p90 ${fmt(p.p90)} ms, p99 ${fmt(p.p99)} ms, max ${fmt(p.max)} ms (n=${xs.length})`;
};

/** Samples a process's VmRSS; keeps the mean and the peak. */
function rssSampler(pid: number, everyMs = 250) {
  let n = 0;
  let sum = 0;
  let peak = 0;
  const sample = () => {
    const r = memKiB(pid).rss;
    if (r === 0) return;
    n++;
    sum += r;
    peak = Math.max(peak, r);
  };
  sample();
  const t = setInterval(sample, everyMs);
  return {
    stop() {
      clearInterval(t);
      sample();
      return { mean: n ? sum / n : 0, peak };
    },
  };
}

/** What the failure report and the final check need from main(). */
const current: { runtimeDir?: string; kubelet?: KubeletProc } = {};

async function main(): Promise<void> {
  if (process.platform !== "linux" || process.getuid?.() !== 0) throw new Error("the kubelet benchmark needs Linux and root (namespaces, mounts, cgroups, a bridge)");
  for (const tool of ["runc", "catatonit", "nsenter", "unshare", "ip"]) {
    try {
      execFileSync("sh", ["-c", `command -v ${tool}`], { stdio: "ignore" });
    } catch {
      throw new Error(`needs ${tool} on PATH`);
    }
  }
  const r = randomBytes(3).toString("hex");
  const oct = 100 + (randomBytes(1)[0]! % 100);
  const NODE = `bk-${r}`;
  const BRIDGE = `ckb${r}`;
  const NETWORK = `ck-bk-${r}`;
  const KUBEPODS = `kubepods-bk-${r}`;
  const NS = "default";
  const runtimeDir = `/run/ck-bk-${r}`;
  current.runtimeDir = runtimeDir;
  const work = mkdtempSync(join(tmpdir(), "ck-bench-kubelet-"));
  const kubeletRoot = join(work, "kubelet");
  const cniConfDir = join(work, "cni");
  const leaseDir = join(kubeletRoot, "cni-networks", NETWORK);
  const nodeState = { runtimeDir, workDir: work, kubepods: KUBEPODS, bridge: BRIDGE, leaseDir };

  console.log(`kubelet benchmark${quick ? " (quick)" : ""}: ${N} busybox pods (sleep 3600) on one real kubelet, ${RATE > 0 ? `created at ${RATE}/s` : "created all at once"}, ${STEADY_S} s steady, terminationGracePeriodSeconds ${GRACE_S}`);
  console.log(`  node ${NODE}, bridge ${BRIDGE}, pod CIDR 10.213.${oct}.0/24, runtime dir ${runtimeDir}, cgroup ${KUBEPODS}; kubelet: runKubelet in its own process, default resync`);

  // Case 0 first, on a quiet machine.
  let rt: RuntimeResult | undefined;
  if (RUNTIME_RUNS > 0) {
    console.log(`\n== Case 0: bench/kubelet/runtime.ts --runs ${RUNTIME_RUNS} (our runtime vs runc run, /bin/true start to exit)`);
    rt = await runtimeBench(RUNTIME_RUNS);
    console.log(rt.output.trimEnd().replace(/^/gm, "  "));
  }

  const restoreHostNet = snapshotHostNet();
  cleanups.push({ what: "host net state", run: restoreHostNet });
  cleanups.push({
    what: "directories",
    run: () => {
      rmSync(runtimeDir, { recursive: true, force: true });
      rmSync(work, { recursive: true, force: true });
    },
  });

  const tCp = performance.now();
  const cp: ControlPlane = await startControlPlane({ backend: "kv" });
  cleanups.push({ what: "control plane", run: () => cp.stop() });
  const client = await RestClient.fromKubeconfig({ path: cp.kubeconfig, qps: 0, userAgent: "bench-kubelet" });
  cleanups.push({ what: "client", run: () => client.close() });
  const apiserverPids = pidsWith(CLI, "apiserver", cp.stateDir);
  console.log(`\ncontrol plane up in ${fmt((performance.now() - tCp) / 1000)} s`);

  // The image, from busybox-static, no registry.
  const tImg = performance.now();
  const layout = join(work, "busybox-layout");
  // A few tries: the script can die of SIGPIPE (exit 141) under load, from `busybox | head -n1` with pipefail.
  for (let attempt = 1; ; attempt++) {
    try {
      execFileSync("bash", [join(ROOT, "scripts/build-busybox-image.sh"), layout], { stdio: ["ignore", "ignore", "inherit"] });
      break;
    } catch (e) {
      if (attempt >= 3) throw e;
      console.error(`  (build-busybox-image.sh failed: ${(e as Error).message.split("\n")[0]}; trying again)`);
    }
  }
  const store = new ImageStore({ root: join(work, "images") });
  await importOciLayout(store, layout, { name: "docker.io/library/busybox:1.35" });
  console.log(`busybox image built and imported in ${fmt(performance.now() - tImg)} ms`);

  // The kubelet; its teardown deletes what is left of the pods first, then sweeps the host.
  let kl: KubeletProc | undefined;
  cleanups.push({
    what: "node",
    run: async () => {
      await client.resource(NODES).delete(NODE).catch(() => undefined);
    },
  });
  cleanups.push({
    what: "bridge network",
    run: async () => {
      const conf = join(cniConfDir, "10-corekube.conflist");
      if (!existsSync(conf)) return;
      const list = JSON.parse(readFileSync(conf, "utf8")) as { plugins: Record<string, unknown>[]; name: string; cniVersion: string };
      const bridge = list.plugins.find((p) => p.type === "corekube-bridge");
      if (bridge) await removeBridgeNetwork({ ...bridge, name: list.name, cniVersion: list.cniVersion });
    },
  });
  cleanups.push({
    what: "cgroups",
    run: async () => {
      if (kubepodsDirs(KUBEPODS).length) await newCgroupDriver().remove(KUBEPODS);
    },
  });
  cleanups.push({
    what: "kubelet and pods",
    run: async () => {
      if (kl && kl.proc.exitCode === null && kl.proc.signalCode === null) {
        const pods = await client.resource<Pod>(PODS).list({ namespace: NS }).catch(() => ({ items: [] as Pod[] }));
        await Promise.all(pods.items.map((p) => client.resource(PODS).delete(p.metadata.name!, { namespace: NS, gracePeriodSeconds: 0 }).catch(() => undefined)));
        for (const t = Date.now(); Date.now() - t < 30_000 && podLeftovers(nodeState).length > 0; ) await sleep(200);
        await stopProcess(kl.proc, 15_000);
      }
      // Whatever the kubelet did not stop (it was killed, or a Ctrl-C came early), straight through the runtime.
      if (!existsSync(join(runtimeDir, "sandboxes"))) return;
      const rtm = new LinuxRuntime({ stateDir: runtimeDir });
      for (const sb of await rtm.ListPodSandbox()) {
        for (const c of await rtm.ListContainers({ podSandboxId: sb.id })) {
          await rtm.StopContainer(c.id, 0).catch(() => undefined);
          await rtm.RemoveContainer(c.id).catch(() => undefined);
        }
        await rtm.StopPodSandbox(sb.id).catch(() => undefined);
        await rtm.RemovePodSandbox(sb.id).catch(() => undefined);
      }
    },
  });

  const opts: KubeletOptions = {
    kubeconfig: cp.kubeconfig,
    nodeName: NODE,
    nodeIP: "127.0.0.1",
    rootDir: kubeletRoot,
    runtimeStateDir: runtimeDir,
    imageRoot: join(work, "images"),
    podLogDir: join(work, "logs"),
    podCIDR: `10.213.${oct}.0/24`,
    cniConfDir,
    cniBridge: BRIDGE,
    cniNetworkName: NETWORK,
    kubepodsName: KUBEPODS,
  };
  const optsFile = join(work, "kubelet.json");
  writeFileSync(optsFile, JSON.stringify(opts));
  const tKl = performance.now();
  kl = await startKubelet(optsFile);
  current.kubelet = kl;
  const klPid = kl.pid;
  // Pods go in once the Node is Ready (pod networking configured), then the kubelet settles a moment.
  for (const t = Date.now(); ; await sleep(200)) {
    const node = await client.resource<Node>(NODES).get(NODE).catch(() => undefined);
    if (node?.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True")) break;
    if (Date.now() - t > 60_000) throw new Error(`node ${NODE} not Ready 60 s after the kubelet started:\n${kl.log().slice(-4000)}`);
  }
  await sleep(2000);
  const idle = memKiB(klPid);
  console.log(`kubelet (pid ${klPid}) ready in ${fmt((performance.now() - tKl) / 1000)} s; idle VmRSS ${mib(idle.rss)}, Pss ${mib(idle.pss)}`);

  // Our watch, from a list's resourceVersion.
  const seen = new Map<string, Seen>();
  const get = (name: string) => seen.get(name) ?? seen.set(name, {}).get(name)!;
  const ac = new AbortController();
  const initial = await client.resource<Pod>(PODS).list({ namespace: NS });
  const watching = follow(client, NS, initial.metadata?.resourceVersion ?? "0", ac.signal, (ev) => {
    const name = ev.object.metadata.name!;
    if (!name.startsWith("bk-")) return;
    const s = get(name);
    const now = performance.now();
    if (ev.type === "ADDED") s.addedAt ??= now;
    if (ev.type === "DELETED") s.deletedAt ??= now;
    else if (s.readyAt === undefined && isReady(ev.object)) s.readyAt = now;
  });
  cleanups.push({
    what: "watch",
    run: async () => {
      ac.abort();
      await watching;
    },
  });
  const names = Array.from({ length: N }, (_, i) => `bk-${i}`);
  const pods = client.resource<Pod>(PODS);
  const count = (f: (s: Seen) => boolean) => names.filter((n) => f(seen.get(n) ?? {})).length;

  // ---- Case 1
  console.log(`\n== Case 1: create ${N} pods (${RATE > 0 ? `${RATE}/s` : "all at once"}), each until Running and Ready is seen by the watch`);
  const errors: string[] = [];
  const cpu1a = cpuTimes(klPid);
  const api1a = cpuSeconds(apiserverPids);
  const rss1 = rssSampler(klPid);
  const t1 = performance.now();
  const creates: Promise<void>[] = [];
  for (const [i, name] of names.entries()) {
    if (RATE > 0) {
      const due = t1 + (i * 1000) / RATE;
      const wait = due - performance.now();
      if (wait > 0) await sleep(wait);
    }
    get(name).sentAt = performance.now();
    creates.push(
      pods
        .create({
          metadata: { name, namespace: NS, labels: { app: "bench-kubelet" } },
          spec: {
            nodeName: NODE,
            terminationGracePeriodSeconds: GRACE_S,
            containers: [{ name: "sleep", image: "busybox:1.35", command: ["sleep", "3600"] }],
          },
        } as Pod)
        .then(
          () => undefined,
          (e: Error) => void errors.push(`${name}: ${e.message}`),
        ),
    );
  }
  const sentIn = performance.now() - t1;
  await Promise.all(creates);
  if (errors.length) throw new Error(`${errors.length} create(s) failed, first: ${errors[0]}`);
  const progress = () => `${count((s) => s.addedAt !== undefined)} added, ${count((s) => s.readyAt !== undefined)} Ready; ${shimPids(runtimeDir).length} shims`;
  await until("every pod Running and Ready", () => count((s) => s.readyAt !== undefined) === N, progress, quick ? 120_000 : 300_000, t1);
  const allReady = Math.max(...names.map((n) => seen.get(n)!.readyAt!)) - t1;
  const cpu1b = cpuTimes(klPid);
  const rss1s = rss1.stop();
  // A shim is the kubelet's child only until it exits (then its CPU shows in the kubelet's reaped children).
  const shimsUp = shimPids(runtimeDir);
  const shimStartCpu = shimsUp.reduce((a, p) => a + cpuTimes(p).self, 0);
  const fromSent = names.map((n) => seen.get(n)!.readyAt! - seen.get(n)!.sentAt!);
  const fromAdded = names.map((n) => seen.get(n)!.readyAt! - seen.get(n)!.addedAt!);
  const ps = pct(fromSent);
  console.log(`  requests sent over ${fmt(sentIn / 1000)} s; last pod Ready ${fmt(allReady / 1000)} s after the first request (${fmt(N / (allReady / 1000))} pods/s)`);
  console.log(`  per pod, create request sent → Running+Ready seen: ${pctLine(fromSent)}`);
  console.log(`  per pod, ADDED seen          → Running+Ready seen: ${pctLine(fromAdded)}`);
  console.log(`  vs our targets: p50 ${fmt(ps.p50)} / ${TARGET_P50_MS} ms = ${fmt(ps.p50 / TARGET_P50_MS)}×, p99 ${fmt(ps.p99)} / ${TARGET_P99_MS} ms = ${fmt(ps.p99 / TARGET_P99_MS)}× (≤ 1 meets the target)`);
  console.log(`  vs upstream SLO: p99 ${fmt(ps.p99)} / ${SLO_P99_MS} ms = ${fmt(ps.p99 / SLO_P99_MS)}×; vs runc run /bin/true (${RUNC_ANCHOR_MS} ms): p50 = ${fmt(ps.p50 / RUNC_ANCHOR_MS)}×`);
  console.log(`  shims (node, one per pod): ${fmt(shimStartCpu)} s CPU so far for ${shimsUp.length} (${fmt((1000 * shimStartCpu) / Math.max(1, shimsUp.length))} ms each), not in the kubelet's figures below`);
  console.log(
    `  kubelet during case 1: CPU ${fmt(cpu1b.self - cpu1a.self)} s own + ${fmt(cpu1b.children - cpu1a.children)} s reaped children (${fmt((1000 * (cpu1b.self - cpu1a.self + cpu1b.children - cpu1a.children)) / N)} ms per pod), peak VmRSS ${mib(rss1s.peak)}; apiserver CPU ${fmt(cpuSeconds(apiserverPids) - api1a)} s`,
  );

  // ---- Case 2
  console.log(`\n== Case 2: ${N} pods running, ${STEADY_S} s steady state`);
  const shims0 = shimPids(runtimeDir);
  const shimCpu0 = shims0.reduce((a, p) => a + cpuTimes(p).self, 0);
  const cpu2a = cpuTimes(klPid);
  const api2a = cpuSeconds(apiserverPids);
  const rss2 = rssSampler(klPid, 500);
  await sleep(STEADY_S * 1000);
  const cpu2b = cpuTimes(klPid);
  const api2b = cpuSeconds(apiserverPids);
  const rss2s = rss2.stop();
  const shims = shimPids(runtimeDir);
  const pauses = pausePids(runtimeDir);
  const shimLifeCpu = shims.reduce((a, p) => a + cpuTimes(p).self, 0);
  const shimCpu = shimLifeCpu - shimCpu0;
  const shimMem = sumMem(shims);
  const pauseMem = sumMem(pauses);
  const kMem = memKiB(klPid);
  const still = (await pods.list({ namespace: NS, labelSelector: "app=bench-kubelet" })).items;
  const readyNow = still.filter(isReady).length;
  const restarts = still.reduce((a, p) => a + ((p.status?.containerStatuses ?? []) as { restartCount?: number }[]).reduce((b, c) => b + (c.restartCount ?? 0), 0), 0);
  const kCpu = cpu2b.self - cpu2a.self;
  const kKids = cpu2b.children - cpu2a.children;
  console.log(`  pods Ready at the end: ${readyNow}/${N}, container restarts: ${restarts}`);
  console.log(`  kubelet CPU: ${fmt(kCpu)} s own + ${fmt(kKids)} s reaped children over ${STEADY_S} s = ${fmt((100 * (kCpu + kKids)) / STEADY_S)}% of one core (${fmt((1000 * (kCpu + kKids)) / STEADY_S / N)} ms/s per pod)`);
  console.log(`  kubelet memory: VmRSS ${mib(kMem.rss)} now, mean ${mib(rss2s.mean)}, peak ${mib(rss2s.peak)} (sampled every 500 ms), VmHWM ${mib(kMem.hwm)}; Pss ${mib(kMem.pss)}; idle before pods ${mib(idle.rss)} → ${fmt((kMem.rss - idle.rss) / N)} KiB per pod`);
  console.log(
    `  shims: ${shims.length} processes, total VmRSS ${mib(shimMem.rss)} (${mib(shimMem.rss / Math.max(1, shims.length))} each), total Pss ${mib(shimMem.pss)} (shared pages counted once); CPU ${fmt(shimCpu)} s together`,
  );
  console.log(`  pauses (catatonit): ${pauses.length} processes, total VmRSS ${mib(pauseMem.rss)}, Pss ${mib(pauseMem.pss)}`);
  console.log(`  node overhead per pod (kubelet growth + shim + pause, Pss): ${mib(((kMem.pss - idle.pss) + shimMem.pss + pauseMem.pss) / N)}; apiserver CPU ${fmt(api2b - api2a)} s`);

  // ---- Case 3
  console.log(`\n== Case 3: delete all ${N} pods at once (API default grace = terminationGracePeriodSeconds ${GRACE_S} s)`);
  const cpu3a = cpuTimes(klPid);
  const t3 = performance.now();
  const deletes = names.map((name) => {
    get(name).deleteSentAt = performance.now();
    return pods.delete(name, { namespace: NS }).then(
      () => undefined,
      (e: Error) => void errors.push(`delete ${name}: ${e.message}`),
    );
  });
  await Promise.all(deletes);
  if (errors.length) throw new Error(`${errors.length} delete(s) failed, first: ${errors[0]}`);
  const progress3 = () => `${count((s) => s.deletedAt !== undefined)} gone from the API; left on the node: ${podLeftovers(nodeState).join(", ") || "nothing"}`;
  await until("every pod gone from the API", () => count((s) => s.deletedAt !== undefined) === N, progress3, 180_000, t3);
  const goneApi = performance.now() - t3;
  await until("nothing left on the node", () => podLeftovers(nodeState).length === 0, progress3, 60_000, t3);
  const goneNode = performance.now() - t3;
  const cpu3b = cpuTimes(klPid);
  const delLat = names.map((n) => seen.get(n)!.deletedAt! - seen.get(n)!.deleteSentAt!);
  console.log(`  all gone from the API (DELETED seen) ${fmt(goneApi / 1000)} s after the first delete; nothing left on the node after ${fmt(goneNode / 1000)} s`);
  console.log(`  per pod, delete sent → DELETED seen: ${pctLine(delLat)}`);
  console.log(`  (busybox sleep is PID 1 of its pid namespace and ignores SIGTERM, so each pod waits out its ${GRACE_S} s grace before SIGKILL)`);
  console.log(
    `  kubelet during case 3: CPU ${fmt(cpu3b.self - cpu3a.self)} s own + ${fmt(cpu3b.children - cpu3a.children)} s reaped children, of which about ${fmt(shimLifeCpu)} s is the exited shims' whole-life CPU (${fmt((1000 * (cpu3b.children - cpu3a.children - shimLifeCpu)) / N)} ms per pod for the rest: CNI DEL, umount, ...)`,
  );
  const left = podLeftovers(nodeState);
  const apiLeft = (await pods.list({ namespace: NS, labelSelector: "app=bench-kubelet" })).items.length;
  console.log(
    `  left behind: ${apiLeft} pods in the API; node: ${left.join(", ") || "nothing (no sandbox or container dirs, mounts, shims, pauses, pod cgroups, IP leases or veths)"}`,
  );

  // ---- summary
  console.log("\n== Summary against ../shared/reference/node-anchors.md");
  console.log(`  pod startup (request → Ready seen), ${N} pods: p50 ${fmt(ps.p50)} ms (target ${TARGET_P50_MS}: ${fmt(ps.p50 / TARGET_P50_MS)}×), p99 ${fmt(ps.p99)} ms (target ${TARGET_P99_MS}: ${fmt(ps.p99 / TARGET_P99_MS)}×; SLO 5 s: ${fmt(ps.p99 / SLO_P99_MS)}×)`);
  console.log(`  steady state: kubelet ${fmt((100 * (kCpu + kKids)) / STEADY_S)}% of a core, VmRSS ${mib(kMem.rss)}; shims ${mib(shimMem.rss)} VmRSS / ${mib(shimMem.pss)} Pss for ${shims.length}`);
  console.log(`  teardown of ${N} pods: ${fmt(goneApi / 1000)} s (API), ${fmt(goneNode / 1000)} s (node clean)`);
  if (rt?.ours && rt.runc) {
    console.log(
      `  runtime /bin/true start-to-exit: ours ${fmt(rt.ours.median)} ms vs runc ${fmt(rt.runc.median)} ms this run = ${fmt(rt.ours.median / rt.runc.median)}× (p90 ${fmt(rt.ours.p90 / rt.runc.p90)}×); vs the ${RUNC_ANCHOR_MS} ms anchor: ${fmt(rt.ours.median / RUNC_ANCHOR_MS)}× (≤ 1 is the target)`,
    );
  } else if (RUNTIME_RUNS > 0) console.log("  runtime benchmark: no figures (see case 0's output)");
  if (left.length || apiLeft) process.exitCode = 1;
}

try {
  await main();
} catch (e) {
  console.error(`\nfailed: ${(e as Error).stack ?? e}`);
  if (current.kubelet) console.error(`--- kubelet log tail ---\n${current.kubelet.log().slice(-4000)}`);
  process.exitCode = 1;
} finally {
  await cleanup();
  const stray = current.runtimeDir ? shimPids(current.runtimeDir) : [];
  if (stray.length) {
    console.error(`cleanup left ${stray.length} shim process(es) running: ${stray.join(" ")}`);
    process.exitCode = 1;
  }
}
