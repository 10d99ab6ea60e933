// Book 9.1 and 3.3: what `corekube up` prepares on the machine before the kubelet starts (the first
// image, the host's forwarding state) and what `corekube down` takes away again: every pod, shim,
// mount, cgroup, veth, bridge, iptables rule and IPAM lease the kubelet made. Safe after a crash.
import { cleanupProxyRules } from "@corekube/proxy/run";
import { execFileSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync, rmdirSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { CniClient } from "@corekube/kubelet/cni/client";
import { DEFAULT_CONFLIST_NAME, removeNodeNetwork } from "@corekube/kubelet/cni/conf";
import { newCgroupDriver } from "@corekube/kubelet/cgroups/detect";
import { importOciLayout } from "@corekube/kubelet/images/oci-layout";
import { ImageStore } from "@corekube/kubelet/images/store";
import { OWN_CNI_BIN_DIR } from "@corekube/kubelet/kubelet";
import { LinuxRuntime } from "@corekube/kubelet/runtime/runtime";
import { VolumeManager } from "@corekube/kubelet/volumes/manager";

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..", "..");
export const CNI_CONF_DIR = "/etc/cni/net.d";
export const RUNTIME_STATE_DIR = "/run/corekube/runtime";

export const kubeletRootDir = (stateDir: string) => join(stateDir, "kubelet");
export const imageRoot = (stateDir: string) => join(stateDir, "images");

/** Builds the busybox image from busybox-static (no registry needed) and imports it, once. */
export async function ensureBusyboxImage(stateDir: string): Promise<string> {
  const store = new ImageStore({ root: imageRoot(stateDir) });
  await store.init();
  const ref = "docker.io/library/busybox:latest";
  if (await store.get(ref)) return "busybox already imported";
  const layout = join(stateDir, "images-src", "busybox");
  execFileSync("bash", [join(REPO, "scripts", "build-busybox-image.sh"), layout], { stdio: "ignore" });
  await importOciLayout(store, layout, { name: ref });
  await importOciLayout(store, layout, { name: "docker.io/library/busybox:1.35" });
  return "busybox:latest and busybox:1.35 imported from busybox-static";
}

const tryRun = (cmd: string, args: string[]): string | undefined => {
  try {
    return execFileSync(cmd, args, { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] });
  } catch {
    return undefined;
  }
};

/**
 * Remembers the host's ip_forward before the first pod network turns it on, and which nft tables
 * existed before iptables-nft made nat, filter and mangle for our rules.
 */
export function saveHostNet(stateDir: string): void {
  const f = join(stateDir, "run", "host-net.json");
  if (existsSync(f)) return;
  const tables = tryRun("nft", ["list", "tables"]);
  writeFileSync(f, JSON.stringify({ ipForward: readFileSync("/proc/sys/net/ipv4/ip_forward", "utf8").trim(), nftTables: tables?.split("\n").filter(Boolean) }));
}

/** Drops iptables-nft tables that `up` brought into being and that hold nothing any more. */
function dropEmptyTables(before: string[] | undefined, log: (line: string) => void): void {
  if (!before) return;
  const dropped: string[] = [];
  for (const table of ["nat", "filter", "mangle"]) {
    if (before.includes(`table ip ${table}`)) continue;
    const rules = tryRun("iptables-save", ["-t", table]);
    if (rules === undefined || !rules.includes(`*${table}`)) continue;
    // Only base chains and no rules: nothing of anyone's is lost.
    if (/^-A |^:(?!PREROUTING |INPUT |FORWARD |OUTPUT |POSTROUTING )/m.test(rules)) continue;
    if (tryRun("nft", ["delete", "table", "ip", table]) !== undefined) dropped.push(table);
  }
  if (dropped.length > 0) log(`  iptables tables     ${dropped.join(", ")} removed (empty, made by corekube)`);
}

/** Removes every trace of pods and pod networking; each step goes on after another fails. */
export async function cleanNode(stateDir: string, log: (line: string) => void): Promise<void> {
  const step = async (what: string, fn: () => Promise<unknown> | unknown) => {
    try {
      await fn();
    } catch (e) {
      log(`  cleanup: ${what}: ${(e as Error).message}`);
    }
  };
  const confFile = join(CNI_CONF_DIR, DEFAULT_CONFLIST_NAME);
  const cni = new CniClient({ confDir: CNI_CONF_DIR, binDirs: [OWN_CNI_BIN_DIR, "/opt/cni/bin", "/usr/lib/cni"], cacheDir: join(kubeletRootDir(stateDir), "cni-cache") });
  if (existsSync(RUNTIME_STATE_DIR)) {
    const runtime = new LinuxRuntime({
      stateDir: RUNTIME_STATE_DIR,
      onSandboxStop: async (st) => {
        if (st.network.netnsPath) await cni.del({ containerId: st.id, netns: st.network.netnsPath, podNamespace: st.metadata.namespace, podName: st.metadata.name, podUid: st.metadata.uid });
      },
    });
    let pods = 0;
    for (const sb of await runtime.ListPodSandbox()) {
      pods++;
      for (const c of await runtime.ListContainers({ podSandboxId: sb.id })) {
        await step(`container ${c.id}`, async () => {
          await runtime.StopContainer(c.id, 0);
          await runtime.RemoveContainer(c.id);
        });
      }
      await step(`sandbox ${sb.id}`, async () => {
        await runtime.StopPodSandbox(sb.id);
        await runtime.RemovePodSandbox(sb.id);
      });
    }
    if (pods) log(`  pods                removed ${pods} pod sandbox(es) with their containers and shims`);
    await step("runtime state", () => {
      rmSync(RUNTIME_STATE_DIR, { recursive: true, force: true });
      // /run/corekube too, when nothing else of ours is left in it.
      if (existsSync(dirname(RUNTIME_STATE_DIR)) && readdirSync(dirname(RUNTIME_STATE_DIR)).length === 0) rmdirSync(dirname(RUNTIME_STATE_DIR));
    });
  }
  const volumes = new VolumeManager({ rootDir: kubeletRootDir(stateDir), nodeName: "cleanup" });
  for (const uid of await volumes.podUidsOnDisk().catch(() => [] as string[])) await step(`volumes of ${uid}`, () => volumes.tearDown(uid));
  await step("cgroups", async () => {
    const driver = newCgroupDriver();
    await driver.remove("kubepods");
  });
  if (existsSync(confFile)) {
    await step("pod network", () => removeNodeNetwork(confFile));
    log("  pod network         bridge, NAT rules, egress guard and leases removed");
  }
  await step("proxy rules", async () => {
    const r = await cleanupProxyRules("auto");
    const n = Object.values(r.removed).reduce((a, c) => a + c.length, 0);
    if (n > 0) log(`  proxy rules         ${n} chains removed (${r.backend})`);
  });
  const saved = join(stateDir, "run", "host-net.json");
  if (existsSync(saved)) {
    await step("ip_forward", () => {
      const { ipForward, nftTables } = JSON.parse(readFileSync(saved, "utf8")) as { ipForward: string; nftTables?: string[] };
      writeFileSync("/proc/sys/net/ipv4/ip_forward", ipForward);
      dropEmptyTables(nftTables, log);
      rmSync(saved);
    });
  }
}
