// Book 6.2: the node's NAT for pod traffic. Masquerade pod → outside-the-pod-range traffic (nat chain
// CORE-POSTROUTING), behind an egress guard (mangle chain CORE-EGRESS-GUARD) that drops pod traffic to
// any destination outside the pod range that was not explicitly allowed, so pod ranges never leave the node.
import { iptables, iptablesDeleteAll, iptablesEnsure, iptablesEnsureChain, iptablesHas, iptablesRules } from "./sys.js";

export const MASQ_CHAIN = "CORE-POSTROUTING";
export const GUARD_CHAIN = "CORE-EGRESS-GUARD";

export interface PodNatConfig {
  /** Network name; tags every rule (comment "corekube:<name>") so teardown finds them. */
  network: string;
  /** The node's pod CIDR, e.g. 10.244.1.0/24. */
  podCIDR: string;
  /** Destinations outside the pod range that pods may reach (masqueraded). Empty: pods reach only the
   *  pod range and the node itself (local delivery never passes POSTROUTING). */
  egressAllow?: string[];
  /** Masquerade allowed egress (default true). */
  ipMasq?: boolean;
}

const JUMP_GUARD = ["-m", "comment", "--comment", "corekube egress guard", "-j", GUARD_CHAIN];
const JUMP_MASQ = ["-m", "comment", "--comment", "corekube pod masquerade", "-j", MASQ_CHAIN];

function tag(network: string): string[] {
  return ["-m", "comment", "--comment", `corekube:${network}`];
}

function guardRules(c: PodNatConfig): string[][] {
  const allow = (c.egressAllow ?? []).map((dst) => ["-s", c.podCIDR, "-d", dst, ...tag(c.network), "-j", "RETURN"]);
  return [...allow, ["-s", c.podCIDR, "!", "-d", c.podCIDR, ...tag(c.network), "-j", "DROP"]];
}

function masqRule(c: PodNatConfig): string[] {
  return ["-s", c.podCIDR, "!", "-d", c.podCIDR, ...tag(c.network), "-j", "MASQUERADE"];
}

/** Installs the egress guard for a pod range (idempotent). Call it before enabling forwarding. */
export async function ensureEgressGuard(c: PodNatConfig): Promise<void> {
  await iptablesEnsureChain("mangle", GUARD_CHAIN);
  await iptablesEnsure("mangle", "POSTROUTING", JUMP_GUARD);
  const rules = guardRules(c);
  const drop = rules[rules.length - 1] as string[];
  if (await iptablesHas("mangle", GUARD_CHAIN, drop)) return;
  // RETURNs for allowed destinations first, then the DROP: appended together, in order.
  for (const r of rules) await iptables("mangle", "-A", GUARD_CHAIN, ...r);
}

/** Installs guard then masquerade for a pod range (idempotent); cheap when already present. */
export async function ensurePodNat(c: PodNatConfig): Promise<void> {
  const rule = masqRule(c);
  const guardDrop = guardRules(c).at(-1) as string[];
  if ((await iptablesHas("mangle", GUARD_CHAIN, guardDrop)) && (c.ipMasq === false || (await iptablesHas("nat", MASQ_CHAIN, rule)))) {
    return;
  }
  await ensureEgressGuard(c);
  if (c.ipMasq === false) return;
  await iptablesEnsureChain("nat", MASQ_CHAIN);
  await iptablesEnsure("nat", "POSTROUTING", JUMP_MASQ);
  await iptablesEnsure("nat", MASQ_CHAIN, rule);
}

/** True if both the guard and (unless disabled) the masquerade rule are in place. */
export async function podNatPresent(c: PodNatConfig): Promise<boolean> {
  const guardDrop = guardRules(c).at(-1) as string[];
  if (!(await iptablesHas("mangle", GUARD_CHAIN, guardDrop))) return false;
  return c.ipMasq === false || iptablesHas("nat", MASQ_CHAIN, masqRule(c));
}

/** Removes this network's rules; removes the shared chains and their jumps once no network uses them. */
export async function removePodNat(c: PodNatConfig): Promise<void> {
  await iptablesDeleteAll("nat", MASQ_CHAIN, masqRule(c));
  for (const r of guardRules(c)) await iptablesDeleteAll("mangle", GUARD_CHAIN, r);
  for (const [table, chain, jump] of [
    ["nat", MASQ_CHAIN, JUMP_MASQ],
    ["mangle", GUARD_CHAIN, JUMP_GUARD],
  ] as const) {
    const left = await iptablesRules(table, chain);
    if (left === undefined || left.length > 0) continue;
    await iptablesDeleteAll(table, "POSTROUTING", [...jump]);
    try {
      await iptables(table, "-X", chain);
    } catch {
      // another network added a rule meanwhile; leave the chain
    }
  }
}
