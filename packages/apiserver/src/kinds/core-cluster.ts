// Book 2.2, 9.3 and 11.2: the cluster-scoped core objects — Namespaces (phase, the `kubernetes`
// finalizer, the name label) and Nodes (kubelet-written status, taints, STATUS and ROLES columns).
import { field, type FieldError } from "@corekube/api";
import type { KubeObject, ResourceDef } from "../registry/types.js";
import { arr, ensureObj, get, isObj, obj, objects, s, setDefault, type JsonObject } from "./json.js";
import { isQualifiedName, isValidLabelValue, validateFinalizers } from "./meta.js";
import { TAINT_EFFECTS } from "./pod-validation.js";
import { age, ageColumn, col, nameColumn, nameOf } from "./tables.js";
import { isValidCIDR, oneOf, validateQuantity } from "./validation.js";

// ---------------------------------------------------------------------------------------------
// Namespace.

export const NAMESPACE_NAME_LABEL = "kubernetes.io/metadata.name";

/** Every namespace carries its own name as a label, so selectors can pick namespaces by name. */
function labelWithName(ns: KubeObject): void {
  const name = s(ns.metadata?.name);
  if (name === "") return;
  const meta = ns.metadata as JsonObject;
  ensureObj(meta, "labels")[NAMESPACE_NAME_LABEL] = name;
}

export const namespaces: ResourceDef = {
  group: "",
  version: "v1",
  resource: "namespaces",
  kind: "Namespace",
  listKind: "NamespaceList",
  singular: "namespace",
  namespaced: false,
  shortNames: ["ns"],
  // No deletecollection: deleting every namespace at once is not offered (as in Kubernetes).
  verbs: ["create", "delete", "get", "list", "patch", "update", "watch"],
  nameValidation: "label",
  schemaName: "io.k8s.api.core.v1.Namespace",
  subresources: { status: true },
  strategy: {
    defaults: labelWithName,
    prepareForCreate(ns) {
      labelWithName(ns);
      ns.status = { phase: "Active" };
      const spec = ensureObj(ns as JsonObject, "spec");
      const finalizers = arr(spec.finalizers);
      // Namespace deletion waits until the namespace controller has emptied it.
      if (!finalizers.includes("kubernetes")) spec.finalizers = [...finalizers, "kubernetes"];
    },
    prepareForUpdate(ns, old) {
      labelWithName(ns);
      // spec.finalizers changes only through the finalize subresource.
      const oldFinalizers = get(old, "spec", "finalizers");
      const spec = ensureObj(ns as JsonObject, "spec");
      if (oldFinalizers === undefined) delete spec.finalizers;
      else spec.finalizers = oldFinalizers;
    },
    validate(ns) {
      return validateFinalizers(get(ns, "spec", "finalizers"), "spec.finalizers");
    },
    validateStatusUpdate(ns) {
      const phase = get(ns, "status", "phase");
      if (s(ns.metadata?.deletionTimestamp) === "") {
        return phase === "Active" ? [] : [field.invalid("status.phase", phase ?? "", "may only be 'Active' if `deletionTimestamp` is empty")];
      }
      return phase === "Terminating" ? [] : [field.invalid("status.phase", phase ?? "", "may only be 'Terminating' if `deletionTimestamp` is not empty")];
    },
    allowCreateOnUpdate: false,
  },
  table: {
    columns: [nameColumn(), col("Status", "string", "Active, or Terminating while the namespace is being emptied."), ageColumn()],
    cells: (ns, now) => [nameOf(ns), s(get(ns, "status", "phase")), age(ns, now)],
  },
  // "name" is an old alias Kubernetes still accepts for metadata.name on namespaces.
  fields: (ns) => ({ "status.phase": s(get(ns, "status", "phase")), name: nameOf(ns) }),
};

// ---------------------------------------------------------------------------------------------
// Node.

function defaultNode(node: KubeObject): void {
  const spec = obj(node.spec);
  if (spec) {
    // podCIDR is the first entry of podCIDRs; clients may send either.
    const cidrs = arr(spec.podCIDRs);
    if (s(spec.podCIDR) !== "" && cidrs.length === 0) spec.podCIDRs = [spec.podCIDR];
    else if (cidrs.length > 0) spec.podCIDR = cidrs[0];
  }
  const status = obj(node.status);
  if (status && isObj(status.capacity)) setDefault(status, "allocatable", { ...status.capacity });
}

function validateTaints(taints: unknown, path: string): FieldError[] {
  const errs: FieldError[] = [];
  const seen = new Set<string>();
  objects(taints).forEach(([t, i]) => {
    const p = `${path}[${i}]`;
    for (const msg of isQualifiedName(s(t.key))) errs.push(field.invalid(`${p}.key`, s(t.key), msg));
    if (s(t.value) !== "") for (const msg of isValidLabelValue(s(t.value))) errs.push(field.invalid(`${p}.value`, t.value, msg));
    errs.push(...oneOf(t.effect, TAINT_EFFECTS, `${p}.effect`));
    const key = `${s(t.key)}:${s(t.effect)}`;
    if (seen.has(key)) errs.push(field.duplicate(p, { key: t.key, effect: t.effect }));
    seen.add(key);
  });
  return errs;
}

function validateNode(node: KubeObject): FieldError[] {
  const spec = obj(node.spec) ?? {};
  const errs: FieldError[] = [];
  const cidrs = arr(spec.podCIDRs);
  cidrs.forEach((c, i) => {
    if (typeof c !== "string" || !isValidCIDR(c)) errs.push(field.invalid(`spec.podCIDRs[${i}]`, c, "must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)"));
  });
  if (cidrs.length > 2) errs.push(field.invalid("spec.podCIDRs", cidrs, "may specify no more than one CIDR for each IP family"));
  errs.push(...validateTaints(spec.taints, "spec.taints"));
  return errs;
}

function validateNodeUpdate(node: KubeObject, old: KubeObject): FieldError[] {
  const errs: FieldError[] = [];
  const before = arr(get(old, "spec", "podCIDRs"));
  const now = arr(get(node, "spec", "podCIDRs"));
  if (before.length > 0 && (before.length !== now.length || before.some((c, i) => c !== now[i]))) {
    errs.push(field.forbidden("spec.podCIDRs", 'node updates may not change podCIDR except from "" to valid'));
  }
  const oldProvider = s(get(old, "spec", "providerID"));
  if (oldProvider !== "" && oldProvider !== s(get(node, "spec", "providerID"))) {
    errs.push(field.forbidden("spec.providerID", 'node updates may not change providerID except from "" to valid'));
  }
  return errs;
}

const ADDRESS_TYPES = ["ExternalDNS", "ExternalIP", "Hostname", "InternalDNS", "InternalIP"];

function validateNodeStatus(node: KubeObject): FieldError[] {
  const status = obj(node.status) ?? {};
  const errs: FieldError[] = [];
  objects(status.addresses).forEach(([a, i]) => {
    errs.push(...oneOf(a.type, ADDRESS_TYPES, `status.addresses[${i}].type`));
    if (s(a.address) === "") errs.push(field.required(`status.addresses[${i}].address`, ""));
  });
  for (const list of ["capacity", "allocatable"]) {
    for (const [name, qty] of Object.entries(obj(status[list]) ?? {})) errs.push(...validateQuantity(qty, `status.${list}[${name}]`));
  }
  return errs;
}

const ROLE_PREFIX = "node-role.kubernetes.io/";

/** Roles from `node-role.kubernetes.io/<role>` labels and the older `kubernetes.io/role=<role>`. */
export function nodeRoles(node: KubeObject): string[] {
  const roles = new Set<string>();
  for (const [k, v] of Object.entries(obj(node.metadata?.labels) ?? {})) {
    if (k.startsWith(ROLE_PREFIX) && k.length > ROLE_PREFIX.length) roles.add(k.slice(ROLE_PREFIX.length));
    else if (k === "kubernetes.io/role" && typeof v === "string" && v !== "") roles.add(v);
  }
  return [...roles].sort();
}

/** "Ready", "NotReady", "Unknown", plus ",SchedulingDisabled" for a cordoned node. */
export function nodeStatusText(node: KubeObject): string {
  const parts: string[] = [];
  const ready = objects(get(node, "status", "conditions")).map(([c]) => c).find((c) => c.type === "Ready");
  if (ready) parts.push(ready.status === "True" ? "Ready" : "NotReady");
  else parts.push("Unknown");
  if (get(node, "spec", "unschedulable") === true) parts.push("SchedulingDisabled");
  return parts.join(",");
}

function nodeAddress(node: KubeObject, type: string): string {
  const a = objects(get(node, "status", "addresses")).find(([x]) => x.type === type);
  return a ? s(a[0].address) : "<none>";
}

function orUnknown(v: unknown): string {
  return s(v) === "" ? "<unknown>" : s(v);
}

export const nodes: ResourceDef = {
  group: "",
  version: "v1",
  resource: "nodes",
  kind: "Node",
  listKind: "NodeList",
  singular: "node",
  namespaced: false,
  shortNames: ["no"],
  schemaName: "io.k8s.api.core.v1.Node",
  subresources: { status: true },
  strategy: {
    defaults: defaultNode,
    prepareForStatusUpdate: (node) => defaultNode(node),
    validate: validateNode,
    validateUpdate: validateNodeUpdate,
    validateStatusUpdate: validateNodeStatus,
    keepStatusOnCreate: true,
    allowCreateOnUpdate: false,
  },
  table: {
    columns: [
      nameColumn(),
      col("Status", "string", "Whether the node is Ready, and SchedulingDisabled when cordoned."),
      col("Roles", "string", "The node's roles, from its node-role.kubernetes.io labels."),
      ageColumn(),
      col("Version", "string", "The kubelet version the node reports."),
      col("Internal-IP", "string", "The node's first internal address.", 1),
      col("External-IP", "string", "The node's first external address.", 1),
      col("OS-Image", "string", "The operating system the node reports.", 1),
      col("Kernel-Version", "string", "The kernel version the node reports.", 1),
      col("Container-Runtime", "string", "The container runtime and version the node reports.", 1),
    ],
    cells(node, now) {
      const info = obj(get(node, "status", "nodeInfo")) ?? {};
      const roles = nodeRoles(node);
      return [
        nameOf(node),
        nodeStatusText(node),
        roles.length === 0 ? "<none>" : roles.join(","),
        age(node, now),
        s(info.kubeletVersion),
        nodeAddress(node, "InternalIP"),
        nodeAddress(node, "ExternalIP"),
        orUnknown(info.osImage),
        orUnknown(info.kernelVersion),
        orUnknown(info.containerRuntimeVersion),
      ];
    },
  },
  fields: (node) => ({ "spec.unschedulable": String(get(node, "spec", "unschedulable") === true) }),
};
