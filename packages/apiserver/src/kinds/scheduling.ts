// Book 11.2 and 4.5: scheduling.k8s.io PriorityClasses — the priority numbers pods get by name,
// which the scheduler uses to order and preempt; values above one billion belong to the system.
import { field, type FieldError } from "@corekube/api";
import type { KubeObject, ResourceDef } from "../registry/types.js";
import { s, setDefaultStr, type JsonObject } from "./json.js";
import { validateImmutable } from "./meta.js";
import { age, ageColumn, col, nameColumn, nameOf } from "./tables.js";
import { oneOf } from "./validation.js";

/** The highest value a user-defined priority class may have. */
export const HIGHEST_USER_PRIORITY = 1_000_000_000;
/** The built-in classes that may use the reserved "system-" prefix, with their fixed values. */
export const SYSTEM_PRIORITY_CLASSES: Record<string, number> = {
  "system-node-critical": 2_000_001_000,
  "system-cluster-critical": 2_000_000_000,
};

function validatePriorityClass(pc: KubeObject): FieldError[] {
  const errs: FieldError[] = [];
  const name = s(pc.metadata.name);
  const value = pc.value;
  if (typeof value !== "number" || !Number.isInteger(value)) errs.push(field.required("value", ""));
  if (name.startsWith("system-")) {
    const want = SYSTEM_PRIORITY_CLASSES[name];
    let problem: string | undefined;
    if (want === undefined) problem = `${name} is not a known system priority class`;
    else if (value !== want) problem = `value of ${name} PriorityClass must be ${want}`;
    else if (pc.globalDefault === true) problem = `globalDefault of ${name} PriorityClass must be false`;
    if (problem) errs.push(field.forbidden("metadata.name", `priority class names with 'system-' prefix are reserved for system use only. error: ${problem}`));
  } else if (typeof value === "number" && value > HIGHEST_USER_PRIORITY) {
    errs.push(field.forbidden("value", `maximum allowed value of a user defined priority is ${HIGHEST_USER_PRIORITY}`));
  }
  errs.push(...oneOf(pc.preemptionPolicy, ["Never", "PreemptLowerPriority"], "preemptionPolicy", false));
  return errs;
}

function validatePriorityClassUpdate(pc: KubeObject, old: KubeObject): FieldError[] {
  const errs: FieldError[] = [];
  if (pc.value !== old.value) errs.push(field.forbidden("value", "may not be changed in an update."));
  errs.push(...validateImmutable(pc.preemptionPolicy, old.preemptionPolicy, "preemptionPolicy"));
  return errs;
}

export const priorityClasses: ResourceDef = {
  group: "scheduling.k8s.io",
  version: "v1",
  resource: "priorityclasses",
  kind: "PriorityClass",
  listKind: "PriorityClassList",
  singular: "priorityclass",
  namespaced: false,
  shortNames: ["pc"],
  schemaName: "io.k8s.api.scheduling.v1.PriorityClass",
  strategy: {
    defaults: (pc) => setDefaultStr(pc as JsonObject, "preemptionPolicy", "PreemptLowerPriority"),
    validate: validatePriorityClass,
    validateUpdate: validatePriorityClassUpdate,
    allowCreateOnUpdate: false,
  },
  table: {
    columns: [
      nameColumn(),
      col("Value", "integer", "The priority pods of this class get."),
      col("Global-Default", "boolean", "Whether pods without a class get this one."),
      ageColumn(),
      col("PreemptionPolicy", "string", "Whether pods of this class may preempt lower ones."),
    ],
    cells: (pc, now) => [nameOf(pc), typeof pc.value === "number" ? pc.value : 0, pc.globalDefault === true, age(pc, now), s(pc.preemptionPolicy)],
  },
};
