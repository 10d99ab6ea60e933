// Book 6.3 and 14.4: networking.k8s.io NetworkPolicies — which pods a policy isolates (podSelector),
// the ingress and egress peers and ports it allows, and policyTypes defaulted from the rules given.
import { field, type FieldError } from "@corekube/api";
import type { KubeObject, ResourceDef } from "../registry/types.js";
import { arr, ensureObj, get, isObj, obj, objects, s, setDefaultStr, type JsonObject } from "./json.js";
import { validateLabelSelector } from "./meta.js";
import { PROTOCOLS } from "./pod-validation.js";
import { age, ageColumn, col, formatLabelSelector, nameColumn, nameOf } from "./tables.js";
import { isValidCIDR, isValidPortNum, oneOf, validatePortNumOrName } from "./validation.js";

export function defaultNetworkPolicy(np: KubeObject): void {
  const spec = ensureObj(np as JsonObject, "spec");
  for (const dir of ["ingress", "egress"]) {
    for (const [rule] of objects(spec[dir])) for (const [port] of objects(rule.ports)) setDefaultStr(port, "protocol", "TCP");
  }
  // A policy that names no types isolates ingress, and egress too when it has egress rules.
  if (arr(spec.policyTypes).length === 0) spec.policyTypes = arr(spec.egress).length > 0 ? ["Ingress", "Egress"] : ["Ingress"];
}

function validatePeer(peer: JsonObject, p: string): FieldError[] {
  const errs: FieldError[] = [];
  const ipBlock = obj(peer.ipBlock);
  const selectors = ["podSelector", "namespaceSelector"].filter((k) => isObj(peer[k]));
  if (!ipBlock && selectors.length === 0) errs.push(field.required(p, "must specify a peer"));
  if (ipBlock && selectors.length > 0) errs.push(field.forbidden(p, "may not specify both ipBlock and another peer"));
  for (const k of selectors) errs.push(...validateLabelSelector(peer[k], `${p}.${k}`));
  if (ipBlock) {
    const cidr = s(ipBlock.cidr);
    if (cidr === "") errs.push(field.required(`${p}.ipBlock.cidr`, ""));
    else if (!isValidCIDR(cidr)) errs.push(field.invalid(`${p}.ipBlock.cidr`, cidr, "must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)"));
    arr(ipBlock.except).forEach((e, i) => {
      if (typeof e !== "string" || !isValidCIDR(e)) errs.push(field.invalid(`${p}.ipBlock.except[${i}]`, e, "must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)"));
    });
  }
  return errs;
}

function validatePort(port: JsonObject, p: string): FieldError[] {
  const errs = oneOf(port.protocol, PROTOCOLS, `${p}.protocol`, false);
  if (port.port !== undefined && port.port !== null) errs.push(...validatePortNumOrName(port.port, `${p}.port`));
  if (port.endPort !== undefined && port.endPort !== null) {
    if (typeof port.port !== "number") errs.push(field.required(`${p}.port`, "must be specified when endPort is specified"));
    else if (typeof port.endPort !== "number" || port.endPort < port.port) errs.push(field.invalid(`${p}.endPort`, port.endPort, "must be greater than or equal to `port`"));
    else for (const m of isValidPortNum(port.endPort)) errs.push(field.invalid(`${p}.endPort`, port.endPort, m));
  }
  return errs;
}

function validateNetworkPolicy(np: KubeObject): FieldError[] {
  const spec = obj(np.spec) ?? {};
  const errs = validateLabelSelector(spec.podSelector, "spec.podSelector");
  for (const [dir, peers] of [
    ["ingress", "from"],
    ["egress", "to"],
  ] as const) {
    objects(spec[dir]).forEach(([rule, i]) => {
      const p = `spec.${dir}[${i}]`;
      objects(rule.ports).forEach(([port, j]) => errs.push(...validatePort(port, `${p}.ports[${j}]`)));
      objects(rule[peers]).forEach(([peer, j]) => errs.push(...validatePeer(peer, `${p}.${peers}[${j}]`)));
    });
  }
  const types = arr(spec.policyTypes);
  types.forEach((t, i) => errs.push(...oneOf(t, ["Egress", "Ingress"], `spec.policyTypes[${i}]`)));
  if (types.length > 2) errs.push(field.invalid("spec.policyTypes", types, "may not specify more than two policyTypes"));
  return errs;
}

export const networkPolicies: ResourceDef = {
  group: "networking.k8s.io",
  version: "v1",
  resource: "networkpolicies",
  kind: "NetworkPolicy",
  listKind: "NetworkPolicyList",
  singular: "networkpolicy",
  namespaced: true,
  shortNames: ["netpol"],
  schemaName: "io.k8s.api.networking.v1.NetworkPolicy",
  strategy: {
    defaults: defaultNetworkPolicy,
    validate: validateNetworkPolicy,
    allowCreateOnUpdate: false,
  },
  table: {
    columns: [nameColumn(), col("Pod-Selector", "string", "The pods the policy applies to."), ageColumn()],
    cells: (np, now) => [nameOf(np), formatLabelSelector(get(np, "spec", "podSelector") ?? {}), age(np, now)],
  },
};
