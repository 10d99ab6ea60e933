// Book 3.4.4, 5.3-5.4 and 6.2: corekube-bridge, our own CNI plugin: a Linux bridge per node with the pod
// CIDR's gateway, one veth pair per pod, addresses from our IPAM, a default route, and guarded masquerade.
import { createHash } from "node:crypto";
import { access, readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import {
  CNI_VERSION,
  CniError,
  CniErrorCode,
  type DnsConfig,
  type PluginStdinConfig,
  type Result,
  SUPPORTED_VERSIONS,
  type VersionResult,
} from "../spec.js";
import { DEFAULT_IPAM_DATA_DIR, IpamStore, parseCidr } from "./ipam.js";
import { ensurePodNat, type PodNatConfig, podNatPresent, removePodNat } from "./netfilter.js";
import { CommandError, ip, ipBatch, ipIn } from "./sys.js";

export const PLUGIN_TYPE = "corekube-bridge";
export const DEFAULT_BRIDGE = "corekube0";

/** corekube-bridge's own config fields (besides the common name/cniVersion/type). */
export interface BridgeConfig {
  name: string;
  cniVersion: string;
  bridge: string;
  podCIDR: string;
  mtu?: number;
  hairpinMode: boolean;
  ipMasq: boolean;
  egressAllow: string[];
  dataDir: string;
  dns?: DnsConfig;
}

/** The CNI_* environment a plugin is called with. */
export interface PluginEnv {
  command: string;
  containerId: string;
  netns: string;
  ifName: string;
}

const IFNAME = /^[A-Za-z0-9_.-]{1,15}$/;

function bad(msg: string): CniError {
  return new CniError(CniErrorCode.InvalidNetworkConfig, msg);
}

/** Reads and checks corekube-bridge's stdin config. */
export function parseBridgeConfig(raw: unknown): BridgeConfig {
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) throw bad("config must be a JSON object");
  const c = raw as PluginStdinConfig;
  if (typeof c.name !== "string" || c.name === "") throw bad('config has no network "name"');
  if (!(SUPPORTED_VERSIONS as readonly string[]).includes(String(c.cniVersion))) {
    throw new CniError(
      CniErrorCode.IncompatibleVersion,
      `cniVersion "${String(c.cniVersion)}" not supported (supported: ${SUPPORTED_VERSIONS.join(", ")})`,
    );
  }
  const bridge = c.bridge ?? DEFAULT_BRIDGE;
  if (typeof bridge !== "string" || !IFNAME.test(bridge)) throw bad(`"bridge" must be an interface name of at most 15 characters`);
  const ipam = (c.ipam ?? {}) as Record<string, unknown>;
  const subnet = ipam.subnet ?? c.podCIDR;
  if (typeof subnet !== "string") throw bad('need the pod CIDR in "ipam.subnet" or "podCIDR"');
  parseCidr(subnet);
  if (ipam.type !== undefined && ipam.type !== "corekube-ipam") {
    throw bad(`ipam.type "${String(ipam.type)}" is not supported; corekube-bridge has its own IPAM ("corekube-ipam")`);
  }
  const egressAllow = c.egressAllow ?? [];
  if (!Array.isArray(egressAllow) || egressAllow.some((d) => typeof d !== "string")) throw bad('"egressAllow" must be a list of CIDRs');
  for (const d of egressAllow as string[]) parseCidr(d.includes("/") ? d : `${d}/32`);
  const mtu = c.mtu;
  if (mtu !== undefined && (typeof mtu !== "number" || !Number.isInteger(mtu) || mtu < 576 || mtu > 65535)) throw bad('"mtu" must be an integer 576..65535');
  const dataDir = ipam.dataDir ?? DEFAULT_IPAM_DATA_DIR;
  if (typeof dataDir !== "string" || !dataDir.startsWith("/")) throw bad('"ipam.dataDir" must be an absolute path');
  return {
    name: c.name,
    cniVersion: String(c.cniVersion),
    bridge,
    podCIDR: subnet,
    mtu: mtu as number | undefined,
    hairpinMode: c.hairpinMode !== false,
    ipMasq: c.ipMasq !== false,
    egressAllow: egressAllow as string[],
    dataDir,
    dns: c.dns,
  };
}

/** Host-side veth name: stable for (container, ifName), so DEL finds it without any saved state. */
export function hostVethName(containerId: string, ifName: string): string {
  return `ckv${createHash("sha256").update(`${containerId}/${ifName}`).digest("hex").slice(0, 11)}`;
}

/** A locally administered MAC derived from the pod IP (0a:58 + the 4 IP bytes), as kubenet did. */
export function macForIp(ipv4: string): string {
  return ["0a", "58", ...ipv4.split(".").map((o) => Number(o).toString(16).padStart(2, "0"))].join(":");
}

function natConfig(c: BridgeConfig): PodNatConfig {
  return { network: c.name, podCIDR: c.podCIDR, egressAllow: c.egressAllow, ipMasq: c.ipMasq };
}

async function readMac(dev: string): Promise<string | undefined> {
  try {
    return (await readFile(`/sys/class/net/${dev}/address`, "utf8")).trim();
  } catch {
    return undefined;
  }
}

async function linkExists(dev: string): Promise<boolean> {
  try {
    await readFile(`/sys/class/net/${dev}/ifindex`, "utf8");
    return true;
  } catch {
    return false;
  }
}

/** Creates the bridge with the gateway address if missing, and brings it up. */
async function ensureBridge(c: BridgeConfig, gateway: string, prefix: number): Promise<void> {
  if (!(await linkExists(c.bridge))) {
    try {
      await ip("link", "add", c.bridge, "type", "bridge");
    } catch (e) {
      if (!/exists/i.test((e as CommandError).stderr ?? "")) throw e;
    }
  }
  const addrs = await ip("-o", "-4", "addr", "show", "dev", c.bridge);
  const lines = [];
  if (!addrs.includes(` ${gateway}/${prefix} `)) lines.push(`addr add ${gateway}/${prefix} dev ${c.bridge}`);
  if (c.mtu) lines.push(`link set ${c.bridge} mtu ${c.mtu}`);
  lines.push(`link set ${c.bridge} up`);
  await ipBatch(lines);
}

async function setIpForward(): Promise<void> {
  const path = "/proc/sys/net/ipv4/ip_forward";
  if ((await readFile(path, "utf8")).trim() !== "1") await writeFile(path, "1");
}

function sysError(e: unknown, what: string): CniError {
  if (e instanceof CniError) return e;
  if (e instanceof CommandError) return new CniError(CniErrorCode.IoFailure, `${what}: ${e.stderr.trim() || e.message}`, e.command);
  return new CniError(CniErrorCode.IoFailure, `${what}: ${(e as Error).message}`);
}

function formatResult(c: BridgeConfig, result: Result): Result {
  if (c.cniVersion !== "0.4.0") return result;
  // 0.4.0 results carry an IP version on every address; otherwise the same shape.
  return { ...result, cniVersion: "0.4.0", ips: result.ips?.map((a) => ({ ...a, version: "4" as const })) };
}

/** ADD: attach the container's netns to the node bridge and give it an address and a default route. */
export async function cmdAdd(c: BridgeConfig, env: PluginEnv): Promise<Result> {
  if (!env.netns) throw new CniError(CniErrorCode.InvalidEnvironment, "CNI_NETNS is required for ADD");
  try {
    await access(env.netns);
  } catch {
    throw new CniError(CniErrorCode.InvalidEnvironment, `netns ${env.netns} does not exist`);
  }
  const store = new IpamStore(c.dataDir, c.name, c.podCIDR);
  const hostVeth = hostVethName(env.containerId, env.ifName);
  if (await linkExists(hostVeth)) {
    throw new CniError(CniErrorCode.InvalidEnvironment, `container ${env.containerId} already has ${env.ifName} (host veth ${hostVeth} exists)`);
  }
  // Node-wide setup and the lease happen under the network's lock, so concurrent ADDs see one bridge,
  // one set of iptables rules, and distinct IPs. Guard before masquerade, both before forwarding.
  const lease = await store.locked(async () => {
    try {
      await ensureBridge(c, store.gatewayIp, store.subnet.prefix);
      await ensurePodNat(natConfig(c));
      await setIpForward();
    } catch (e) {
      throw sysError(e, "node network setup failed");
    }
    return store.allocateLocked(env.containerId, env.ifName);
  });
  const mac = macForIp(lease.ip);
  try {
    const mtu = c.mtu ? ` mtu ${c.mtu}` : "";
    const host = [
      `link add ${hostVeth}${mtu} type veth peer name ${env.ifName}${mtu} address ${mac} netns ${env.netns}`,
      `link set ${hostVeth} master ${c.bridge}`,
      `link set ${hostVeth} up`,
    ];
    if (c.hairpinMode) host.push(`link set dev ${hostVeth} type bridge_slave hairpin on`);
    await ipBatch(host);
    await ipBatch(
      [
        "link set lo up",
        `addr add ${lease.address} dev ${env.ifName}`,
        `link set ${env.ifName} up`,
        `route add default via ${lease.gateway} dev ${env.ifName}`,
      ],
      env.netns,
    );
  } catch (e) {
    // Undo what this ADD did, so a retry starts clean; the runtime will also call DEL.
    await ip("link", "del", hostVeth).catch(() => {});
    await store.release(env.containerId, env.ifName).catch(() => {});
    throw sysError(e, "attaching the container failed");
  }
  const result: Result = {
    cniVersion: c.cniVersion,
    interfaces: [
      { name: c.bridge, mac: await readMac(c.bridge) },
      { name: hostVeth, mac: await readMac(hostVeth) },
      { name: env.ifName, mac, sandbox: env.netns },
    ],
    ips: [{ address: lease.address, gateway: lease.gateway, interface: 2 }],
    routes: [{ dst: "0.0.0.0/0", gw: lease.gateway }],
    dns: c.dns ?? {},
  };
  return formatResult(c, result);
}

/** DEL: remove the host veth (its peer goes with it) and release the lease. Missing pieces are fine. */
export async function cmdDel(c: BridgeConfig, env: PluginEnv): Promise<void> {
  const hostVeth = hostVethName(env.containerId, env.ifName);
  try {
    await ip("link", "del", hostVeth);
  } catch (e) {
    const msg = (e as CommandError).stderr ?? "";
    if (!/cannot find device|does not exist/i.test(msg)) throw sysError(e, `deleting ${hostVeth} failed`);
  }
  const store = new IpamStore(c.dataDir, c.name, c.podCIDR);
  await store.release(env.containerId, env.ifName);
}

/** CHECK: the lease, the host veth on the bridge, and the address and default route inside the netns. */
export async function cmdCheck(c: BridgeConfig, env: PluginEnv, prev: Result | undefined): Promise<void> {
  const fail = (msg: string) => new CniError(CniErrorCode.CheckFailed, msg);
  if (!prev) throw new CniError(CniErrorCode.InvalidNetworkConfig, "CHECK needs prevResult");
  if (!env.netns) throw new CniError(CniErrorCode.InvalidEnvironment, "CNI_NETNS is required for CHECK");
  const store = new IpamStore(c.dataDir, c.name, c.podCIDR);
  const lease = await store.find(env.containerId, env.ifName);
  if (!lease) throw fail(`no IPAM lease for container ${env.containerId}`);
  const want = prev.ips?.find((a) => a.address === lease.address);
  if (!want) throw fail(`lease ${lease.address} is not in prevResult`);
  const hostVeth = hostVethName(env.containerId, env.ifName);
  let master = "";
  try {
    master = (await readFile(`/sys/class/net/${hostVeth}/master/uevent`, "utf8")).match(/INTERFACE=(\S+)/)?.[1] ?? "";
  } catch {
    throw fail(`host veth ${hostVeth} is missing or not on a bridge`);
  }
  if (master !== c.bridge) throw fail(`host veth ${hostVeth} is on "${master}", not on ${c.bridge}`);
  let addrs: string;
  let routes: string;
  try {
    addrs = await ipIn(env.netns, "-o", "-4", "addr", "show", "dev", env.ifName);
    routes = await ipIn(env.netns, "-4", "route", "show", "default");
  } catch (e) {
    throw fail(`cannot inspect ${env.ifName} in ${env.netns}: ${(e as CommandError).stderr?.trim() ?? String(e)}`);
  }
  if (!addrs.includes(` ${lease.address} `)) throw fail(`${env.ifName} in ${env.netns} does not have ${lease.address}`);
  if (!routes.includes(`via ${lease.gateway} `)) throw fail(`no default route via ${lease.gateway} in ${env.netns}`);
  if (!(await podNatPresent(natConfig(c)))) throw fail(`egress guard or masquerade rules for ${c.podCIDR} are missing`);
}

export function cmdVersion(): VersionResult {
  return { cniVersion: CNI_VERSION, supportedVersions: [...SUPPORTED_VERSIONS] };
}

/**
 * Removes node-wide state of a corekube-bridge network: its iptables rules (and the shared chains once
 * unused), the bridge, and the lease directory. For node teardown and tests; not part of CNI.
 */
export async function removeBridgeNetwork(raw: unknown): Promise<void> {
  const c = parseBridgeConfig(raw);
  await removePodNat(natConfig(c));
  await ip("link", "del", c.bridge).catch(() => {});
  await rm(join(c.dataDir, c.name), { recursive: true, force: true });
}
