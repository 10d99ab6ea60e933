// Book 5.4 and 6.2: writes the node's CNI config (10-corekube.conflist) for its pod CIDR: either our
// corekube-bridge plugin (which brings the pod's lo up itself, saving a plugin call per pod), or Debian's
// reference plugins (bridge + host-local) chained with loopback.
import { execFile } from "node:child_process";
import { mkdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { removePodNat } from "./bridge/netfilter.js";
import { DEFAULT_BRIDGE, PLUGIN_TYPE, removeBridgeNetwork } from "./bridge/plugin.js";
import { parseCidr, intToIp } from "./bridge/ipam.js";
import { CNI_VERSION, type NetworkConfigList } from "./spec.js";

const execFileAsync = promisify(execFile);

export const DEFAULT_CONFLIST_NAME = "10-corekube.conflist";
export const DEFAULT_NETWORK_NAME = "corekube";

export interface NodeNetworkOptions {
  /** The node's pod CIDR (spec.podCIDR), e.g. 10.244.1.0/24. */
  podCIDR: string;
  /** "corekube" (default): our corekube-bridge; "reference": Debian's bridge + host-local. */
  plugins?: "corekube" | "reference";
  networkName?: string;
  bridge?: string;
  /** IPAM lease directory (corekube: <dir>/<network>/<ip>; reference: host-local's dataDir). */
  ipamDataDir?: string;
  /** Destinations outside the pod range that pods may reach, masqueraded (corekube plugin only). */
  egressAllow?: string[];
  mtu?: number;
}

/**
 * Builds the network list for a node. The reference variant sets ipMasq off: Debian's bridge plugin would
 * masquerade pod traffic to anywhere without an egress guard. Pair it with ensureEgressGuard(), since it
 * still gives pods a default route and turns on forwarding.
 */
export function nodeNetworkConfig(o: NodeNetworkOptions): NetworkConfigList {
  const cidr = parseCidr(o.podCIDR);
  const name = o.networkName ?? DEFAULT_NETWORK_NAME;
  const bridge = o.bridge ?? DEFAULT_BRIDGE;
  const loopback = { type: "loopback" };
  if ((o.plugins ?? "corekube") === "corekube") {
    const plugin: Record<string, unknown> = {
      type: PLUGIN_TYPE,
      bridge,
      hairpinMode: true,
      ipMasq: true,
      egressAllow: o.egressAllow ?? [],
      ipam: { type: "corekube-ipam", subnet: o.podCIDR, ...(o.ipamDataDir ? { dataDir: o.ipamDataDir } : {}) },
    };
    if (o.mtu) plugin.mtu = o.mtu;
    return { cniVersion: CNI_VERSION, name, plugins: [plugin as { type: string }] };
  }
  const gateway = intToIp(cidr.base + 1);
  const plugin: Record<string, unknown> = {
    type: "bridge",
    bridge,
    isGateway: true,
    ipMasq: false,
    hairpinMode: true,
    ipam: {
      type: "host-local",
      ranges: [[{ subnet: o.podCIDR, gateway }]],
      routes: [{ dst: "0.0.0.0/0" }],
      ...(o.ipamDataDir ? { dataDir: o.ipamDataDir } : {}),
    },
  };
  if (o.mtu) plugin.mtu = o.mtu;
  return { cniVersion: CNI_VERSION, name, plugins: [plugin as { type: string }, loopback] };
}

/** Writes the conflist into confDir (atomically) and returns its path. */
export async function writeNodeConflist(confDir: string, o: NodeNetworkOptions, fileName = DEFAULT_CONFLIST_NAME): Promise<string> {
  const list = nodeNetworkConfig(o);
  await mkdir(confDir, { recursive: true });
  const path = join(confDir, fileName);
  const tmp = `${path}.tmp-${process.pid}`;
  await writeFile(tmp, `${JSON.stringify(list, null, 2)}\n`);
  await rename(tmp, path);
  return path;
}

/**
 * Removes everything the node's network put on the host, from its conflist: with corekube-bridge its
 * bridge, NAT rules, egress guard and leases; with the reference plugins the bridge, the egress guard
 * the kubelet adds beside them, and host-local's leases. Then the conflist itself. Idempotent.
 */
export async function removeNodeNetwork(confFile: string): Promise<void> {
  let list: { name: string; cniVersion: string; plugins: Record<string, unknown>[] };
  try {
    list = JSON.parse(await readFile(confFile, "utf8"));
  } catch {
    return; // no network configured
  }
  const ours = list.plugins.find((p) => p.type === PLUGIN_TYPE);
  if (ours) await removeBridgeNetwork({ ...ours, name: list.name, cniVersion: list.cniVersion });
  const ref = list.plugins.find((p) => p.type === "bridge") as { bridge?: string; ipam?: { ranges?: { subnet: string }[][]; dataDir?: string } } | undefined;
  if (ref) {
    const subnet = ref.ipam?.ranges?.[0]?.[0]?.subnet;
    if (subnet) await removePodNat({ network: list.name, podCIDR: subnet, ipMasq: false });
    if (ref.bridge) await execFileAsync("ip", ["link", "del", ref.bridge]).catch(() => undefined);
    await rm(join(ref.ipam?.dataDir ?? "/var/lib/cni/networks", list.name), { recursive: true, force: true });
  }
  await rm(confFile, { force: true });
}
