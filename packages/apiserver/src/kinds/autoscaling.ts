// Book 2.4: autoscaling/v2 HorizontalPodAutoscalers — a target to scale, replica bounds, the
// metrics to follow (80% CPU by default), scaling behavior, and the TARGETS column of `kubectl get hpa`.
import { field, type FieldError } from "@corekube/api";
import type { KubeObject, ResourceDef } from "../registry/types.js";
import { ensureObj, get, isObj, num, obj, objects, s, setDefault, setDefaultStr, type JsonObject } from "./json.js";
import { isValidPathSegmentName } from "./meta.js";
import { age, ageColumn, col, nameColumn, nameOf } from "./tables.js";
import { nonNegative, oneOf, quantityOf, validateQuantity } from "./validation.js";

const DEFAULT_CPU_UTILIZATION = 80;

function scaleUpDefaults(rules: JsonObject): void {
  setDefault(rules, "stabilizationWindowSeconds", 0);
  setDefaultStr(rules, "selectPolicy", "Max");
  setDefault(rules, "policies", [
    { type: "Pods", value: 4, periodSeconds: 15 },
    { type: "Percent", value: 100, periodSeconds: 15 },
  ]);
}

function scaleDownDefaults(rules: JsonObject): void {
  setDefault(rules, "stabilizationWindowSeconds", 300);
  setDefaultStr(rules, "selectPolicy", "Max");
  setDefault(rules, "policies", [{ type: "Percent", value: 100, periodSeconds: 15 }]);
}

export function defaultHPA(hpa: KubeObject): void {
  const spec = ensureObj(hpa as JsonObject, "spec");
  setDefault(spec, "minReplicas", 1);
  if (!Array.isArray(spec.metrics) || spec.metrics.length === 0) {
    spec.metrics = [{ type: "Resource", resource: { name: "cpu", target: { type: "Utilization", averageUtilization: DEFAULT_CPU_UTILIZATION } } }];
  }
  // A behavior the user gives is completed with the defaults; none given stays none.
  const behavior = obj(spec.behavior);
  if (behavior) {
    scaleUpDefaults(ensureObj(behavior, "scaleUp"));
    scaleDownDefaults(ensureObj(behavior, "scaleDown"));
  }
}

const METRIC_TYPES = ["ContainerResource", "External", "Object", "Pods", "Resource"];
const TARGET_TYPES = ["AverageValue", "Utilization", "Value"];
const SOURCE_KEY: Record<string, string> = {
  Resource: "resource",
  ContainerResource: "containerResource",
  Pods: "pods",
  Object: "object",
  External: "external",
};

function validateTarget(target: unknown, p: string, resourceMetric: boolean): FieldError[] {
  const t = obj(target);
  if (!t) return [field.required(p, "")];
  const errs = oneOf(t.type, TARGET_TYPES, `${p}.type`);
  if (t.averageUtilization !== undefined && t.averageUtilization !== null) {
    if (typeof t.averageUtilization !== "number" || t.averageUtilization <= 0) errs.push(field.invalid(`${p}.averageUtilization`, t.averageUtilization, "must be greater than 0"));
  }
  for (const k of ["averageValue", "value"]) {
    if (t[k] === undefined || t[k] === null) continue;
    errs.push(...validateQuantity(t[k], `${p}.${k}`));
    if (quantityOf(t[k])?.isZero()) errs.push(field.invalid(`${p}.${k}`, t[k], "must be positive"));
  }
  if (t.type === "Utilization" && (t.averageUtilization === undefined || t.averageUtilization === null)) {
    errs.push(field.required(`${p}.averageUtilization`, "must set either a target value or averageUtilization"));
  }
  if (t.type === "AverageValue" && (t.averageValue === undefined || t.averageValue === null)) errs.push(field.required(`${p}.averageValue`, "must be set when type is AverageValue"));
  if (t.type === "Value" && (t.value === undefined || t.value === null)) errs.push(field.required(`${p}.value`, "must be set when type is Value"));
  if (resourceMetric && t.type === "Value") errs.push(field.invalid(`${p}.type`, t.type, "must be either Utilization or AverageValue"));
  return errs;
}

function validateMetric(m: JsonObject, p: string): FieldError[] {
  const errs = oneOf(m.type, METRIC_TYPES, `${p}.type`);
  const key = SOURCE_KEY[s(m.type)];
  if (!key) return errs;
  for (const other of Object.values(SOURCE_KEY)) {
    if (other !== key && isObj(m[other])) errs.push(field.forbidden(`${p}.${other}`, `must populate the given metric source only`));
  }
  const src = obj(m[key]);
  if (!src) return [...errs, field.required(`${p}.${key}`, `must populate information for the given metric source`)];
  const sp = `${p}.${key}`;
  if (key === "resource" || key === "containerResource") {
    if (s(src.name) === "") errs.push(field.required(`${sp}.name`, "must specify a resource name"));
    if (key === "containerResource" && s(src.container) === "") errs.push(field.required(`${sp}.container`, "must specify a container"));
    errs.push(...validateTarget(src.target, `${sp}.target`, true));
  } else {
    const metric = obj(src.metric);
    if (!metric || s(metric.name) === "") errs.push(field.required(`${sp}.metric.name`, "must specify a metric name"));
    if (key === "object") {
      const ref = obj(src.describedObject);
      if (!ref || s(ref.kind) === "") errs.push(field.required(`${sp}.describedObject.kind`, ""));
      if (!ref || s(ref.name) === "") errs.push(field.required(`${sp}.describedObject.name`, ""));
    }
    errs.push(...validateTarget(src.target, `${sp}.target`, false));
  }
  return errs;
}

function validateScalingRules(rules: unknown, p: string): FieldError[] {
  const r = obj(rules);
  if (!r) return [];
  const errs = oneOf(r.selectPolicy, ["Disabled", "Max", "Min"], `${p}.selectPolicy`, false);
  const window = num(r.stabilizationWindowSeconds);
  if (window !== undefined && (window < 0 || window > 3600)) errs.push(field.invalid(`${p}.stabilizationWindowSeconds`, window, "must be less than or equal to 3600"));
  objects(r.policies).forEach(([policy, i]) => {
    const pp = `${p}.policies[${i}]`;
    errs.push(...oneOf(policy.type, ["Percent", "Pods"], `${pp}.type`));
    if (typeof policy.value !== "number" || policy.value <= 0) errs.push(field.invalid(`${pp}.value`, policy.value ?? null, "must be greater than zero"));
    const period = policy.periodSeconds;
    if (typeof period !== "number" || period <= 0) errs.push(field.invalid(`${pp}.periodSeconds`, period ?? null, "must be greater than zero"));
    else if (period > 1800) errs.push(field.invalid(`${pp}.periodSeconds`, period, "must be less than or equal to 1800"));
  });
  return errs;
}

function validateHPA(hpa: KubeObject): FieldError[] {
  const spec = obj(hpa.spec) ?? {};
  const errs: FieldError[] = [];
  const ref = obj(spec.scaleTargetRef) ?? {};
  if (s(ref.kind) === "") errs.push(field.required("spec.scaleTargetRef.kind", ""));
  else for (const msg of isValidPathSegmentName(s(ref.kind))) errs.push(field.invalid("spec.scaleTargetRef.kind", ref.kind, msg));
  if (s(ref.name) === "") errs.push(field.required("spec.scaleTargetRef.name", ""));
  else for (const msg of isValidPathSegmentName(s(ref.name))) errs.push(field.invalid("spec.scaleTargetRef.name", ref.name, msg));
  const min = num(spec.minReplicas);
  if (min !== undefined && min < 1) errs.push(field.invalid("spec.minReplicas", min, "must be greater than or equal to 1"));
  const max = num(spec.maxReplicas);
  if (max === undefined || max < 1) errs.push(field.invalid("spec.maxReplicas", spec.maxReplicas ?? 0, "must be greater than 0"));
  else if (min !== undefined && max < min) errs.push(field.invalid("spec.maxReplicas", max, "must be greater than or equal to `minReplicas`"));
  objects(spec.metrics).forEach(([m, i]) => errs.push(...validateMetric(m, `spec.metrics[${i}]`)));
  const behavior = obj(spec.behavior);
  if (behavior) {
    errs.push(...validateScalingRules(behavior.scaleUp, "spec.behavior.scaleUp"));
    errs.push(...validateScalingRules(behavior.scaleDown, "spec.behavior.scaleDown"));
  }
  return errs;
}

// ---------------------------------------------------------------------------------------------
// Table.

function showQuantity(v: unknown): string {
  if (v === undefined || v === null) return "<unknown>";
  return quantityOf(v)?.toString() ?? String(v);
}

/** "cpu: 45%/80%", "memory: 100Mi/200Mi", "<unknown>/500m (avg)"; at most two, then "+ N more...". */
export function formatHPAMetrics(hpa: KubeObject): string {
  const specs = objects(get(hpa, "spec", "metrics")).map(([m]) => m);
  if (specs.length === 0) return "<none>";
  const statuses = objects(get(hpa, "status", "currentMetrics")).map(([m]) => m);
  const list: string[] = [];
  specs.forEach((spec, i) => {
    const status = statuses[i];
    switch (spec.type) {
      case "External":
      case "Object": {
        const key = spec.type === "External" ? "external" : "object";
        const target = obj(get(spec, key, "target")) ?? {};
        const current = obj(get(status, key, "current"));
        if (target.averageValue !== undefined) {
          list.push(`${current && current.averageValue !== undefined ? showQuantity(current.averageValue) : "<unknown>"}/${showQuantity(target.averageValue)} (avg)`);
        } else {
          list.push(`${current ? showQuantity(current.value) : "<unknown>"}/${showQuantity(target.value)}`);
        }
        break;
      }
      case "Pods": {
        const current = obj(get(status, "pods", "current"));
        list.push(`${current ? showQuantity(current.averageValue) : "<unknown>"}/${showQuantity(get(spec, "pods", "target", "averageValue"))}`);
        break;
      }
      case "Resource":
      case "ContainerResource": {
        const key = spec.type === "Resource" ? "resource" : "containerResource";
        const name = s(get(spec, key, "name"));
        const target = obj(get(spec, key, "target")) ?? {};
        const current = obj(get(status, key, "current"));
        if (target.averageValue !== undefined) {
          list.push(`${name}: ${current ? showQuantity(current.averageValue) : "<unknown>"}/${showQuantity(target.averageValue)}`);
        } else {
          const cur = current && typeof current.averageUtilization === "number" ? `${current.averageUtilization}%` : "<unknown>";
          const want = typeof target.averageUtilization === "number" ? `${target.averageUtilization}%` : "<auto>";
          list.push(`${name}: ${cur}/${want}`);
        }
        break;
      }
      default:
        list.push("<unknown type>");
    }
  });
  const max = 2;
  if (list.length > max) return `${list.slice(0, max).join(", ")} + ${list.length - max} more...`;
  return list.join(", ");
}

export const horizontalPodAutoscalers: ResourceDef = {
  group: "autoscaling",
  version: "v2",
  resource: "horizontalpodautoscalers",
  kind: "HorizontalPodAutoscaler",
  listKind: "HorizontalPodAutoscalerList",
  singular: "horizontalpodautoscaler",
  namespaced: true,
  shortNames: ["hpa"],
  categories: ["all"],
  schemaName: "io.k8s.api.autoscaling.v2.HorizontalPodAutoscaler",
  subresources: { status: true },
  strategy: {
    defaults: defaultHPA,
    validate: validateHPA,
    validateStatusUpdate: (hpa) => [
      ...nonNegative(get(hpa, "status", "currentReplicas"), "status.currentReplicas"),
      ...nonNegative(get(hpa, "status", "desiredReplicas"), "status.desiredReplicas"),
    ],
    allowCreateOnUpdate: false,
  },
  table: {
    columns: [
      nameColumn(),
      col("Reference", "string", "The object being scaled, as kind/name."),
      col("Targets", "string", "Current and target values of the metrics followed."),
      col("MinPods", "string", "The fewest replicas the autoscaler sets."),
      col("MaxPods", "string", "The most replicas the autoscaler sets."),
      col("Replicas", "string", "The replicas the target has now."),
      ageColumn(),
    ],
    cells(hpa, now) {
      const spec = obj(hpa.spec) ?? {};
      const ref = obj(spec.scaleTargetRef) ?? {};
      const min = num(spec.minReplicas);
      return [
        nameOf(hpa),
        `${s(ref.kind)}/${s(ref.name)}`,
        formatHPAMetrics(hpa),
        min === undefined ? "<unset>" : String(min),
        num(spec.maxReplicas) ?? 0,
        num(get(hpa, "status", "currentReplicas")) ?? 0,
        age(hpa, now),
      ];
    },
  },
};

