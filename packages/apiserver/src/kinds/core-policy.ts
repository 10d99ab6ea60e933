// Book 4.3-4.5 and 14.4: per-namespace resource policy — ResourceQuotas (hard limits and what is
// used) and LimitRanges (container defaults, minimums and maximums) that admission enforces.
import { field, type FieldError, type Quantity } from "@corekube/api";
import type { KubeObject, ResourceDef } from "../registry/types.js";
import { ensureObj, get, isObj, obj, objects, s } from "./json.js";
import { isQualifiedName } from "./meta.js";
import { age, ageColumn, col, createdAt, createdAtColumn, nameColumn, nameOf } from "./tables.js";
import { oneOf, quantityOf, validateQuantity } from "./validation.js";

// ---------------------------------------------------------------------------------------------
// ResourceQuota.

const QUOTA_NAMES = new Set([
  "pods",
  "services",
  "replicationcontrollers",
  "resourcequotas",
  "secrets",
  "configmaps",
  "persistentvolumeclaims",
  "services.nodeports",
  "services.loadbalancers",
  "cpu",
  "memory",
  "storage",
  "ephemeral-storage",
  "requests.cpu",
  "requests.memory",
  "requests.storage",
  "requests.ephemeral-storage",
  "limits.cpu",
  "limits.memory",
  "limits.ephemeral-storage",
]);

/** Counts of objects and the like: must be whole numbers. */
const INTEGER_QUOTAS = new Set(["pods", "services", "replicationcontrollers", "resourcequotas", "secrets", "configmaps", "persistentvolumeclaims", "services.nodeports", "services.loadbalancers"]);

function isQuotaResourceName(name: string): boolean {
  if (QUOTA_NAMES.has(name)) return true;
  if (/^(requests\.|limits\.)?hugepages-/.test(name)) return true;
  return name.includes("/");
}

function validateResourceList(list: unknown, path: string): FieldError[] {
  const errs: FieldError[] = [];
  for (const [name, qty] of Object.entries(obj(list) ?? {})) {
    const p = `${path}[${name}]`;
    const qualified = isQualifiedName(name);
    if (qualified.length > 0) for (const msg of qualified) errs.push(field.invalid(p, name, msg));
    else if (!isQuotaResourceName(name)) errs.push(field.invalid(p, name, "must be a standard resource for quota"));
    errs.push(...validateQuantity(qty, p));
    const q = quantityOf(qty);
    if (q && (INTEGER_QUOTAS.has(name) || name.startsWith("count/")) && q.nanos % 1_000_000_000n !== 0n) {
      errs.push(field.invalid(p, String(qty), "must be an integer"));
    }
  }
  return errs;
}

const QUOTA_SCOPES = ["BestEffort", "CrossNamespacePodAffinity", "NotBestEffort", "NotTerminating", "PriorityClass", "Terminating", "VolumeAttributesClass"];

function validateQuota(quota: KubeObject): FieldError[] {
  const spec = obj(quota.spec) ?? {};
  const errs = validateResourceList(spec.hard, "spec.hard");
  (Array.isArray(spec.scopes) ? spec.scopes : []).forEach((scope, i) => errs.push(...oneOf(scope, QUOTA_SCOPES, `spec.scopes[${i}]`)));
  objects(get(spec, "scopeSelector", "matchExpressions")).forEach(([expr, i]) => {
    const p = `spec.scopeSelector.matchExpressions[${i}]`;
    errs.push(...oneOf(expr.scopeName, QUOTA_SCOPES, `${p}.scopeName`));
    errs.push(...oneOf(expr.operator, ["DoesNotExist", "Exists", "In", "NotIn"], `${p}.operator`));
  });
  return errs;
}

/** Resource names in the quota printer's order: plain sort of their text. */
function quotaColumns(quota: KubeObject): [string, string] {
  const hard = obj(get(quota, "status", "hard")) ?? {};
  const used = obj(get(quota, "status", "used")) ?? {};
  const requests: string[] = [];
  const limits: string[] = [];
  for (const name of Object.keys(hard).sort()) {
    const show = (v: unknown) => (v === undefined ? "0" : (quantityOf(v)?.toString() ?? String(v)));
    const text = `${name}: ${show(used[name])}/${show(hard[name])}`;
    (name.split(".")[0] === "limits" && name.includes(".") ? limits : requests).push(text);
  }
  return [requests.join(", "), limits.join(", ")];
}

export const resourceQuotas: ResourceDef = {
  group: "",
  version: "v1",
  resource: "resourcequotas",
  kind: "ResourceQuota",
  listKind: "ResourceQuotaList",
  singular: "resourcequota",
  namespaced: true,
  shortNames: ["quota"],
  schemaName: "io.k8s.api.core.v1.ResourceQuota",
  subresources: { status: true },
  strategy: {
    validate: validateQuota,
    validateStatusUpdate(quota) {
      return [...validateResourceList(get(quota, "status", "hard"), "status.hard"), ...validateResourceList(get(quota, "status", "used"), "status.used")];
    },
    allowCreateOnUpdate: false,
  },
  table: {
    columns: [
      nameColumn(),
      ageColumn(),
      col("Request", "string", "Used and allowed amounts of everything except limits.*, as used/hard."),
      col("Limit", "string", "Used and allowed amounts of limits.*, as used/hard."),
    ],
    cells(quota, now) {
      const [request, limit] = quotaColumns(quota);
      return [nameOf(quota), age(quota, now), request, limit];
    },
  },
};

// ---------------------------------------------------------------------------------------------
// LimitRange.

function copyMissing(from: unknown, into: Record<string, unknown>): void {
  for (const [k, v] of Object.entries(obj(from) ?? {})) if (into[k] === undefined) into[k] = v;
}

/** Container limits: a max also serves as the default limit; a default limit (or a min) as the default request. */
function defaultLimitRange(lr: KubeObject): void {
  for (const [item] of objects(get(lr, "spec", "limits"))) {
    if (item.type !== "Container") continue;
    const def = ensureObj(item, "default");
    const defReq = ensureObj(item, "defaultRequest");
    copyMissing(item.max, def);
    copyMissing(def, defReq);
    copyMissing(item.min, defReq);
    // Empty maps are omitted on the wire.
    if (Object.keys(def).length === 0) delete item.default;
    if (Object.keys(defReq).length === 0) delete item.defaultRequest;
  }
}

const LIMIT_TYPES = ["Container", "PersistentVolumeClaim", "Pod"];

function validateLimitRange(lr: KubeObject): FieldError[] {
  const errs: FieldError[] = [];
  objects(get(lr, "spec", "limits")).forEach(([item, i]) => {
    const p = `spec.limits[${i}]`;
    const type = s(item.type);
    if (!type.includes("/")) errs.push(...oneOf(item.type, LIMIT_TYPES, `${p}.type`));
    const lists: Record<string, Record<string, Quantity>> = {};
    for (const key of ["max", "min", "default", "defaultRequest", "maxLimitRequestRatio"]) {
      lists[key] = {};
      for (const [name, v] of Object.entries(obj(item[key]) ?? {})) {
        errs.push(...validateQuantity(v, `${p}.${key}[${name}]`));
        const q = quantityOf(v);
        if (q) lists[key]![name] = q;
      }
    }
    if (type === "Pod") {
      for (const key of ["default", "defaultRequest"]) {
        if (isObj(item[key]) && Object.keys(item[key] as object).length > 0) errs.push(field.forbidden(`${p}.${key}`, "may not be specified when `type` is 'Pod'"));
      }
    }
    const { max, min, default: dflt, defaultRequest: dreq, maxLimitRequestRatio: ratio } = lists as Record<string, Record<string, Quantity>>;
    const names = new Set([...Object.keys(max!), ...Object.keys(min!), ...Object.keys(dflt!), ...Object.keys(dreq!)]);
    for (const n of names) {
      const [mx, mn, d, dr] = [max![n], min![n], dflt![n], dreq![n]];
      if (mn && mx && mn.cmp(mx) > 0) errs.push(field.invalid(`${p}.min[${n}]`, mn.toString(), `min value ${mn} is greater than max value ${mx}`));
      if (dr && d && dr.cmp(d) > 0) errs.push(field.invalid(`${p}.defaultRequest[${n}]`, dr.toString(), `default request value ${dr} is greater than default limit value ${d}`));
      if (dr && mn && mn.cmp(dr) > 0) errs.push(field.invalid(`${p}.defaultRequest[${n}]`, dr.toString(), `min value ${mn} is greater than default request value ${dr}`));
      if (dr && mx && dr.cmp(mx) > 0) errs.push(field.invalid(`${p}.defaultRequest[${n}]`, dr.toString(), `default request value ${dr} is greater than max value ${mx}`));
      if (d && mn && mn.cmp(d) > 0) errs.push(field.invalid(`${p}.default[${n}]`, d.toString(), `min value ${mn} is greater than default value ${d}`));
      if (d && mx && d.cmp(mx) > 0) errs.push(field.invalid(`${p}.default[${n}]`, d.toString(), `default value ${d} is greater than max value ${mx}`));
    }
    for (const [n, r] of Object.entries(ratio!)) {
      if (r.toNumber() < 1) errs.push(field.invalid(`${p}.maxLimitRequestRatio[${n}]`, r.toString(), `ratio ${r} is less than 1`));
    }
  });
  return errs;
}

export const limitRanges: ResourceDef = {
  group: "",
  version: "v1",
  resource: "limitranges",
  kind: "LimitRange",
  listKind: "LimitRangeList",
  singular: "limitrange",
  namespaced: true,
  shortNames: ["limits"],
  schemaName: "io.k8s.api.core.v1.LimitRange",
  strategy: {
    defaults: defaultLimitRange,
    validate: validateLimitRange,
    allowCreateOnUpdate: true,
  },
  table: {
    columns: [nameColumn(), createdAtColumn()],
    cells: (lr) => [nameOf(lr), createdAt(lr)],
  },
};
