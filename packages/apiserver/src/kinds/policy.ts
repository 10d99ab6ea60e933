// Book 2.4 and 11.3: policy/v1 PodDisruptionBudgets — how many of an application's pods must stay
// up (minAvailable) or may be down (maxUnavailable) during voluntary disruptions such as drains.
import { field, type FieldError } from "@corekube/api";
import type { KubeObject, ResourceDef } from "../registry/types.js";
import { get, num, obj } from "./json.js";
import { validateLabelSelector } from "./meta.js";
import { age, ageColumn, col, nameColumn, nameOf } from "./tables.js";
import { nonNegative, notMoreThan100Percent, oneOf, validateIntOrPercent } from "./validation.js";

function validatePDB(pdb: KubeObject): FieldError[] {
  const spec = obj(pdb.spec) ?? {};
  const errs: FieldError[] = [];
  const has = (k: string) => spec[k] !== undefined && spec[k] !== null;
  if (has("minAvailable") && has("maxUnavailable")) {
    errs.push(field.invalid("spec.minAvailable", spec.minAvailable, "minAvailable and maxUnavailable cannot be both set"));
  }
  for (const k of ["minAvailable", "maxUnavailable"]) {
    if (!has(k)) continue;
    errs.push(...validateIntOrPercent(spec[k], `spec.${k}`), ...notMoreThan100Percent(spec[k], `spec.${k}`));
  }
  errs.push(...validateLabelSelector(spec.selector, "spec.selector"));
  errs.push(...oneOf(spec.unhealthyPodEvictionPolicy, ["AlwaysAllow", "IfHealthyBudget"], "spec.unhealthyPodEvictionPolicy", false));
  return errs;
}

const orNA = (v: unknown): string => (v === undefined || v === null ? "N/A" : String(v));

export const podDisruptionBudgets: ResourceDef = {
  group: "policy",
  version: "v1",
  resource: "poddisruptionbudgets",
  kind: "PodDisruptionBudget",
  listKind: "PodDisruptionBudgetList",
  singular: "poddisruptionbudget",
  namespaced: true,
  shortNames: ["pdb"],
  schemaName: "io.k8s.api.policy.v1.PodDisruptionBudget",
  subresources: { status: true },
  strategy: {
    validate: validatePDB,
    validateStatusUpdate(pdb) {
      const errs: FieldError[] = [];
      for (const k of ["disruptionsAllowed", "currentHealthy", "desiredHealthy", "expectedPods"]) errs.push(...nonNegative(get(pdb, "status", k), `status.${k}`));
      return errs;
    },
    allowCreateOnUpdate: false,
  },
  table: {
    columns: [
      nameColumn(),
      col("Min Available", "string", "Pods that must stay available."),
      col("Max Unavailable", "string", "Pods that may be unavailable."),
      col("Allowed Disruptions", "integer", "Pods that may be disrupted right now."),
      ageColumn(),
    ],
    cells: (pdb, now) => [
      nameOf(pdb),
      orNA(get(pdb, "spec", "minAvailable")),
      orNA(get(pdb, "spec", "maxUnavailable")),
      num(get(pdb, "status", "disruptionsAllowed")) ?? 0,
      age(pdb, now),
    ],
  },
};
