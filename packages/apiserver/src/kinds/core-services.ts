// Book 3.5.2, 5.2 and 10.2: Services and Endpoints — ports, types, headless services, traffic
// policies, address families; IP/port allocation is the store's, formats and immutability are here.
import { field, type FieldError } from "@corekube/api";
import type { KubeObject, ResourceDef } from "../registry/types.js";
import { isIP } from "node:net";
import { arr, ensureObj, get, isObj, num, obj, objects, s, setDefault, setDefaultStr, semanticEqual, type JsonObject } from "./json.js";
import { isDNS1035Label, isDNS1123Label, isDNS1123Subdomain, validateLabels } from "./meta.js";
import { PROTOCOLS } from "./pod-validation.js";
import { age, ageColumn, col, formatLabels, nameColumn, nameOf } from "./tables.js";
import { isValidIP, isValidPortNum, oneOf, validateCIDR, validateIP, validatePortNumOrName, validateQualifiedName } from "./validation.js";

export const SERVICE_TYPES = ["ClusterIP", "ExternalName", "LoadBalancer", "NodePort"];
const DEFAULT_AFFINITY_TIMEOUT = 10800;
const MAX_AFFINITY_TIMEOUT = 86400;
const KUBELET_PORT = 10250;

const specOf = (svc: KubeObject): JsonObject => obj(svc.spec) ?? {};
const typeOf = (spec: JsonObject): string => s(spec.type) || "ClusterIP";
const needsClusterIP = (spec: JsonObject): boolean => typeOf(spec) !== "ExternalName";
const needsNodePorts = (spec: JsonObject): boolean =>
  typeOf(spec) === "NodePort" || (typeOf(spec) === "LoadBalancer" && spec.allocateLoadBalancerNodePorts !== false);
const externallyAccessible = (spec: JsonObject): boolean =>
  typeOf(spec) === "LoadBalancer" || typeOf(spec) === "NodePort" || (typeOf(spec) === "ClusterIP" && arr(spec.externalIPs).length > 0);

/** A headless service: clusterIP "None" (DNS returns the endpoints themselves). */
export function isHeadless(spec: JsonObject): boolean {
  return spec.clusterIP === "None" || arr(spec.clusterIPs)[0] === "None";
}

function clusterIPs(spec: JsonObject): string[] {
  return arr(spec.clusterIPs).filter((v): v is string => typeof v === "string");
}

/** Keeps clusterIP and clusterIPs[0] in step, whichever the client sent. */
function normalizeClusterIPs(spec: JsonObject): void {
  const ips = clusterIPs(spec);
  if (s(spec.clusterIP) !== "" && ips.length === 0) spec.clusterIPs = [spec.clusterIP];
  else if (s(spec.clusterIP) === "" && ips.length > 0) spec.clusterIP = ips[0];
}

export function defaultService(svc: KubeObject): void {
  const spec = ensureObj(svc as JsonObject, "spec");
  setDefaultStr(spec, "type", "ClusterIP");
  setDefaultStr(spec, "sessionAffinity", "None");
  if (spec.sessionAffinity === "None") delete spec.sessionAffinityConfig;
  if (spec.sessionAffinity === "ClientIP") {
    const clientIP = ensureObj(ensureObj(spec, "sessionAffinityConfig"), "clientIP");
    setDefault(clientIP, "timeoutSeconds", DEFAULT_AFFINITY_TIMEOUT);
  }
  for (const [port] of objects(spec.ports)) {
    setDefaultStr(port, "protocol", "TCP");
    if (port.targetPort === undefined || port.targetPort === null || port.targetPort === 0 || port.targetPort === "") port.targetPort = port.port;
  }
  const type = spec.type;
  if (externallyAccessible(spec)) setDefaultStr(spec, "externalTrafficPolicy", "Cluster");
  if (type === "ClusterIP" || type === "NodePort" || type === "LoadBalancer") setDefault(spec, "internalTrafficPolicy", "Cluster");
  if (type === "LoadBalancer") setDefault(spec, "allocateLoadBalancerNodePorts", true);
  normalizeClusterIPs(spec);
}

/** IPv4 or IPv6 for an address ("" when it is not one). */
function familyOf(ip: string): string {
  const f = isIP(ip);
  return f === 4 ? "IPv4" : f === 6 ? "IPv6" : "";
}

/**
 * The address-family fields a new or updated service gets: none for ExternalName; otherwise the
 * family of its cluster IP (IPv4 on this single-stack cluster), SingleStack, except a headless
 * service without a selector, which Kubernetes marks RequireDualStack.
 */
export function initIPFamilyFields(spec: JsonObject): void {
  if (!needsClusterIP(spec)) return;
  if (spec.ipFamilyPolicy === undefined || spec.ipFamilyPolicy === null) {
    const selectorless = Object.keys(obj(spec.selector) ?? {}).length === 0;
    spec.ipFamilyPolicy = isHeadless(spec) && selectorless ? "RequireDualStack" : "SingleStack";
  }
  if (arr(spec.ipFamilies).length === 0) {
    const first = clusterIPs(spec)[0] ?? "";
    spec.ipFamilies = [familyOf(first) || "IPv4"];
  }
}

/** On update, what the client left out but the service already had (IPs, node ports). */
function patchAllocatedValues(spec: JsonObject, old: JsonObject): void {
  if (needsClusterIP(old) && needsClusterIP(spec)) {
    if (s(spec.clusterIP) === "") spec.clusterIP = old.clusterIP;
    if (clusterIPs(spec).length === 0 && old.clusterIPs !== undefined) spec.clusterIPs = old.clusterIPs;
    if (arr(spec.ipFamilies).length === 0 && old.ipFamilies !== undefined) spec.ipFamilies = old.ipFamilies;
    if (spec.ipFamilyPolicy === undefined && old.ipFamilyPolicy !== undefined) spec.ipFamilyPolicy = old.ipFamilyPolicy;
  }
  if (needsNodePorts(old) && needsNodePorts(spec)) {
    const usedByNew = new Set(objects(spec.ports).map(([p]) => num(p.nodePort) ?? 0));
    const byName = new Map(objects(old.ports).map(([p]) => [s(p.name), num(p.nodePort) ?? 0]));
    for (const [p] of objects(spec.ports)) {
      if ((num(p.nodePort) ?? 0) !== 0) continue;
      const previous = byName.get(s(p.name)) ?? 0;
      if (previous !== 0 && !usedByNew.has(previous)) p.nodePort = previous;
    }
  }
  if (typeOf(old) === "LoadBalancer" && typeOf(spec) === "LoadBalancer" && old.externalTrafficPolicy === "Local" && spec.externalTrafficPolicy === "Local") {
    if ((num(spec.healthCheckNodePort) ?? 0) === 0 && old.healthCheckNodePort !== undefined) spec.healthCheckNodePort = old.healthCheckNodePort;
  }
}

/** When the type changes, clear what the old type had allocated and the new one does not use. */
function dropTypeDependentFields(svc: KubeObject, spec: JsonObject, old: JsonObject): void {
  if (needsClusterIP(old) && !needsClusterIP(spec)) {
    if (semanticEqual(spec.clusterIPs, old.clusterIPs) && semanticEqual(spec.clusterIP, old.clusterIP)) {
      delete spec.clusterIP;
      delete spec.clusterIPs;
    }
    if (semanticEqual(spec.ipFamilies, old.ipFamilies)) delete spec.ipFamilies;
    if (semanticEqual(spec.ipFamilyPolicy, old.ipFamilyPolicy)) delete spec.ipFamilyPolicy;
  }
  if (needsNodePorts(old) && !needsNodePorts(spec)) {
    const same = semanticEqual(
      objects(spec.ports).map(([p]) => p.nodePort),
      objects(old.ports).map(([p]) => p.nodePort),
    );
    if (same) for (const [p] of objects(spec.ports)) delete p.nodePort;
  }
  if (typeOf(spec) !== "LoadBalancer") {
    if (semanticEqual(spec.healthCheckNodePort, old.healthCheckNodePort)) delete spec.healthCheckNodePort;
    if (typeOf(old) === "LoadBalancer" && semanticEqual(spec.allocateLoadBalancerNodePorts, old.allocateLoadBalancerNodePorts)) {
      delete spec.allocateLoadBalancerNodePorts;
    }
    if (typeOf(old) === "LoadBalancer" && semanticEqual(spec.loadBalancerClass, old.loadBalancerClass)) delete spec.loadBalancerClass;
    const status = obj(svc.status);
    if (status) status.loadBalancer = {};
  }
  if (!externallyAccessible(spec) && semanticEqual(spec.externalTrafficPolicy, old.externalTrafficPolicy)) delete spec.externalTrafficPolicy;
  if (typeOf(spec) === "ExternalName" && semanticEqual(spec.internalTrafficPolicy, old.internalTrafficPolicy)) delete spec.internalTrafficPolicy;
}

// ---------------------------------------------------------------------------------------------
// Validation.

function validateClusterIPFields(spec: JsonObject): FieldError[] {
  const errs: FieldError[] = [];
  const ips = clusterIPs(spec);
  if (s(spec.clusterIP) !== "" && ips[0] !== spec.clusterIP) {
    errs.push(field.invalid("spec.clusterIPs", spec.clusterIPs ?? [], "first value must match `clusterIP`"));
  }
  if (ips.length > 2) errs.push(field.invalid("spec.clusterIPs", ips, "may only hold up to 2 values"));
  ips.forEach((ip, i) => {
    if (ip === "None") {
      if (ips.length > 1) errs.push(field.invalid("spec.clusterIPs", ips, "'None' must be the first and only value"));
    } else if (!isValidIP(ip)) {
      errs.push(field.invalid(`spec.clusterIPs[${i}]`, ip, "must be empty, 'None', or a valid IP address"));
    }
  });
  if (ips.length === 2 && familyOf(ips[0]!) !== "" && familyOf(ips[0]!) === familyOf(ips[1]!)) {
    errs.push(field.invalid("spec.clusterIPs", ips, "may specify no more than one IP for each IP family"));
  }
  const families = arr(spec.ipFamilies);
  const seen = new Set<unknown>();
  families.forEach((f, i) => {
    errs.push(...oneOf(f, ["IPv4", "IPv6"], `spec.ipFamilies[${i}]`));
    if (seen.has(f)) errs.push(field.duplicate(`spec.ipFamilies[${i}]`, f));
    seen.add(f);
    const ip = ips[i];
    if (ip !== undefined && ip !== "None" && familyOf(ip) !== "" && familyOf(ip) !== f) {
      errs.push(field.invalid(`spec.clusterIPs[${i}]`, ip, `expected an ${String(f)} value as indicated by \`ipFamilies[${i}]\``));
    }
  });
  if (families.length > 2) errs.push(field.invalid("spec.ipFamilies", families, "may only hold up to 2 values"));
  if (spec.ipFamilyPolicy !== undefined && spec.ipFamilyPolicy !== null) {
    errs.push(...oneOf(spec.ipFamilyPolicy, ["PreferDualStack", "RequireDualStack", "SingleStack"], "spec.ipFamilyPolicy"));
    const multi = families.length > 1 || ips.filter((ip) => ip !== "None").length > 1;
    if (spec.ipFamilyPolicy === "SingleStack" && multi) {
      errs.push(field.invalid("spec.ipFamilyPolicy", spec.ipFamilyPolicy, "must be 'RequireDualStack' or 'PreferDualStack' when multiple IP families are specified"));
    }
  }
  return errs;
}

function validatePorts(spec: JsonObject): FieldError[] {
  const errs: FieldError[] = [];
  const ports = objects(spec.ports);
  const type = typeOf(spec);
  if (ports.length === 0 && !isHeadless(spec) && type !== "ExternalName") errs.push(field.required("spec.ports", ""));
  const names = new Set<string>();
  const pairs = new Set<string>();
  const nodePorts = new Set<string>();
  for (const [p, i] of ports) {
    const pp = `spec.ports[${i}]`;
    const name = s(p.name);
    if (ports.length > 1 && name === "") errs.push(field.required(`${pp}.name`, ""));
    else if (name !== "") {
      for (const msg of isDNS1123Label(name)) errs.push(field.invalid(`${pp}.name`, name, msg));
      if (names.has(name)) errs.push(field.duplicate(`${pp}.name`, name));
      names.add(name);
    }
    const port = p.port;
    if (typeof port !== "number") errs.push(field.required(`${pp}.port`, ""));
    else for (const msg of isValidPortNum(port)) errs.push(field.invalid(`${pp}.port`, port, msg));
    errs.push(...oneOf(p.protocol, PROTOCOLS, `${pp}.protocol`));
    errs.push(...validatePortNumOrName(p.targetPort, `${pp}.targetPort`));
    if (typeof p.appProtocol === "string") errs.push(...validateQualifiedName(p.appProtocol, `${pp}.appProtocol`));
    const nodePort = num(p.nodePort) ?? 0;
    if (nodePort !== 0) {
      if (type === "ClusterIP") errs.push(field.forbidden(`${pp}.nodePort`, "may not be used when `type` is 'ClusterIP'"));
      for (const msg of isValidPortNum(nodePort)) errs.push(field.invalid(`${pp}.nodePort`, nodePort, msg));
      const key = `${s(p.protocol)}/${nodePort}`;
      if (nodePorts.has(key)) errs.push(field.duplicate(`${pp}.nodePort`, nodePort));
      nodePorts.add(key);
    }
    const pair = `${s(p.protocol)}/${String(port)}`;
    if (pairs.has(pair)) errs.push(field.duplicate(pp, { port, protocol: p.protocol }));
    pairs.add(pair);
    if (type === "LoadBalancer" && port === KUBELET_PORT) {
      errs.push(field.invalid(pp, port, `may not expose port ${KUBELET_PORT} externally since it is used by kubelet`));
    }
  }
  return errs;
}

function validateServiceSpec(svc: KubeObject): FieldError[] {
  const spec = specOf(svc);
  const errs: FieldError[] = [];
  const type = typeOf(spec);
  errs.push(...oneOf(spec.type, SERVICE_TYPES, "spec.type"));
  const ips = clusterIPs(spec);
  if (type === "ExternalName") {
    if (ips.length > 0 || s(spec.clusterIP) !== "") errs.push(field.forbidden("spec.clusterIPs", "may not be set for ExternalName services"));
    if (arr(spec.ipFamilies).length > 0) errs.push(field.forbidden("spec.ipFamilies", "may not be set for ExternalName services"));
    if (spec.ipFamilyPolicy !== undefined && spec.ipFamilyPolicy !== null) errs.push(field.forbidden("spec.ipFamilyPolicy", "may not be set for ExternalName services"));
    const cname = s(spec.externalName).replace(/\.$/, "");
    if (cname === "") errs.push(field.required("spec.externalName", ""));
    else for (const msg of isDNS1123Subdomain(cname)) errs.push(field.invalid("spec.externalName", cname, msg));
  } else {
    errs.push(...validateClusterIPFields(spec));
  }
  if ((type === "NodePort" || type === "LoadBalancer") && isHeadless(spec)) {
    errs.push(field.invalid("spec.clusterIPs[0]", "None", `may not be set to 'None' for ${type} services`));
  }
  errs.push(...validatePorts(spec));
  errs.push(...validateLabels(spec.selector, "spec.selector"));
  errs.push(...oneOf(spec.sessionAffinity, ["ClientIP", "None"], "spec.sessionAffinity"));
  if (spec.sessionAffinity === "ClientIP") {
    const timeout = get(spec, "sessionAffinityConfig", "clientIP", "timeoutSeconds");
    if (typeof timeout !== "number" || timeout <= 0 || timeout > MAX_AFFINITY_TIMEOUT) {
      errs.push(
        field.invalid("spec.sessionAffinityConfig.clientIP.timeoutSeconds", timeout ?? null, `must be greater than 0 and less than ${MAX_AFFINITY_TIMEOUT}`),
      );
    }
  } else if (isObj(spec.sessionAffinityConfig)) {
    errs.push(field.invalid("spec.sessionAffinityConfig", spec.sessionAffinityConfig, "must not be set when session affinity is None"));
  }
  arr(spec.externalIPs).forEach((ip, i) => errs.push(...validateIP(ip, `spec.externalIPs[${i}]`)));
  if (externallyAccessible(spec)) errs.push(...oneOf(spec.externalTrafficPolicy, ["Cluster", "Local"], "spec.externalTrafficPolicy"));
  else if (s(spec.externalTrafficPolicy) !== "") {
    errs.push(field.invalid("spec.externalTrafficPolicy", spec.externalTrafficPolicy, "may only be set for externally-accessible services"));
  }
  if (type !== "ExternalName") errs.push(...oneOf(spec.internalTrafficPolicy, ["Cluster", "Local"], "spec.internalTrafficPolicy"));
  if (type !== "LoadBalancer") {
    if (arr(spec.loadBalancerSourceRanges).length > 0) errs.push(field.forbidden("spec.loadBalancerSourceRanges", "may only be used when `type` is 'LoadBalancer'"));
    if (spec.allocateLoadBalancerNodePorts !== undefined && spec.allocateLoadBalancerNodePorts !== null) {
      errs.push(field.forbidden("spec.allocateLoadBalancerNodePorts", "may only be used when `type` is 'LoadBalancer'"));
    }
    if (s(spec.loadBalancerIP) !== "") errs.push(field.forbidden("spec.loadBalancerIP", "may only be used when `type` is 'LoadBalancer'"));
  } else {
    arr(spec.loadBalancerSourceRanges).forEach((r, i) => errs.push(...validateCIDR(r, `spec.loadBalancerSourceRanges[${i}]`)));
    if (typeof spec.allocateLoadBalancerNodePorts !== "boolean") errs.push(field.required("spec.allocateLoadBalancerNodePorts", ""));
  }
  const hc = num(spec.healthCheckNodePort) ?? 0;
  if (hc !== 0 && !(type === "LoadBalancer" && spec.externalTrafficPolicy === "Local")) {
    errs.push(field.invalid("spec.healthCheckNodePort", hc, "may only be set when `type` is 'LoadBalancer' and `externalTrafficPolicy` is 'Local'"));
  }
  return errs;
}

/** Primary cluster IP and family are fixed once set, unless the type moves to or from ExternalName. */
function validateServiceUpdate(svc: KubeObject, old: KubeObject): FieldError[] {
  const spec = specOf(svc);
  const prev = specOf(old);
  if (!needsClusterIP(spec) || !needsClusterIP(prev)) return [];
  if (isHeadless(spec) && isHeadless(prev)) return [];
  const errs: FieldError[] = [];
  const now = clusterIPs(spec);
  const before = clusterIPs(prev);
  if (now.length === before.length) {
    before.forEach((ip, i) => {
      if (ip !== now[i]) errs.push(field.invalid(`spec.clusterIPs[${i}]`, now, "may not change once set"));
    });
  } else if (now.length === 0 && before.length > 0) {
    errs.push(field.invalid("spec.clusterIPs[0]", now, "primary clusterIP can not be unset"));
  } else if (before.length > 0 && now.length > 0 && now[0] !== before[0]) {
    errs.push(field.invalid("spec.clusterIPs[0]", now, "may not change once set"));
  }
  const famNow = arr(spec.ipFamilies);
  const famBefore = arr(prev.ipFamilies);
  if (famBefore.length > 0 && famNow.length > 0 && famNow[0] !== famBefore[0]) {
    errs.push(field.invalid("spec.ipFamilies[0]", famNow[0], "may not change once set"));
  }
  return errs;
}

function validateServiceStatus(svc: KubeObject): FieldError[] {
  const errs: FieldError[] = [];
  objects(get(svc, "status", "loadBalancer", "ingress")).forEach(([ing, i]) => {
    const p = `status.loadBalancer.ingress[${i}]`;
    if (s(ing.ip) !== "") errs.push(...validateIP(ing.ip, `${p}.ip`));
    if (s(ing.hostname) !== "") {
      for (const msg of isDNS1123Subdomain(s(ing.hostname))) errs.push(field.invalid(`${p}.hostname`, ing.hostname, msg));
      if (isValidIP(s(ing.hostname))) errs.push(field.invalid(`${p}.hostname`, ing.hostname, "must be a DNS name, not an IP address"));
    }
    errs.push(...oneOf(ing.ipMode, ["Proxy", "VIP"], `${p}.ipMode`, false));
  });
  return errs;
}

// ---------------------------------------------------------------------------------------------
// Table.

function loadBalancerAddresses(svc: KubeObject): string[] {
  const out = new Set<string>();
  for (const [ing] of objects(get(svc, "status", "loadBalancer", "ingress"))) {
    if (s(ing.ip) !== "") out.add(s(ing.ip));
    else if (s(ing.hostname) !== "") out.add(s(ing.hostname));
  }
  return [...out];
}

function externalIPCell(svc: KubeObject): string {
  const spec = specOf(svc);
  const external = arr(spec.externalIPs).filter((v): v is string => typeof v === "string");
  switch (s(spec.type)) {
    case "ClusterIP":
    case "NodePort":
      return external.length > 0 ? external.join(",") : "<none>";
    case "LoadBalancer": {
      const lb = loadBalancerAddresses(svc);
      if (external.length > 0) return [...lb, ...external].join(",");
      return lb.length > 0 ? lb.join(",") : "<pending>";
    }
    case "ExternalName":
      return s(spec.externalName);
    default:
      return "<unknown>";
  }
}

function portsCell(spec: JsonObject): string {
  const parts = objects(spec.ports).map(([p]) => {
    const nodePort = num(p.nodePort) ?? 0;
    return nodePort > 0 ? `${String(p.port)}:${nodePort}/${s(p.protocol)}` : `${String(p.port)}/${s(p.protocol)}`;
  });
  return parts.length === 0 ? "<none>" : parts.join(",");
}

export const services: ResourceDef = {
  group: "",
  version: "v1",
  resource: "services",
  kind: "Service",
  listKind: "ServiceList",
  singular: "service",
  namespaced: true,
  shortNames: ["svc"],
  categories: ["all"],
  nameValidation: "label",
  schemaName: "io.k8s.api.core.v1.Service",
  subresources: { status: true },
  strategy: {
    defaults: defaultService,
    prepareForCreate(svc) {
      svc.status = { loadBalancer: {} };
      initIPFamilyFields(ensureObj(svc as JsonObject, "spec"));
    },
    prepareForUpdate(svc, old) {
      const spec = ensureObj(svc as JsonObject, "spec");
      const prev = specOf(old);
      patchAllocatedValues(spec, prev);
      normalizeClusterIPs(spec);
      dropTypeDependentFields(svc, spec, prev);
      initIPFamilyFields(spec);
    },
    validate(svc) {
      const errs: FieldError[] = [];
      // Service names become DNS labels that must start with a letter (RFC 1035).
      const name = s(svc.metadata?.name);
      if (name !== "" && isDNS1123Label(name).length === 0) for (const msg of isDNS1035Label(name)) errs.push(field.invalid("metadata.name", name, msg));
      errs.push(...validateServiceSpec(svc));
      return errs;
    },
    validateUpdate: validateServiceUpdate,
    validateStatusUpdate: validateServiceStatus,
    allowCreateOnUpdate: true,
  },
  table: {
    columns: [
      nameColumn(),
      col("Type", "string", "How the service is exposed: ClusterIP, NodePort, LoadBalancer or ExternalName."),
      col("Cluster-IP", "string", "The service's virtual IP inside the cluster."),
      col("External-IP", "string", "Addresses outside the cluster that reach the service."),
      col("Port(s)", "string", "The ports the service exposes (port:nodePort/protocol)."),
      ageColumn(),
      col("Selector", "string", "The labels of the pods the service sends traffic to.", 1),
    ],
    cells(svc, now) {
      const spec = specOf(svc);
      const ip = clusterIPs(spec)[0] ?? "";
      return [nameOf(svc), s(spec.type), ip === "" ? "<none>" : ip, externalIPCell(svc), portsCell(spec), age(svc, now), formatLabels(spec.selector)];
    },
  },
  fields: (svc) => ({ "spec.clusterIP": s(specOf(svc).clusterIP), "spec.type": s(specOf(svc).type) }),
};

// ---------------------------------------------------------------------------------------------
// Endpoints.

function defaultEndpoints(ep: KubeObject): void {
  for (const [subset] of objects(ep.subsets)) for (const [port] of objects(subset.ports)) setDefaultStr(port, "protocol", "TCP");
}

function validateEndpoints(ep: KubeObject): FieldError[] {
  const errs: FieldError[] = [];
  objects(ep.subsets).forEach(([subset, i]) => {
    const p = `subsets[${i}]`;
    const addresses = arr(subset.addresses).length + arr(subset.notReadyAddresses).length;
    if (addresses === 0 && arr(subset.ports).length > 0) {
      errs.push(field.required(p, "must specify `addresses` or `notReadyAddresses`"));
    }
    for (const list of ["addresses", "notReadyAddresses"]) {
      objects(subset[list]).forEach(([addr, j]) => {
        const ap = `${p}.${list}[${j}]`;
        errs.push(...validateIP(addr.ip, `${ap}.ip`));
        if (s(addr.hostname) !== "") for (const msg of isDNS1123Label(s(addr.hostname))) errs.push(field.invalid(`${ap}.hostname`, addr.hostname, msg));
        if (s(addr.nodeName) !== "") for (const msg of isDNS1123Subdomain(s(addr.nodeName))) errs.push(field.invalid(`${ap}.nodeName`, addr.nodeName, msg));
      });
    }
    const names = new Set<string>();
    const ports = objects(subset.ports);
    ports.forEach(([port, j]) => {
      const pp = `${p}.ports[${j}]`;
      const name = s(port.name);
      if (ports.length > 1 && name === "") errs.push(field.required(`${pp}.name`, ""));
      else if (name !== "") {
        for (const msg of isDNS1123Label(name)) errs.push(field.invalid(`${pp}.name`, name, msg));
        if (names.has(name)) errs.push(field.duplicate(`${pp}.name`, name));
        names.add(name);
      }
      const num = port.port;
      if (typeof num !== "number") errs.push(field.required(`${pp}.port`, ""));
      else for (const msg of isValidPortNum(num)) errs.push(field.invalid(`${pp}.port`, num, msg));
      errs.push(...oneOf(port.protocol, PROTOCOLS, `${pp}.protocol`));
    });
  });
  return errs;
}

/** "10.0.0.1:80,10.0.0.2:80 + 3 more...": at most three address:port pairs. */
export function formatEndpoints(ep: KubeObject): string {
  const subsets = objects(ep.subsets);
  if (subsets.length === 0) return "<none>";
  const list: string[] = [];
  let count = 0;
  let more = false;
  const max = 3;
  for (const [subset] of subsets) {
    const addresses = objects(subset.addresses).map(([a]) => s(a.ip));
    const ports = objects(subset.ports);
    if (ports.length === 0) {
      count += addresses.length;
      for (const ip of addresses) {
        if (list.length === max) {
          more = true;
          break;
        }
        list.push(ip);
      }
      continue;
    }
    for (const [port] of ports) {
      count += addresses.length;
      for (const ip of addresses) {
        if (list.length === max) {
          more = true;
          break;
        }
        list.push(ip.includes(":") ? `[${ip}]:${String(port.port)}` : `${ip}:${String(port.port)}`);
      }
    }
  }
  const text = list.join(",");
  return more ? `${text} + ${count - max} more...` : text;
}

export const endpoints: ResourceDef = {
  group: "",
  version: "v1",
  resource: "endpoints",
  kind: "Endpoints",
  listKind: "EndpointsList",
  singular: "endpoints",
  namespaced: true,
  shortNames: ["ep"],
  schemaName: "io.k8s.api.core.v1.Endpoints",
  strategy: {
    defaults: defaultEndpoints,
    validate: validateEndpoints,
    allowCreateOnUpdate: true,
  },
  table: {
    columns: [nameColumn(), col("Endpoints", "string", "The ready addresses and ports behind the service."), ageColumn()],
    cells: (ep, now) => [nameOf(ep), formatEndpoints(ep), age(ep, now)],
  },
};
