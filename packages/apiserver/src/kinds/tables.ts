// Book 2.3: pieces shared by the server-side Tables behind `kubectl get` — the Name and Age
// columns, the wide-output Containers/Images/Selector cells, and label/selector formatting.
import { formatSelector, selectorFromLabelSelector, type LabelSelector } from "@corekube/api";
import type { KubeObject, TableColumn } from "../registry/types.js";
import { ageOf } from "./age.js";
import { isObj, objects, s, strMap } from "./json.js";

// Column descriptions are our own short wording (clients show them in `kubectl explain`-like help).
export const NAME_DESCRIPTION = "The object's name, unique among objects of its kind in its namespace.";
export const AGE_DESCRIPTION = "When the server created the object.";

export function col(name: string, type: TableColumn["type"], description: string, priority = 0, format?: string): TableColumn {
  const c: TableColumn = { name, type, description, priority };
  if (format !== undefined) c.format = format;
  return c;
}

export const nameColumn = (priority = 0): TableColumn => col("Name", "string", NAME_DESCRIPTION, priority, "name");
export const ageColumn = (): TableColumn => col("Age", "string", AGE_DESCRIPTION);
export const createdAtColumn = (): TableColumn => col("Created At", "date", AGE_DESCRIPTION);

export const containersColumn = (): TableColumn => col("Containers", "string", "The container names in the pod template.", 1);
export const imagesColumn = (): TableColumn => col("Images", "string", "The container images in the pod template.", 1);
export const selectorColumn = (description: string): TableColumn => col("Selector", "string", description, 1);

export const nameOf = (obj: KubeObject): string => s(obj.metadata?.name);
export const age = (obj: KubeObject, now: Date): string => ageOf(obj.metadata?.creationTimestamp, now);

/** RFC 3339 creation time, for the "Created At" column. */
export function createdAt(obj: KubeObject): string {
  const t = Date.parse(s(obj.metadata?.creationTimestamp));
  return Number.isNaN(t) ? "" : new Date(t).toISOString().replace(/\.\d{3}Z$/, "Z");
}

/** The wide cells for a pod template: container names and images, comma-joined. */
export function containerCells(containers: unknown): [string, string] {
  const list = objects(containers).map(([c]) => c);
  return [list.map((c) => s(c.name)).join(","), list.map((c) => s(c.image)).join(",")];
}

/** `a=b,c=d` with keys sorted, or "<none>" for an empty map. */
export function formatLabels(labels: unknown): string {
  const m = strMap(labels);
  const keys = Object.keys(m).sort();
  return keys.length === 0 ? "<none>" : keys.map((k) => `${k}=${m[k]}`).join(",");
}

/** A LabelSelector as selector text, or undefined when it cannot be converted. */
export function selectorText(sel: unknown): string | undefined {
  try {
    return formatSelector(selectorFromLabelSelector(isObj(sel) ? (sel as LabelSelector) : undefined));
  } catch {
    return undefined;
  }
}

/** metav1.FormatLabelSelector: "<none>" when it selects nothing or everything, "<error>" when bad. */
export function formatLabelSelector(sel: unknown): string {
  const text = selectorText(sel);
  if (text === undefined) return "<error>";
  return text === "" ? "<none>" : text;
}

/** Access modes in their short forms, in Kubernetes' fixed order: RWO, ROX, RWX, RWOP. */
export function accessModesString(modes: unknown): string {
  const set = new Set(Array.isArray(modes) ? modes : []);
  const out: string[] = [];
  if (set.has("ReadWriteOnce")) out.push("RWO");
  if (set.has("ReadOnlyMany")) out.push("ROX");
  if (set.has("ReadWriteMany")) out.push("RWX");
  if (set.has("ReadWriteOncePod")) out.push("RWOP");
  return out.join(",");
}
