// Book 9.3.2 and 9.3.3: the node IPAM range allocator: each node gets its own slice of the cluster's
// pod CIDR (spec.podCIDR), which the CNI plugin then hands out to that node's pods. IPv4 only.
import type { Node } from "@corekube/api";
import { NODES } from "@corekube/client";
import type { Action, ReconcileResult } from "../framework/types.js";

export interface Ipv4Cidr {
  /** The network address as an unsigned 32-bit number. */
  base: number;
  prefix: number;
}

export function parseIpv4Cidr(text: string): Ipv4Cidr | undefined {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/.exec(text.trim());
  if (!m) return undefined;
  const octets = m.slice(1, 5).map(Number);
  const prefix = Number(m[5]);
  if (octets.some((o) => o > 255) || prefix > 32) return undefined;
  const addr = (((octets[0]! << 24) | (octets[1]! << 16) | (octets[2]! << 8) | octets[3]!) >>> 0);
  const mask = prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
  return { base: (addr & mask) >>> 0, prefix };
}

export function formatIpv4Cidr(c: Ipv4Cidr): string {
  const b = c.base;
  return `${b >>> 24}.${(b >>> 16) & 255}.${(b >>> 8) & 255}.${b & 255}/${c.prefix}`;
}

function podCidrsOf(node: Node): string[] {
  const list = [...(node.spec?.podCIDRs ?? [])];
  if (node.spec?.podCIDR && !list.includes(node.spec.podCIDR)) list.unshift(node.spec.podCIDR);
  return list;
}

/**
 * Gives every node without a pod CIDR the lowest free `/nodeMaskSize` block of `clusterCIDR`, in the
 * order the nodes are given. Blocks any node already holds (even a differently sized range) are never
 * handed out again. When the range is used up, the node gets a Warning event CIDRNotAvailable.
 */
export function allocateNodeCIDRs(nodes: Node[], clusterCIDR: string, nodeMaskSize = 24): ReconcileResult {
  const cluster = parseIpv4Cidr(clusterCIDR);
  if (!cluster) throw new Error(`invalid cluster CIDR "${clusterCIDR}" (IPv4 a.b.c.d/n expected)`);
  if (!Number.isInteger(nodeMaskSize) || nodeMaskSize < cluster.prefix || nodeMaskSize > 32) {
    throw new Error(`node mask size ${nodeMaskSize} must lie between the cluster prefix ${cluster.prefix} and 32`);
  }
  const blockSize = 2 ** (32 - nodeMaskSize);
  const blocks = 2 ** (nodeMaskSize - cluster.prefix);
  const clusterEnd = cluster.base + 2 ** (32 - cluster.prefix);
  const used = new Set<number>();

  // Mark every block that overlaps a range some node already has.
  for (const node of nodes) {
    for (const text of podCidrsOf(node)) {
      const c = parseIpv4Cidr(text);
      if (!c) continue;
      const start = Math.max(c.base, cluster.base);
      const end = Math.min(c.base + 2 ** (32 - c.prefix), clusterEnd);
      for (let a = start; a < end; a += blockSize) used.add(Math.floor((a - cluster.base) / blockSize));
    }
  }

  const actions: Action[] = [];
  let next = 0;
  for (const node of nodes) {
    if (podCidrsOf(node).length > 0) continue;
    while (next < blocks && used.has(next)) next++;
    if (next >= blocks) {
      const name = node.metadata.name ?? "";
      actions.push({ verb: "event", object: node, type: "Warning", reason: "CIDRNotAvailable", message: `Node ${name} status is now: CIDRNotAvailable` });
      continue;
    }
    used.add(next);
    const cidr = formatIpv4Cidr({ base: cluster.base + next * blockSize, prefix: nodeMaskSize });
    actions.push({
      verb: "patch",
      resource: NODES,
      name: node.metadata.name ?? "",
      patchType: "merge",
      patch: { spec: { podCIDR: cidr, podCIDRs: [cidr] } },
    });
  }
  return { actions };
}
