// Book 2.3 and 10.2: what every pod-owning controller object shares — a label selector that must
// pick out its own pod template, a template that is a valid pod spec, and the scale subresource.
import { field, matches, selectorFromLabelSelector, type FieldError, type LabelSelector } from "@corekube/api";
import type { KubeObject, ScaleDef } from "../registry/types.js";
import { get, isObj, obj, strMap } from "./json.js";
import { validateLabelSelector } from "./meta.js";
import { validatePodTemplate, type PodSpecOptions } from "./pod-validation.js";
import { selectorText } from "./tables.js";

/** Whether a LabelSelector matches a label set; undefined when the selector is malformed. */
export function selectorMatches(selector: unknown, labels: unknown): boolean | undefined {
  try {
    return matches(selectorFromLabelSelector(isObj(selector) ? (selector as LabelSelector) : undefined), strMap(labels));
  } catch {
    return undefined;
  }
}

function isEmptySelector(sel: Record<string, unknown>): boolean {
  return Object.keys(obj(sel.matchLabels) ?? {}).length + (Array.isArray(sel.matchExpressions) ? sel.matchExpressions.length : 0) === 0;
}

export interface SelectorRules {
  /** "deployment", "statefulset", "daemonset": named in the empty-selector message. */
  emptyWord: string;
  /** Whether a missing selector is an error (it is for apps/v1 and Jobs). */
  required: boolean;
}

/**
 * spec.selector present and well formed, not empty, and matching spec.template's labels; then the
 * template itself. `spec` is the object's spec, paths are rooted at "spec".
 */
export function validateSelectorAndTemplate(spec: Record<string, unknown>, rules: SelectorRules, opts: PodSpecOptions = {}): FieldError[] {
  const errs: FieldError[] = [];
  const sel = spec.selector;
  if (sel === undefined || sel === null) {
    if (rules.required) errs.push(field.required("spec.selector", ""));
  } else {
    errs.push(...validateLabelSelector(sel, "spec.selector"));
    if (isObj(sel) && isEmptySelector(sel)) errs.push(field.invalid("spec.selector", sel, `empty selector is invalid for ${rules.emptyWord}`));
  }
  if (isObj(sel) && !isEmptySelector(sel)) {
    const ok = selectorMatches(sel, get(spec, "template", "metadata", "labels"));
    if (ok === undefined) errs.push(field.invalid("spec.selector", sel, "invalid label selector"));
    else if (!ok) errs.push(field.invalid("spec.template.metadata.labels", get(spec, "template", "metadata", "labels") ?? {}, "`selector` does not match template `labels`"));
  }
  errs.push(...validatePodTemplate(spec.template, "spec.template", opts));
  return errs;
}

/** Controllers that keep pods running: restartPolicy Always, no activeDeadlineSeconds. */
export function validateLongRunningTemplate(spec: Record<string, unknown>, kindWord: string): FieldError[] {
  const errs: FieldError[] = [];
  const restart = get(spec, "template", "spec", "restartPolicy");
  if (restart !== undefined && restart !== "Always") errs.push(field.notSupported("spec.template.spec.restartPolicy", restart, ["Always"]));
  if (get(spec, "template", "spec", "activeDeadlineSeconds") !== undefined && get(spec, "template", "spec", "activeDeadlineSeconds") !== null) {
    errs.push(field.forbidden("spec.template.spec.activeDeadlineSeconds", `activeDeadlineSeconds in ${kindWord} is not Supported`));
  }
  return errs;
}

/** The scale subresource of Deployments, ReplicaSets and StatefulSets. */
export const replicasScale: ScaleDef = {
  specReplicasPath: ".spec.replicas",
  statusReplicasPath: ".status.replicas",
  selectorFrom: (o: KubeObject) => selectorText(get(o, "spec", "selector")) ?? "",
};
