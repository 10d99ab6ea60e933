// Book 3.3-3.4, 9.4: container start-to-exit benchmark: our runtime (CreateContainer + StartContainer +
// wait for exit of /bin/true, sandbox reused) against `runc run` on the same busybox rootfs, interleaved.
//
//   npx tsx bench/kubelet/runtime.ts [--runs 20] [--warmup 2] [--no-cgroups]
//
// Like runc (which nests a cgroup per container under its caller's, in every v1 hierarchy), each of our
// containers gets cgroup v1 memory/pids/cpu directories under ours, joined through placeInCgroup
// before its code runs (a stand-in for the kubelet's cgroup driver); --no-cgroups skips that.
// Needs root, runc, catatonit, util-linux. Prints median/p90 of both and the ratio (target: <= 1).
// Removal is outside the timed part for both (RemoveContainer here; runc deletes on exit with `run`).
import { execFileSync, spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { buildBusyboxRootfs, LinuxRuntime } from "../../packages/kubelet/src/runtime/index.js";

const argv = process.argv.slice(2);
const flag = (name: string, dflt: number) => {
  const i = argv.indexOf(name);
  return i >= 0 ? Number(argv[i + 1]) : dflt;
};
const RUNS = flag("--runs", 20);
const WARMUP = flag("--warmup", 2);
const CGROUPS = !argv.includes("--no-cgroups");

/** Our own cgroup in each v1 hierarchy that exists here (from /proc/self/cgroup). */
function ownCgroups(): string[] {
  const out: string[] = [];
  for (const line of readFileSync("/proc/self/cgroup", "utf8").trim().split("\n")) {
    const [, controllers, path] = line.split(":") as [string, string, string];
    for (const c of ["memory", "pids", "cpu"]) {
      if (controllers.split(",").includes(c) && existsSync(`/sys/fs/cgroup/${c}`)) out.push(join(`/sys/fs/cgroup/${c}`, path));
    }
  }
  return out;
}
const cgroupParents = CGROUPS ? ownCgroups() : [];

function stats(xs: number[]): { median: number; p90: number; min: number; max: number } {
  const s = [...xs].sort((a, b) => a - b);
  const nearest = (p: number) => s[Math.min(s.length - 1, Math.ceil(p * s.length) - 1)] as number;
  return { median: nearest(0.5), p90: nearest(0.9), min: s[0] as number, max: s[s.length - 1] as number };
}

function runcRun(bundle: string, id: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const t = performance.now();
    // stdio to /dev/null: runc's container init inherits it (see node-anchors §3, harness pitfall)
    const p = spawn("runc", ["run", "--bundle", bundle, id], { stdio: "ignore" });
    p.on("error", reject);
    p.on("exit", (code) => (code === 0 ? resolve(performance.now() - t) : reject(new Error(`runc run exited ${code}`))));
  });
}

const base = mkdtempSync("/tmp/ck-bench-runtime-");
const rt = new LinuxRuntime({ stateDir: join(base, "state") });
let sandboxId: string | undefined;
try {
  const rootfs = buildBusyboxRootfs(join(base, "rootfs"));
  const bundle = join(base, "bundle");
  execFileSync("mkdir", ["-p", bundle]);
  execFileSync("runc", ["spec", "--bundle", bundle]);
  const spec = JSON.parse(readFileSync(join(bundle, "config.json"), "utf8"));
  spec.process.terminal = false;
  spec.process.args = ["/bin/true"];
  spec.root = { path: rootfs, readonly: true };
  spec.hostname = "bench";
  writeFileSync(join(bundle, "config.json"), JSON.stringify(spec));

  sandboxId = await rt.RunPodSandbox({ metadata: { name: "bench", namespace: "default", uid: "bench-uid" } });
  const ours = async (): Promise<number> => {
    const t = performance.now();
    const dirs = cgroupParents.map((p) => join(p, `ck-bench-${Math.random().toString(16).slice(2)}`));
    const placeInCgroup = (pid: number) => {
      for (const d of dirs) {
        mkdirSync(d);
        writeFileSync(join(d, "cgroup.procs"), String(pid));
      }
    };
    const id = await rt.CreateContainer(sandboxId as string, {
      metadata: { name: "true" },
      image: { layers: [rootfs] },
      command: ["/bin/true"],
      linux: { placeInCgroup },
    });
    await rt.StartContainer(id);
    const status = await rt.waitContainer(id);
    const ms = performance.now() - t;
    if (status?.exitCode !== 0) throw new Error(`container exited ${status?.exitCode} (${status?.reason}: ${status?.message})`);
    await rt.RemoveContainer(id);
    for (const d of dirs) if (existsSync(d)) rmdirSync(d);
    return ms;
  };
  const oursMs: number[] = [];
  const runcMs: number[] = [];
  for (let i = 0; i < WARMUP + RUNS; i++) {
    // interleave so both see the same machine load
    const a = await ours();
    const b = await runcRun(bundle, `ck-bench-${process.pid}-${i}`);
    if (i >= WARMUP) {
      oursMs.push(a);
      runcMs.push(b);
    }
  }
  const o = stats(oursMs);
  const r = stats(runcMs);
  const f = (x: number) => x.toFixed(1).padStart(6);
  console.log(`start-to-exit of /bin/true, n=${RUNS} (+${WARMUP} warm-up), ms; our cgroups: ${cgroupParents.length > 0 ? cgroupParents.map((p) => p.split("/")[4]).join(",") : "none"}`);
  console.log(`                       median    p90    min    max`);
  console.log(`corekube runtime      ${f(o.median)} ${f(o.p90)} ${f(o.min)} ${f(o.max)}`);
  console.log(`runc run              ${f(r.median)} ${f(r.p90)} ${f(r.min)} ${f(r.max)}`);
  console.log(`ratio (ours / runc)   median ${(o.median / r.median).toFixed(2)}  p90 ${(o.p90 / r.p90).toFixed(2)}`);
} finally {
  if (sandboxId) await rt.RemovePodSandbox(sandboxId).catch((e) => console.error(`cleanup: ${e.message}`));
  rmSync(base, { recursive: true, force: true });
}
