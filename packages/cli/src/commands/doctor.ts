// Book 3.1-3.4 and 9.1: `corekube doctor`: does this machine have what the kubelet builds pods from
// (root, namespaces, overlayfs, cgroups, netfilter, the helper tools, the first image)? Each failed
// check says how to fix it.
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { detectCgroups } from "@corekube/kubelet/cgroups/detect";
import { ImageStore } from "@corekube/kubelet/images/store";
import { type FlagSpec, flagValue, parseFlags, usage, UsageError } from "../flags.js";
import { imageRoot } from "../node-setup.js";
import { defaultStateDir } from "../supervisor.js";

const flags: FlagSpec[] = [{ name: "state-dir", help: "the cluster's state directory (where the image store is)", default: defaultStateDir() }];

interface Check {
  name: string;
  ok: boolean;
  detail: string;
  fix?: string;
}

const works = (cmd: string, args: string[]) => {
  try {
    execFileSync(cmd, args, { stdio: "ignore", timeout: 10_000 });
    return true;
  } catch {
    return false;
  }
};

export async function doctorChecks(stateDir: string): Promise<Check[]> {
  const checks: Check[] = [];
  const add = (name: string, ok: boolean, detail: string, fix?: string) => checks.push({ name, ok, detail, ...(ok ? {} : { fix }) });
  add("linux", process.platform === "linux", process.platform, "corekube's kubelet builds pods from Linux namespaces and cgroups: use a Linux VM");
  add("root", process.getuid?.() === 0, `uid ${process.getuid?.()}`, "run as root (sudo), or use `corekube up --control-plane-only`");
  const ns = ["mnt", "pid", "net", "ipc", "uts"].filter((n) => !existsSync(`/proc/self/ns/${n}`));
  add("namespaces", ns.length === 0, ns.length ? `missing: ${ns.join(", ")}` : "mnt pid net ipc uts", "a kernel built with CONFIG_NAMESPACES and each namespace type");
  const fs = existsSync("/proc/filesystems") ? readFileSync("/proc/filesystems", "utf8") : "";
  const overlay = /\toverlay\n/.test(fs) || works("modprobe", ["-n", "overlay"]);
  add("overlayfs", overlay, overlay ? "available" : "not in /proc/filesystems", "modprobe overlay (container roots are overlay mounts)");
  try {
    const cg = detectCgroups();
    add("cgroups", true, cg.version === 2 ? "v2 (unified)" : cg.hybrid ? "v1 with a v2 mount beside it (hybrid): the v1 driver is used" : "v1");
  } catch (e) {
    add("cgroups", false, (e as Error).message, "mount cgroup2 at /sys/fs/cgroup (or the v1 hierarchies)");
  }
  const tools: [string, string, string][] = [
    ["unshare", "/usr/bin/unshare", "util-linux"],
    ["nsenter", "/usr/bin/nsenter", "util-linux"],
    ["setpriv", "/usr/bin/setpriv", "util-linux"],
    ["busybox (static)", "/bin/busybox", "busybox-static"],
    ["catatonit (pause)", "/usr/bin/catatonit", "catatonit"],
    ["ip", "/usr/sbin/ip", "iproute2"],
    ["iptables", "/usr/sbin/iptables", "iptables"],
    ["setfattr", "/usr/bin/setfattr", "attr"],
  ];
  for (const [name, path, pkg] of tools) add(name, existsSync(path), existsSync(path) ? path : `${path} missing`, `apt-get install ${pkg} (or run scripts/setup.sh)`);
  const nat = existsSync("/usr/sbin/iptables") && works("iptables", ["-w", "5", "-t", "nat", "-S", "POSTROUTING"]);
  add("netfilter", nat, nat ? "iptables can read the nat table" : "iptables -t nat failed", "load nf_tables/ip_tables and iptable_nat (pods are masqueraded behind an egress guard)");
  const bridge = existsSync("/sys/module/bridge") || works("modprobe", ["-n", "bridge"]);
  add("bridge", bridge, bridge ? "available" : "no bridge module", "modprobe bridge (pods hang off the corekube0 bridge)");
  const store = new ImageStore({ root: imageRoot(stateDir) });
  // Only look: a missing store is not created here.
  const busybox = existsSync(imageRoot(stateDir)) ? await store.get("docker.io/library/busybox:1.35").catch(() => undefined) : undefined;
  add("busybox image", Boolean(busybox), busybox ? `in ${imageRoot(stateDir)}` : "not imported yet", "`corekube up` builds it from busybox-static; or scripts/build-busybox-image.sh DIR && corekube images import DIR --name busybox:1.35");
  return checks;
}

export async function doctorCommand(argv: string[]): Promise<number> {
  if (argv.includes("--help") || argv.includes("-h")) {
    process.stdout.write(usage("doctor", "Checks what the kubelet needs on this machine and says how to fix what is missing.", flags));
    return 0;
  }
  const p = parseFlags(argv, flags);
  if (p.positionals.length > 0) throw new UsageError(`unexpected argument "${p.positionals[0]}"`);
  const checks = await doctorChecks(flagValue(p, flags, "state-dir"));
  for (const c of checks) {
    console.log(`  ${c.ok ? "ok  " : "FAIL"}  ${c.name.padEnd(18)} ${c.detail}`);
    if (c.fix) console.log(`        fix: ${c.fix}`);
  }
  const failed = checks.filter((c) => !c.ok).length;
  console.log(failed ? `\n${failed} problem(s) found.` : "\nThis machine can run corekube's kubelet.");
  return failed ? 1 : 0;
}
