// Book 5.2, 6.3 and 10.1: kube-proxy's iptables mode as a pure function: Services and EndpointSlices in,
// the nat and filter chains (KUBE-SERVICES → KUBE-SVC → KUBE-SEP → DNAT, ...) out, as iptables-restore text.
import { createHash } from "node:crypto";
import { LABEL_SERVICE_NAME, type ProxyEndpointSlice, type ProxyService } from "./types.js";

export type TableName = "nat" | "filter";
export const TABLES: readonly TableName[] = ["nat", "filter"];

/** Chain name → its rules, each a whole `-A CHAIN ...` line, in order. */
export type Chains = Map<string, string[]>;

export interface Rendering {
  nat: Chains;
  filter: Chains;
}

export interface NodeInfo {
  nodeName: string;
  /** Pod network; traffic to a ClusterIP from outside it is masqueraded. Unset: no such rule. */
  clusterCIDR?: string;
  /** Bit of the packet mark that asks KUBE-POSTROUTING to masquerade (upstream default 14 → 0x4000). */
  masqueradeBit?: number;
}

export interface RenderResult {
  rendering: Rendering;
  /** Services or endpoints left out, with why (bad input never reaches iptables-restore). */
  warnings: string[];
}

// Chains every sync owns whole.
export const KUBE_SERVICES = "KUBE-SERVICES";
export const KUBE_NODEPORTS = "KUBE-NODEPORTS";
export const KUBE_POSTROUTING = "KUBE-POSTROUTING";
export const KUBE_MARK_MASQ = "KUBE-MARK-MASQ";
export const KUBE_EXTERNAL_SERVICES = "KUBE-EXTERNAL-SERVICES";
export const KUBE_FORWARD = "KUBE-FORWARD";
export const KUBE_PROXY_FIREWALL = "KUBE-PROXY-FIREWALL";

/** Prefixes of the per-Service chains; any such chain not in a rendering is stale and gets deleted. */
export const PER_SERVICE_PREFIXES = ["KUBE-SVC-", "KUBE-SVL-", "KUBE-EXT-", "KUBE-SEP-", "KUBE-FW-"];

/** Fixed (non per-Service) chains of each table, in the order they are declared. */
export const FIXED_CHAINS: Record<TableName, string[]> = {
  nat: [KUBE_SERVICES, KUBE_NODEPORTS, KUBE_POSTROUTING, KUBE_MARK_MASQ],
  filter: [KUBE_SERVICES, KUBE_EXTERNAL_SERVICES, KUBE_FORWARD, KUBE_PROXY_FIREWALL],
};

/** True for chains this proxy creates (fixed or per-Service) in `table`. */
export function isOwnChain(table: TableName, chain: string): boolean {
  return FIXED_CHAINS[table].includes(chain) || PER_SERVICE_PREFIXES.some((p) => chain.startsWith(p));
}

/** A jump from a built-in chain into ours; ensured with `iptables -C` / `-I` outside iptables-restore. */
export interface JumpRule {
  table: TableName;
  from: string;
  args: string[];
}

export const JUMP_RULES: JumpRule[] = [
  { table: "nat", from: "PREROUTING", args: ["-m", "comment", "--comment", "kubernetes service portals", "-j", KUBE_SERVICES] },
  { table: "nat", from: "OUTPUT", args: ["-m", "comment", "--comment", "kubernetes service portals", "-j", KUBE_SERVICES] },
  { table: "nat", from: "POSTROUTING", args: ["-m", "comment", "--comment", "kubernetes postrouting rules", "-j", KUBE_POSTROUTING] },
  ...["INPUT", "FORWARD"].map((from) => ({
    table: "filter" as const,
    from,
    args: ["-m", "conntrack", "--ctstate", "NEW", "-m", "comment", "--comment", "kubernetes externally-visible service portals", "-j", KUBE_EXTERNAL_SERVICES],
  })),
  ...["FORWARD", "OUTPUT"].map((from) => ({
    table: "filter" as const,
    from,
    args: ["-m", "conntrack", "--ctstate", "NEW", "-m", "comment", "--comment", "kubernetes service portals", "-j", KUBE_SERVICES],
  })),
  { table: "filter", from: "FORWARD", args: ["-m", "comment", "--comment", "kubernetes forwarding rules", "-j", KUBE_FORWARD] },
  ...["INPUT", "FORWARD", "OUTPUT"].map((from) => ({
    table: "filter" as const,
    from,
    args: ["-m", "conntrack", "--ctstate", "NEW", "-m", "comment", "--comment", "kubernetes load balancer firewall", "-j", KUBE_PROXY_FIREWALL],
  })),
];

// --- chain names: "KUBE-XXX-" + the first 16 characters of base32(sha256(text)), as upstream names them.

const B32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/** RFC 4648 base32 (with the standard alphabet) of the first 10 bytes: exactly 16 characters. */
function base32First16(bytes: Uint8Array): string {
  let out = "";
  let acc = 0;
  let bits = 0;
  for (let i = 0; i < 10; i++) {
    acc = (acc << 8) | bytes[i]!;
    bits += 8;
    while (bits >= 5) {
      out += B32[(acc >>> (bits - 5)) & 31];
      bits -= 5;
    }
    acc &= (1 << bits) - 1;
  }
  return out;
}

// Names are asked for again on every sync; hashing them each time was most of a render's cost.
const names = new Map<string, string>();
function hash16(text: string): string {
  let h = names.get(text);
  if (h === undefined) {
    h = base32First16(createHash("sha256").update(text).digest());
    if (names.size >= 200_000) names.clear();
    names.set(text, h);
  }
  return h;
}

/** `ns/name:port` (or `ns/name` for an unnamed port): the ServicePortName string chains are hashed from. */
export function servicePortName(namespace: string, name: string, port: string | undefined): string {
  return port ? `${namespace}/${name}:${port}` : `${namespace}/${name}`;
}
export const serviceChain = (spn: string, proto: string) => `KUBE-SVC-${hash16(spn + proto)}`;
export const localChain = (spn: string, proto: string) => `KUBE-SVL-${hash16(spn + proto)}`;
export const externalChain = (spn: string, proto: string) => `KUBE-EXT-${hash16(spn + proto)}`;
export const firewallChain = (spn: string, proto: string) => `KUBE-FW-${hash16(spn + proto)}`;
export const endpointChain = (spn: string, proto: string, endpoint: string) => `KUBE-SEP-${hash16(spn + proto + endpoint)}`;

// --- flattening Services and EndpointSlices into service ports

export interface EndpointInfo {
  ip: string;
  port: number;
  /** On this node (used by the Local traffic policies). */
  local: boolean;
  /** Ready, and not terminating. */
  ready: boolean;
  /** Terminating but still passing readiness: used only when a policy has no ready endpoint left. */
  servingTerminating: boolean;
}

export interface ServicePortInfo {
  /** `ns/name:port` */
  spn: string;
  /** Lower case: tcp, udp, sctp. */
  protocol: string;
  clusterIP: string;
  port: number;
  nodePort?: number;
  /** ClientIP session affinity timeout in seconds, when affinity is on. */
  affinitySeconds?: number;
  /** spec.externalIPs: the node accepts the Service's port on these addresses too. */
  externalIPs: string[];
  /** status.loadBalancer.ingress IPs (ipMode VIP): handled like external IPs, through the firewall chain. */
  loadBalancerIPs: string[];
  /** spec.loadBalancerSourceRanges: only these clients may use the load-balancer IPs. */
  sourceRanges: string[];
  /** externalTrafficPolicy: Local on a Service reachable from outside (NodePort, external or LB IP). */
  externalLocal: boolean;
  /** internalTrafficPolicy: Local: the cluster IP leads only to endpoints on this node. */
  internalLocal: boolean;
  /** Usable endpoints (ready, or serving while terminating), sorted by address then port. */
  endpoints: EndpointInfo[];
}

const DNS_LABELISH = /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/;
const PORT_NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;
const CIDR4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}\/([0-9]|[12]\d|3[0-2])$/;
const PROTOCOLS = new Set(["tcp", "udp", "sctp"]);
const DEFAULT_AFFINITY_SECONDS = 10800;

export const isIPv4 = (s: string): boolean => IPV4.test(s);
export const isCIDRv4 = (s: string): boolean => CIDR4.test(s);

const validPort = (n: unknown): n is number => Number.isInteger(n) && (n as number) > 0 && (n as number) < 65536;

/**
 * The service ports kube-proxy programs, sorted by name. Headless and ExternalName Services, IPv6 and
 * malformed entries are left out (the last two with a warning).
 */
export function servicePorts(services: ProxyService[], slices: ProxyEndpointSlice[], node: NodeInfo, warnings: string[] = []): ServicePortInfo[] {
  // Slices by "ns/service".
  const byService = new Map<string, ProxyEndpointSlice[]>();
  for (const s of slices) {
    const svc = s.metadata?.labels?.[LABEL_SERVICE_NAME];
    if (!svc || (s.addressType ?? "IPv4") !== "IPv4") continue;
    const key = `${s.metadata.namespace ?? "default"}/${svc}`;
    const list = byService.get(key);
    if (list) list.push(s);
    else byService.set(key, [s]);
  }

  const out: ServicePortInfo[] = [];
  for (const svc of services) {
    const ns = svc.metadata?.namespace ?? "default";
    const name = svc.metadata?.name ?? "";
    const spec = svc.spec ?? {};
    const clusterIP = spec.clusterIP ?? "";
    if (spec.type === "ExternalName" || clusterIP === "" || clusterIP === "None") continue; // headless: DNS only
    if (!DNS_LABELISH.test(ns) || !DNS_LABELISH.test(name)) {
      warnings.push(`service ${JSON.stringify(`${ns}/${name}`)}: invalid name, skipped`);
      continue;
    }
    if (!isIPv4(clusterIP)) {
      warnings.push(`service ${ns}/${name}: clusterIP ${JSON.stringify(clusterIP)} is not IPv4, skipped`);
      continue;
    }
    const affinitySeconds =
      spec.sessionAffinity === "ClientIP" ? clampAffinity(spec.sessionAffinityConfig?.clientIP?.timeoutSeconds) : undefined;
    const exposesNodePorts = spec.type === "NodePort" || spec.type === "LoadBalancer";
    const externalIPs = ipv4List(spec.externalIPs, `service ${ns}/${name}: externalIP`, warnings);
    const loadBalancerIPs =
      spec.type === "LoadBalancer"
        ? ipv4List(
            (svc.status?.loadBalancer?.ingress ?? []).filter((i) => i?.ip !== undefined && i.ipMode !== "Proxy").map((i) => i.ip),
            `service ${ns}/${name}: load-balancer ingress IP`,
            warnings,
          )
        : [];
    const sourceRanges: string[] = [];
    if (spec.type === "LoadBalancer")
      for (const r of spec.loadBalancerSourceRanges ?? []) {
        const cidr = typeof r === "string" ? r.trim() : r;
        if (typeof cidr === "string" && isCIDRv4(cidr)) sourceRanges.push(cidr);
        else warnings.push(`service ${ns}/${name}: loadBalancerSourceRange ${JSON.stringify(r)} is not an IPv4 CIDR, ignored`);
      }
    const internalLocal = spec.internalTrafficPolicy === "Local";
    for (const p of spec.ports ?? []) {
      const portName = p.name ?? "";
      const protocol = (p.protocol ?? "TCP").toLowerCase();
      const spn = servicePortName(ns, name, portName);
      if ((portName && !PORT_NAME.test(portName)) || !PROTOCOLS.has(protocol) || !validPort(p.port)) {
        warnings.push(`service ${ns}/${name}: port ${JSON.stringify(p)} is invalid, skipped`);
        continue;
      }
      const nodePort = exposesNodePorts && p.nodePort !== undefined ? p.nodePort : undefined;
      if (nodePort !== undefined && !validPort(nodePort)) {
        warnings.push(`service ${spn}: nodePort ${JSON.stringify(nodePort)} is invalid, skipped`);
        continue;
      }
      const external = nodePort !== undefined || externalIPs.length > 0 || loadBalancerIPs.length > 0;
      out.push({
        spn,
        protocol,
        clusterIP,
        port: p.port,
        nodePort,
        affinitySeconds,
        externalIPs,
        loadBalancerIPs,
        sourceRanges,
        externalLocal: external && spec.externalTrafficPolicy === "Local",
        internalLocal,
        endpoints: usableEndpoints(byService.get(`${ns}/${name}`) ?? [], portName, protocol, node, spn, warnings),
      });
    }
  }
  return out.sort((a, b) => (a.spn < b.spn ? -1 : a.spn > b.spn ? 1 : a.protocol < b.protocol ? -1 : 1));
}

function clampAffinity(t: number | undefined): number {
  return Number.isInteger(t) && (t as number) > 0 && (t as number) <= 86400 ? (t as number) : DEFAULT_AFFINITY_SECONDS;
}

/** IPv4 addresses of a list; anything else is warned about and left out. */
function ipv4List(list: unknown[] | undefined, what: string, warnings: string[]): string[] {
  const out: string[] = [];
  for (const ip of list ?? []) {
    if (typeof ip === "string" && isIPv4(ip)) {
      if (!out.includes(ip)) out.push(ip);
    } else warnings.push(`${what} ${JSON.stringify(ip)} is not an IPv4 address, ignored`);
  }
  return out;
}

/**
 * The endpoints of one service port kube-proxy may use, from every slice of the service, deduplicated
 * and sorted: ready ones, and terminating ones that still pass readiness (the fallback when no ready
 * endpoint is left, so a rolling update's last pod finishes its connections). Missing conditions read
 * as upstream reads them: ready and serving default to true, terminating to false.
 */
function usableEndpoints(
  slices: ProxyEndpointSlice[],
  portName: string,
  protocol: string,
  node: NodeInfo,
  spn: string,
  warnings: string[],
): EndpointInfo[] {
  const seen = new Map<string, EndpointInfo>();
  for (const s of slices) {
    const sp = (s.ports ?? []).find((x) => (x.name ?? "") === portName && (x.protocol ?? "TCP").toLowerCase() === protocol);
    if (!sp || !validPort(sp.port)) continue;
    for (const e of s.endpoints ?? []) {
      const ready = e.conditions?.ready !== false;
      const servingTerminating = !ready && e.conditions?.serving !== false && e.conditions?.terminating === true;
      if (!ready && !servingTerminating) continue;
      const ip = e.addresses?.[0];
      if (!ip || !isIPv4(ip)) {
        warnings.push(`endpoint ${JSON.stringify(ip)} of ${spn}: not an IPv4 address, skipped`);
        continue;
      }
      const key = `${ip}:${sp.port}`;
      const local = e.nodeName !== undefined && e.nodeName === node.nodeName;
      const prev = seen.get(key);
      if (!prev) seen.set(key, { ip, port: sp.port, local, ready, servingTerminating });
      else {
        prev.local ||= local;
        if (ready) Object.assign(prev, { ready: true, servingTerminating: false });
      }
    }
  }
  return [...seen.values()].sort((a, b) => ipNum(a.ip) - ipNum(b.ip) || a.port - b.port);
}

function ipNum(ip: string): number {
  return ip.split(".").reduce((n, o) => n * 256 + Number(o), 0);
}

// --- rule text

/** Quoted for iptables-restore when it holds a space (names are validated, so no quotes inside). */
function q(s: string): string {
  return /\s/.test(s) ? `"${s}"` : s;
}

function comment(text: string): string {
  return `-m comment --comment ${q(text)}`;
}

const probabilities = new Map<number, string>();
/** 1/n with ten decimals, the string upstream writes (iptables-save reads some back slightly changed). */
export function probability(n: number): string {
  let p = probabilities.get(n);
  if (!p) {
    p = (1 / n).toFixed(10);
    probabilities.set(n, p);
  }
  return p;
}

/** Renders the full set of chains for these Services and EndpointSlices on this node. */
export function render(services: ProxyService[], slices: ProxyEndpointSlice[], node: NodeInfo, cache?: RenderCache): RenderResult {
  const warnings: string[] = [];
  if (node.clusterCIDR !== undefined && !isCIDRv4(node.clusterCIDR)) throw new Error(`cluster CIDR ${JSON.stringify(node.clusterCIDR)} is not an IPv4 CIDR`);
  const ports = servicePorts(services, slices, node, warnings);
  return { rendering: renderPorts(ports, node, cache), warnings };
}

/**
 * Rules of unchanged service ports, kept between renders: a sync after one change rebuilds one Service's
 * rules, and the diff sees the very same arrays for the rest.
 */
export type RenderCache = Map<string, Fragment>;

/** The rendering of already-flattened service ports (exported for benchmarks and tests). */
export function renderPorts(ports: ServicePortInfo[], node: NodeInfo, cache?: RenderCache): Rendering {
  const used = cache ? new Map<string, Fragment>() : undefined;
  const bit = node.masqueradeBit ?? 14;
  if (!Number.isInteger(bit) || bit < 0 || bit > 31) throw new Error(`masquerade bit ${bit} is not in 0..31`);
  const mark = `0x${(2 ** bit).toString(16)}`;
  const nat: Chains = new Map(FIXED_CHAINS.nat.map((c) => [c, []]));
  const filter: Chains = new Map(FIXED_CHAINS.filter.map((c) => [c, []]));
  const natAdd = (chain: string, rule: string) => {
    let rules = nat.get(chain);
    if (!rules) nat.set(chain, (rules = []));
    rules.push(`-A ${chain} ${rule}`);
  };
  const filterAdd = (chain: string, rule: string) => filter.get(chain)!.push(`-A ${chain} ${rule}`);

  natAdd(KUBE_POSTROUTING, `-m mark ! --mark ${mark}/${mark} -j RETURN`);
  natAdd(KUBE_POSTROUTING, `-j MARK --xor-mark ${mark}`);
  natAdd(KUBE_POSTROUTING, `${comment("kubernetes service traffic requiring SNAT")} -j MASQUERADE --random-fully`);
  natAdd(KUBE_MARK_MASQ, `-j MARK --or-mark ${mark}`);
  filterAdd(KUBE_FORWARD, `${comment("kubernetes forwarding rules")} -m mark --mark ${mark}/${mark} -j ACCEPT`);
  filterAdd(KUBE_FORWARD, `${comment("kubernetes forwarding conntrack rule")} -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT`);

  for (const sp of ports) {
    const fp = cache ? fingerprint(sp, node) : undefined;
    const f = (fp !== undefined && cache!.get(fp)) || renderPort(sp, node);
    if (fp !== undefined) used!.set(fp, f);
    nat.get(KUBE_SERVICES)!.push(...f.natServices);
    nat.get(KUBE_NODEPORTS)!.push(...f.natNodePorts);
    filter.get(KUBE_SERVICES)!.push(...f.filterServices);
    filter.get(KUBE_EXTERNAL_SERVICES)!.push(...f.filterExternal);
    filter.get(KUBE_PROXY_FIREWALL)!.push(...f.filterFirewall);
    for (const [c, rules] of f.chains) if (!nat.has(c)) nat.set(c, rules);
  }
  if (cache && used) {
    cache.clear();
    for (const [k, v] of used) cache.set(k, v);
  }
  // Must stay last: everything addressed to this node falls through to the node ports.
  natAdd(
    KUBE_SERVICES,
    `${comment("kubernetes service nodeports; NOTE: this must be the last rule in this chain")} -m addrtype --dst-type LOCAL -j ${KUBE_NODEPORTS}`,
  );
  return { nat, filter };
}

/** What one service port adds: lines for the shared chains, and its own chains (shared between renderings). */
interface Fragment {
  natServices: string[];
  natNodePorts: string[];
  filterServices: string[];
  filterExternal: string[];
  filterFirewall: string[];
  chains: [string, string[]][];
}

/** Everything a service port's rules depend on. */
function fingerprint(sp: ServicePortInfo, node: NodeInfo): string {
  let s = `${sp.spn}|${sp.protocol}|${sp.clusterIP}|${sp.port}|${sp.nodePort}|${sp.affinitySeconds}|${sp.externalLocal}|${sp.internalLocal}|`;
  s += `${sp.externalIPs.join(",")}|${sp.loadBalancerIPs.join(",")}|${sp.sourceRanges.join(",")}|${node.clusterCIDR}|`;
  for (const e of sp.endpoints) s += `${e.ip}:${e.port}${e.local ? "L" : ""}${e.ready ? "" : "T"},`;
  return s;
}

/** A NodePort, an external IP or a load-balancer IP: traffic that enters through KUBE-EXT. */
function reachableFromOutside(sp: ServicePortInfo): boolean {
  return sp.nodePort !== undefined || sp.externalIPs.length > 0 || sp.loadBalancerIPs.length > 0;
}

/**
 * Which endpoints each traffic policy uses (upstream's CategorizeEndpoints, without topology): `cluster`
 * for policy Cluster, `local` (this node's) for policy Local, each falling back to serving-terminating
 * endpoints when it has no ready one. `any`: the Service has a usable endpoint somewhere.
 */
export function categorizeEndpoints(sp: ServicePortInfo): { cluster: EndpointInfo[]; local: EndpointInfo[]; any: boolean } {
  // Cluster endpoints also back the short-circuit of pod and host traffic in an externalTrafficPolicy
  // Local Service's external chain.
  const usesCluster = !sp.internalLocal || reachableFromOutside(sp);
  const usesLocal = sp.internalLocal || sp.externalLocal;
  const pick = (eps: EndpointInfo[]) => {
    const ready = eps.filter((e) => e.ready);
    return ready.length > 0 ? ready : eps.filter((e) => e.servingTerminating);
  };
  const cluster = usesCluster ? pick(sp.endpoints) : [];
  const local = usesLocal ? pick(sp.endpoints.filter((e) => e.local)) : [];
  return { cluster, local, any: sp.endpoints.length > 0 };
}

function renderPort(sp: ServicePortInfo, node: NodeInfo): Fragment {
  const f: Fragment = { natServices: [], natNodePorts: [], filterServices: [], filterExternal: [], filterFirewall: [], chains: [] };
  const own = new Map<string, string[]>();
  const natAdd = (chain: string, rule: string) => {
    const line = `-A ${chain} ${rule}`;
    if (chain === KUBE_SERVICES) f.natServices.push(line);
    else if (chain === KUBE_NODEPORTS) f.natNodePorts.push(line);
    else {
      let rules = own.get(chain);
      if (!rules) {
        own.set(chain, (rules = []));
        f.chains.push([chain, rules]);
      }
      rules.push(line);
    }
  };
  const filterAdd = (chain: string, rule: string) =>
    (chain === KUBE_SERVICES ? f.filterServices : chain === KUBE_PROXY_FIREWALL ? f.filterFirewall : f.filterExternal).push(`-A ${chain} ${rule}`);
  const { spn, protocol: proto, clusterIP, port } = sp;
  const match = `-m ${proto} -p ${proto}`;
  const dst = `${match} -d ${clusterIP} --dport ${port}`;
  const externalDsts = [...sp.externalIPs, ...sp.loadBalancerIPs].map((ip) => `${match} -d ${ip} --dport ${port}`);
  const nodePortDst = sp.nodePort !== undefined ? `-m addrtype --dst-type LOCAL ${match} --dport ${sp.nodePort}` : undefined;
  const { cluster, local, any } = categorizeEndpoints(sp);

  if (!any) {
    // No endpoints: refuse new connections at once instead of letting them time out.
    const why = comment(`${spn} has no endpoints`);
    filterAdd(KUBE_SERVICES, `${why} ${dst} -j REJECT`);
    for (const d of externalDsts) filterAdd(KUBE_EXTERNAL_SERVICES, `${why} ${d} -j REJECT`);
    if (nodePortDst) filterAdd(KUBE_EXTERNAL_SERVICES, `${why} ${nodePortDst} -j REJECT`);
    return f;
  }

  const svc = serviceChain(spn, proto);
  const svl = localChain(spn, proto);
  const ext = externalChain(spn, proto);
  // Where each kind of traffic goes; a Local policy with no endpoint on this node drops it (in filter).
  const internalChain = sp.internalLocal ? svl : svc;
  const hasInternal = sp.internalLocal ? local.length > 0 : cluster.length > 0;
  const hasExternal = sp.externalLocal ? local.length > 0 : cluster.length > 0;
  const noLocal = comment(`${spn} has no local endpoints`);

  if (hasInternal) {
    natAdd(KUBE_SERVICES, `${comment(`${spn} cluster IP`)} ${dst} -j ${internalChain}`);
    // Sources outside the pod network (the host, other nodes) must be masqueraded so replies come back.
    if (node.clusterCIDR) natAdd(internalChain, `${comment(`${spn} cluster IP`)} ${dst} ! -s ${node.clusterCIDR} -j ${KUBE_MARK_MASQ}`);
  } else filterAdd(KUBE_SERVICES, `${noLocal} ${dst} -j DROP`);

  for (const ip of sp.externalIPs) {
    natAdd(KUBE_SERVICES, `${comment(`${spn} external IP`)} ${match} -d ${ip} --dport ${port} -j ${ext}`);
    if (!hasExternal) filterAdd(KUBE_EXTERNAL_SERVICES, `${noLocal} ${match} -d ${ip} --dport ${port} -j DROP`);
  }

  // Load-balancer IPs go through KUBE-FW-… when loadBalancerSourceRanges limits the clients: allowed
  // sources continue to the external chain, the rest fall through un-NATed to KUBE-PROXY-FIREWALL's DROP.
  const fw = sp.loadBalancerIPs.length > 0 && sp.sourceRanges.length > 0 ? firewallChain(spn, proto) : undefined;
  for (const ip of sp.loadBalancerIPs) {
    natAdd(KUBE_SERVICES, `${comment(`${spn} loadbalancer IP`)} ${match} -d ${ip} --dport ${port} -j ${fw ?? ext}`);
    if (fw) filterAdd(KUBE_PROXY_FIREWALL, `${comment(`${spn} traffic not accepted by ${fw}`)} ${match} -d ${ip} --dport ${port} -j DROP`);
    if (!hasExternal) filterAdd(KUBE_EXTERNAL_SERVICES, `${noLocal} ${match} -d ${ip} --dport ${port} -j DROP`);
  }
  if (fw) {
    for (const cidr of sp.sourceRanges) natAdd(fw, `${comment(`${spn} loadbalancer IP`)} -s ${cidr} -j ${ext}`);
    natAdd(fw, comment(`other traffic to ${spn} will be dropped by ${KUBE_PROXY_FIREWALL}`));
  }

  if (sp.nodePort !== undefined) {
    natAdd(KUBE_NODEPORTS, `${comment(spn)} ${match} --dport ${sp.nodePort} -j ${ext}`);
    if (!hasExternal) filterAdd(KUBE_EXTERNAL_SERVICES, `${noLocal} ${nodePortDst} -j DROP`);
  }

  if (reachableFromOutside(sp)) {
    if (!sp.externalLocal) {
      natAdd(ext, `${comment(`masquerade traffic for ${spn} external destinations`)} -j ${KUBE_MARK_MASQ}`);
    } else {
      // Local: the client's address is kept, so only this node's endpoints may serve outside traffic.
      // Pods and the node itself still use any endpoint, as if they had gone out and come back in.
      if (node.clusterCIDR) natAdd(ext, `${comment(`pod traffic for ${spn} external destinations`)} -s ${node.clusterCIDR} -j ${svc}`);
      natAdd(ext, `${comment(`masquerade LOCAL traffic for ${spn} external destinations`)} -m addrtype --src-type LOCAL -j ${KUBE_MARK_MASQ}`);
      natAdd(ext, `${comment(`route LOCAL traffic for ${spn} external destinations`)} -m addrtype --src-type LOCAL -j ${svc}`);
    }
    // Otherwise the packet leaves un-NATed and meets the DROP above in filter.
    if (hasExternal) natAdd(ext, `-j ${sp.externalLocal ? svl : svc}`);
  }

  if (cluster.length > 0) writeEndpointJumps(natAdd, svc, sp, cluster);
  if (local.length > 0 && (sp.internalLocal || sp.externalLocal)) writeEndpointJumps(natAdd, svl, sp, local);

  for (const e of [...cluster, ...local]) {
    const ep = `${e.ip}:${e.port}`;
    const sep = endpointChain(spn, proto, ep);
    if (own.has(sep)) continue;
    // Hairpin: a pod reaching itself through the Service must be masqueraded, or it would answer itself directly.
    natAdd(sep, `${comment(spn)} -s ${e.ip} -j ${KUBE_MARK_MASQ}`);
    const recent = sp.affinitySeconds !== undefined ? ` -m recent --name ${sep} --set` : "";
    natAdd(sep, `${comment(spn)}${recent} ${match} -j DNAT --to-destination ${ep}`);
  }
  return f;
}

/** Affinity checks first, then one random jump per endpoint: rule i of n fires with 1/(n-i), the last always. */
function writeEndpointJumps(add: (chain: string, rule: string) => void, chain: string, sp: ServicePortInfo, eps: EndpointInfo[]): void {
  const seps = eps.map((e) => ({ ep: `${e.ip}:${e.port}`, sep: endpointChain(sp.spn, sp.protocol, `${e.ip}:${e.port}`) }));
  if (sp.affinitySeconds !== undefined)
    for (const { ep, sep } of seps)
      add(chain, `${comment(`${sp.spn} -> ${ep}`)} -m recent --name ${sep} --rcheck --seconds ${sp.affinitySeconds} --reap -j ${sep}`);
  seps.forEach(({ ep, sep }, i) => {
    const left = seps.length - i;
    const stat = left > 1 ? ` -m statistic --mode random --probability ${probability(left)}` : "";
    add(chain, `${comment(`${sp.spn} -> ${ep}`)}${stat} -j ${sep}`);
  });
}

// --- iptables-restore text

/** Number of rules in each table (for kubeproxy_sync_proxy_rules_iptables_total). */
export function ruleCounts(r: Rendering): Record<TableName, number> {
  const count = (c: Chains) => [...c.values()].reduce((n, rules) => n + rules.length, 0);
  return { nat: count(r.nat), filter: count(r.filter) };
}

/**
 * iptables-restore --noflush input writing every chain of `next`. `stale` names chains found on the host
 * (or in an older rendering) that `next` no longer has; those of ours are flushed and deleted.
 */
export function fullRestoreText(next: Rendering, stale: Partial<Record<TableName, Iterable<string>>> = {}): string {
  const out: string[] = [];
  for (const t of TABLES) {
    const chains = next[t];
    const gone = [...(stale[t] ?? [])].filter((c) => !chains.has(c) && isOwnChain(t, c));
    out.push(`*${t}`);
    for (const c of chains.keys()) out.push(`:${c} - [0:0]`);
    for (const c of gone) out.push(`:${c} - [0:0]`);
    for (const rules of chains.values()) for (const r of rules) out.push(r);
    for (const c of gone) out.push(`-X ${c}`);
    out.push("COMMIT");
  }
  return `${out.join("\n")}\n`;
}

/** Above this many chains in a table, a full sync goes in as several smaller restores. */
export const FULL_SYNC_BATCH_CHAINS = 2000;

/**
 * A full sync as a sequence of iptables-restore --noflush inputs, each at most `maxChains` chains of one
 * table. iptables-nft's cost of redeclaring chains in one transaction grows faster than linearly (10,000
 * Services: about 45 s in one restore, see node-anchors.md), while adding a few chains to a big table
 * stays cheap. Chains come in dependency order (a chain only after every chain its rules jump to), so
 * each restore is valid on its own and the entry chains (KUBE-SERVICES, KUBE-NODEPORTS) switch over last,
 * with the stale chains removed in the same last restore. Small renderings give one restore, the same
 * text as fullRestoreText.
 */
export function fullRestoreBatches(next: Rendering, stale: Partial<Record<TableName, Iterable<string>>> = {}, maxChains = FULL_SYNC_BATCH_CHAINS): string[] {
  const total = TABLES.reduce((n, t) => n + next[t].size, 0);
  if (total <= maxChains) return [fullRestoreText(next, stale)];
  const out: string[] = [];
  for (const t of TABLES) {
    const chains = next[t];
    const gone = [...(stale[t] ?? [])].filter((c) => !chains.has(c) && isOwnChain(t, c));
    const order = dependencyOrder(chains);
    for (let i = 0; i < order.length; i += maxChains) {
      const part = order.slice(i, i + maxChains);
      const last = i + maxChains >= order.length;
      const lines = [`*${t}`, ...part.map((c) => `:${c} - [0:0]`)];
      if (last) for (const c of gone) lines.push(`:${c} - [0:0]`);
      for (const c of part) for (const r of chains.get(c)!) lines.push(r);
      if (last) for (const c of gone) lines.push(`-X ${c}`);
      lines.push("COMMIT");
      out.push(`${lines.join("\n")}\n`);
    }
  }
  return out;
}

/** The chains of one table ordered so that every chain comes after the chains its rules jump to. */
function dependencyOrder(chains: Chains): string[] {
  const out: string[] = [];
  const state = new Map<string, "visiting" | "done">();
  const visit = (c: string): void => {
    if (state.get(c)) return; // done, or a loop (never rendered; kept safe)
    state.set(c, "visiting");
    for (const r of chains.get(c) ?? []) {
      const m = / -[jg] (\S+)/.exec(r);
      if (m && m[1] !== c && chains.has(m[1]!)) visit(m[1]!);
    }
    state.set(c, "done");
    out.push(c);
  };
  for (const c of chains.keys()) visit(c);
  return out;
}

/**
 * iptables-restore --noflush input taking the host from `prev` to `next` (KEP-3453's partial sync): only
 * chains whose rules changed are redeclared (which flushes them) and rewritten, chains gone are deleted, and
 * a table with no change is left out. Empty string: nothing to do.
 */
export function partialRestoreText(prev: Rendering, next: Rendering): string {
  const out: string[] = [];
  for (const t of TABLES) {
    const before = prev[t];
    const after = next[t];
    const changed: string[] = [];
    for (const [c, rules] of after) if (!sameRules(before.get(c), rules)) changed.push(c);
    const gone = [...before.keys()].filter((c) => !after.has(c));
    if (changed.length === 0 && gone.length === 0) continue;
    out.push(`*${t}`);
    for (const c of changed) out.push(`:${c} - [0:0]`);
    for (const c of gone) out.push(`:${c} - [0:0]`);
    for (const c of changed) for (const r of after.get(c)!) out.push(r);
    for (const c of gone) out.push(`-X ${c}`);
    out.push("COMMIT");
  }
  return out.length ? `${out.join("\n")}\n` : "";
}

function sameRules(a: string[] | undefined, b: string[]): boolean {
  if (a === b) return true;
  if (!a || a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
