// Book 11.2: validating a CustomResourceDefinition as apiextensions-apiserver does (name, group, names,
// scope, versions, schemas, subresources, columns, selectable fields), updates and storedVersions.
import { isDNS1035Label } from "../kinds/meta.js";
import { field, fieldPath, isDNS1123Subdomain, type FieldError, type FieldPath } from "@corekube/api";
import type { ResourceDef } from "../registry/types.js";
import { JsonPathError, isFieldPath, parseJsonPath } from "./jsonpath.js";
import { validateCRDSchema } from "./structural.js";
import type { CustomResourceDefinition } from "./types.js";

type Obj = Record<string, unknown>;
export { isDNS1035Label };

const isRecord = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);
const str = (v: unknown): string => (typeof v === "string" ? v : "");

export const PRINTER_COLUMN_TYPES = ["boolean", "date", "integer", "number", "string"];
export const PRINTER_COLUMN_FORMATS = ["byte", "date", "date-time", "double", "float", "int32", "int64", "password"];
export const MAX_SELECTABLE_FIELDS = 8;
export const API_APPROVAL_ANNOTATION = "api-approved.kubernetes.io";

function isProtectedGroup(group: string): boolean {
  return group === "k8s.io" || group === "kubernetes.io" || group.endsWith(".k8s.io") || group.endsWith(".kubernetes.io");
}

function checkApproval(crd: Obj, group: string, errs: FieldError[]): void {
  if (!isProtectedGroup(group)) return;
  const meta = isRecord(crd.metadata) ? crd.metadata : {};
  const annotations = isRecord(meta.annotations) ? meta.annotations : {};
  const path = fieldPath("metadata", "annotations").key(API_APPROVAL_ANNOTATION);
  const value = annotations[API_APPROVAL_ANNOTATION];
  if (value === undefined) {
    errs.push(
      field.required(path, `protected groups must have approval annotation "${API_APPROVAL_ANNOTATION}", see https://github.com/kubernetes/enhancements/pull/1111`),
    );
    return;
  }
  const ok = typeof value === "string" && (value.startsWith("unapproved") || /^https?:\/\/\S+$/.test(value));
  if (!ok) {
    errs.push(field.invalid(path, value, 'must be a URL of the approving review, or a reason starting with "unapproved"'));
  }
}

/** The format rules shared by spec.names and status.acceptedNames. */
export function validateNames(names: unknown, path: FieldPath): FieldError[] {
  const errs: FieldError[] = [];
  if (!isRecord(names)) return errs;
  for (const key of ["plural", "singular"] as const) {
    const v = names[key];
    if (v === undefined || v === "") continue;
    if (typeof v !== "string") errs.push(field.invalid(path.child(key), v, "must be a string"));
    else if (isDNS1035Label(v).length > 0) errs.push(field.invalid(path.child(key), v, isDNS1035Label(v).join(",")));
  }
  for (const key of ["kind", "listKind"] as const) {
    const v = names[key];
    if (v === undefined || v === "") continue;
    if (typeof v !== "string") errs.push(field.invalid(path.child(key), v, "must be a string"));
    else if (isDNS1035Label(v.toLowerCase()).length > 0) {
      errs.push(field.invalid(path.child(key), v, `may have mixed case, but should otherwise match: ${isDNS1035Label(v.toLowerCase()).join(",")}`));
    }
  }
  for (const key of ["shortNames", "categories"] as const) {
    const list = names[key];
    if (list === undefined) continue;
    if (!Array.isArray(list)) {
      errs.push(field.invalid(path.child(key), list, "must be a list of strings"));
      continue;
    }
    list.forEach((v, i) => {
      const msgs = typeof v === "string" ? isDNS1035Label(v) : ["must be a string"];
      if (msgs.length > 0) errs.push(field.invalid(path.child(key).index(i), v, msgs.join(",")));
    });
  }
  if (typeof names.kind === "string" && names.kind !== "" && names.kind === names.listKind) {
    errs.push(field.invalid(path.child("listKind"), names.listKind, "kind and listKind may not be the same"));
  }
  return errs;
}

/** A scale/selectable-field path: `.a.b` field steps only. */
function checkSimplePath(value: unknown, path: FieldPath, errs: FieldError[]): string[] | undefined {
  if (typeof value !== "string" || value === "") {
    errs.push(value === undefined || value === "" ? field.required(path, "") : field.invalid(path, value, "must be a string"));
    return undefined;
  }
  if (!value.startsWith(".")) {
    errs.push(field.invalid(path, value, "must be a simple json path starting with ."));
    return undefined;
  }
  try {
    const parsed = parseJsonPath(value);
    if (!isFieldPath(parsed)) {
      errs.push(field.invalid(path, value, "must be a json path in the dot notation (.a.b.c)"));
      return undefined;
    }
    return parsed.steps.map((s) => (s.kind === "field" ? s.name : ""));
  } catch (err) {
    errs.push(field.invalid(path, value, err instanceof JsonPathError ? err.message : String(err)));
    return undefined;
  }
}

function validateSubresources(sub: unknown, path: FieldPath, errs: FieldError[]): void {
  if (sub === undefined) return;
  if (!isRecord(sub)) {
    errs.push(field.invalid(path, sub, "must be an object"));
    return;
  }
  if (sub.status !== undefined && !isRecord(sub.status)) errs.push(field.invalid(path.child("status"), sub.status, "must be an object ({})"));
  const scale = sub.scale;
  if (scale === undefined) return;
  if (!isRecord(scale)) {
    errs.push(field.invalid(path.child("scale"), scale, "must be an object"));
    return;
  }
  const spec = checkSimplePath(scale.specReplicasPath, path.child("scale", "specReplicasPath"), errs);
  if (spec && (spec[0] !== "spec" || spec.length < 2)) {
    errs.push(field.invalid(path.child("scale", "specReplicasPath"), scale.specReplicasPath, "should be a json path under .spec"));
  }
  const status = checkSimplePath(scale.statusReplicasPath, path.child("scale", "statusReplicasPath"), errs);
  if (status && (status[0] !== "status" || status.length < 2)) {
    errs.push(field.invalid(path.child("scale", "statusReplicasPath"), scale.statusReplicasPath, "should be a json path under .status"));
  }
  if (scale.labelSelectorPath !== undefined && scale.labelSelectorPath !== "") {
    const sel = checkSimplePath(scale.labelSelectorPath, path.child("scale", "labelSelectorPath"), errs);
    if (sel && ((sel[0] !== "spec" && sel[0] !== "status") || sel.length < 2)) {
      errs.push(field.invalid(path.child("scale", "labelSelectorPath"), scale.labelSelectorPath, "should be a json path under either .spec or .status"));
    }
  }
}

function validateColumns(cols: unknown, path: FieldPath, errs: FieldError[]): void {
  if (cols === undefined) return;
  if (!Array.isArray(cols)) {
    errs.push(field.invalid(path, cols, "must be a list"));
    return;
  }
  cols.forEach((col, i) => {
    const p = path.index(i);
    if (!isRecord(col)) {
      errs.push(field.invalid(p, col, "must be an object"));
      return;
    }
    if (typeof col.name !== "string" || col.name === "") errs.push(field.required(p.child("name"), ""));
    const typeRule = `must be one of ${PRINTER_COLUMN_TYPES.join(",")}`;
    if (col.type === undefined || col.type === "") errs.push(field.required(p.child("type"), typeRule));
    else if (typeof col.type !== "string" || !PRINTER_COLUMN_TYPES.includes(col.type)) errs.push(field.invalid(p.child("type"), col.type, typeRule));
    if (col.format !== undefined && col.format !== "" && (typeof col.format !== "string" || !PRINTER_COLUMN_FORMATS.includes(col.format))) {
      errs.push(field.invalid(p.child("format"), col.format, `must be one of ${PRINTER_COLUMN_FORMATS.join(",")}`));
    }
    if (col.priority !== undefined && (typeof col.priority !== "number" || !Number.isInteger(col.priority) || col.priority < 0)) {
      errs.push(field.invalid(p.child("priority"), col.priority, "must be a non-negative integer"));
    }
    if (typeof col.jsonPath !== "string" || col.jsonPath === "") {
      errs.push(col.jsonPath === undefined || col.jsonPath === "" ? field.required(p.child("jsonPath"), "") : field.invalid(p.child("jsonPath"), col.jsonPath, "must be a string"));
    } else if (!col.jsonPath.trim().startsWith(".") && !col.jsonPath.trim().startsWith("{")) {
      errs.push(field.invalid(p.child("jsonPath"), col.jsonPath, "must be a simple json path starting with ."));
    } else {
      try {
        parseJsonPath(col.jsonPath);
      } catch (err) {
        errs.push(field.invalid(p.child("jsonPath"), col.jsonPath, err instanceof Error ? err.message : String(err)));
      }
    }
  });
}

/** The schema node a field path points at, following properties only. */
function schemaAt(schema: unknown, names: readonly string[]): Obj | undefined {
  let node: unknown = schema;
  for (const n of names) {
    if (!isRecord(node) || !isRecord(node.properties) || !isRecord(node.properties[n])) return undefined;
    node = node.properties[n];
  }
  return isRecord(node) ? node : undefined;
}

function validateSelectableFields(list: unknown, schema: unknown, path: FieldPath, errs: FieldError[]): void {
  if (list === undefined) return;
  if (!Array.isArray(list)) {
    errs.push(field.invalid(path, list, "must be a list"));
    return;
  }
  const seen = new Set<string>();
  list.forEach((sf, i) => {
    const p = path.index(i).child("jsonPath");
    const jp = isRecord(sf) ? sf.jsonPath : undefined;
    const names = checkSimplePath(jp, p, errs);
    if (!names) return;
    if (names[0] === "metadata") {
      errs.push(field.invalid(p, jp, "must not point to fields in metadata"));
      return;
    }
    const node = schemaAt(schema, names);
    if (!node) {
      errs.push(field.invalid(p, jp, "is an invalid path: does not refer to a valid field"));
      return;
    }
    if (!["string", "boolean", "integer"].includes(str(node.type))) {
      errs.push(field.invalid(p, jp, "must point to a field of type string, boolean or integer"));
    }
    const key = names.join(".");
    if (seen.has(key)) errs.push(field.duplicate(p, jp));
    seen.add(key);
  });
  if (seen.size > MAX_SELECTABLE_FIELDS) errs.push(field.tooMany(path, seen.size, MAX_SELECTABLE_FIELDS));
}

function validateVersion(v: Obj, p: FieldPath, crdName: string, errs: FieldError[]): void {
  for (const key of ["served", "storage", "deprecated"] as const) {
    if (v[key] !== undefined && typeof v[key] !== "boolean") errs.push(field.invalid(p.child(key), v[key], "must be a boolean"));
  }
  if (v.deprecationWarning !== undefined) {
    const w = v.deprecationWarning;
    const wp = p.child("deprecationWarning");
    if (v.deprecated !== true) errs.push(field.invalid(wp, w, "can only be set for deprecated versions"));
    else if (typeof w !== "string" || w === "") errs.push(field.invalid(wp, w, "must not be an empty string"));
    else if (w.length > 256) errs.push(field.invalid(wp, w, "must be <= 256 characters long"));
    else if (/[\u0000-\u001f\u007f]/.test(w)) errs.push(field.invalid(wp, w, "must only contain printable UTF-8 characters"));
  }
  const sub = v.subresources;
  validateSubresources(sub, p.child("subresources"), errs);
  const statusEnabled = isRecord(sub) && isRecord(sub.status);
  const schemaHolder = v.schema;
  if (schemaHolder !== undefined && !isRecord(schemaHolder)) errs.push(field.invalid(p.child("schema"), schemaHolder, "must be an object"));
  const schema = isRecord(schemaHolder) ? schemaHolder.openAPIV3Schema : undefined;
  const opts: { statusEnabled: boolean; cacheKey?: string } = { statusEnabled };
  if (crdName !== "" && typeof v.name === "string") opts.cacheKey = `${crdName}/${v.name}`;
  errs.push(...validateCRDSchema(schema, p.child("schema", "openAPIV3Schema"), opts));
  validateColumns(v.additionalPrinterColumns, p.child("additionalPrinterColumns"), errs);
  validateSelectableFields(v.selectableFields, schema, p.child("selectableFields"), errs);
}

function validateVersions(versions: unknown, path: FieldPath, crdName: string, errs: FieldError[]): void {
  if (versions === undefined || (Array.isArray(versions) && versions.length === 0)) {
    errs.push(field.required(path, "must have exactly one version marked as storage version"));
    return;
  }
  if (!Array.isArray(versions)) {
    errs.push(field.invalid(path, versions, "must be a list of versions"));
    return;
  }
  const seen = new Set<string>();
  let unique = true;
  let storage = 0;
  const names: unknown[] = [];
  versions.forEach((v, i) => {
    const p = path.index(i);
    if (!isRecord(v)) {
      errs.push(field.invalid(p, v, "must be an object"));
      return;
    }
    names.push(v.name);
    if (v.storage === true) storage++;
    if (typeof v.name !== "string" || v.name === "") errs.push(field.required(p.child("name"), ""));
    else {
      if (seen.has(v.name)) unique = false;
      seen.add(v.name);
      const msgs = isDNS1035Label(v.name);
      if (msgs.length > 0) errs.push(field.invalid(p.child("name"), v.name, msgs.join(",")));
    }
    validateVersion(v, p, crdName, errs);
  });
  if (!unique) errs.push(field.invalid(path, names, "must contain unique version names"));
  if (storage !== 1) errs.push(field.invalid(path, names, "must have exactly one version marked as storage version"));
}

function validateConversion(conv: unknown, path: FieldPath, errs: FieldError[]): void {
  if (conv === undefined) return;
  if (!isRecord(conv)) {
    errs.push(field.invalid(path, conv, "must be an object"));
    return;
  }
  const strategy = conv.strategy;
  if (strategy === undefined || strategy === "") errs.push(field.required(path.child("strategy"), ""));
  else if (strategy === "Webhook") {
    errs.push(
      field.invalid(path.child("strategy"), strategy, "corekube calls no conversion webhooks: every version is served from the stored object, so only None is supported"),
    );
  } else if (strategy !== "None") errs.push(field.notSupported(path.child("strategy"), strategy, ["None", "Webhook"]));
  else if (conv.webhook !== undefined) errs.push(field.forbidden(path.child("webhook"), "should not be set when strategy is not set to Webhook"));
}

/**
 * Static validation of a CRD (after its defaults). Generic ObjectMeta checks are done elsewhere;
 * here metadata.name must be `<spec.names.plural>.<spec.group>`.
 */
export function validateCRD(crd: CustomResourceDefinition | Obj): FieldError[] {
  const errs: FieldError[] = [];
  const obj = crd as Obj;
  const spec = obj.spec;
  if (!isRecord(spec)) return [field.required(fieldPath("spec"), "")];
  const sp = fieldPath("spec");
  const names = isRecord(spec.names) ? spec.names : {};
  const group = str(spec.group);
  const meta = isRecord(obj.metadata) ? obj.metadata : {};
  if (typeof meta.name === "string" && meta.name !== `${str(names.plural)}.${group}`) {
    errs.push(field.invalid(fieldPath("metadata", "name"), meta.name, 'must be spec.names.plural+"."+spec.group'));
  }

  if (spec.group === undefined || spec.group === "") errs.push(field.required(sp.child("group"), ""));
  else if (typeof spec.group !== "string") errs.push(field.invalid(sp.child("group"), spec.group, "must be a string"));
  else if (isDNS1123Subdomain(group).length > 0) errs.push(field.invalid(sp.child("group"), group, isDNS1123Subdomain(group).join(",")));
  else if (group.split(".").length < 2) errs.push(field.invalid(sp.child("group"), group, "should be a domain with at least one dot"));
  else checkApproval(obj, group, errs);

  if (spec.scope === undefined || spec.scope === "") errs.push(field.required(sp.child("scope"), ""));
  else if (spec.scope !== "Cluster" && spec.scope !== "Namespaced") errs.push(field.notSupported(sp.child("scope"), spec.scope, ["Cluster", "Namespaced"]));

  if (spec.preserveUnknownFields === true) {
    errs.push(
      field.invalid(sp.child("preserveUnknownFields"), true, "cannot set to true, set x-kubernetes-preserve-unknown-fields to true in spec.versions[*].schema instead"),
    );
  }

  validateVersions(spec.versions, sp.child("versions"), str(meta.name), errs);

  if (!isRecord(spec.names)) errs.push(field.required(sp.child("names"), ""));
  for (const key of ["plural", "singular", "kind", "listKind"]) {
    if (names[key] === undefined || names[key] === "") errs.push(field.required(sp.child("names", key), ""));
  }
  errs.push(...validateNames(names, sp.child("names")));
  validateConversion(spec.conversion, sp.child("conversion"), errs);
  return errs;
}

/** status.storedVersions: not empty, holds the storage version, and names only versions still listed. */
export function validateStoredVersions(crd: CustomResourceDefinition | Obj): FieldError[] {
  const obj = crd as Obj;
  const path = fieldPath("status", "storedVersions");
  const status = isRecord(obj.status) ? obj.status : {};
  const stored = status.storedVersions;
  if (!Array.isArray(stored) || stored.length === 0) return [field.invalid(path, stored ?? [], "must have at least one stored version")];
  const errs: FieldError[] = [];
  const spec = isRecord(obj.spec) ? obj.spec : {};
  const versions = Array.isArray(spec.versions) ? spec.versions.filter(isRecord) : [];
  for (const v of versions) {
    if (v.storage === true && !stored.includes(v.name)) errs.push(field.invalid(path, stored, `must have the storage version ${str(v.name)}`));
  }
  const listed = new Set(versions.map((v) => v.name));
  stored.forEach((s, i) => {
    if (!listed.has(s)) {
      const v = String(s);
      errs.push(
        field.invalid(
          path.index(i),
          s,
          `missing from spec.versions; ${v} was a storage version and must stay in spec.versions until no object remains stored as ${v} and ${v} is removed from status.storedVersions`,
        ),
      );
    }
  });
  return errs;
}

function immutable(path: FieldPath, now: unknown, before: unknown, errs: FieldError[]): void {
  if (now !== before) errs.push(field.invalid(path, now ?? null, "field is immutable"));
}

/** What an update may not change: the group and plural (they make the name), scope and kind (stored data). */
export function validateCRDUpdate(crd: CustomResourceDefinition | Obj, old: CustomResourceDefinition | Obj): FieldError[] {
  const errs: FieldError[] = [];
  const spec = isRecord((crd as Obj).spec) ? ((crd as Obj).spec as Obj) : {};
  const oldSpec = isRecord((old as Obj).spec) ? ((old as Obj).spec as Obj) : {};
  const names = isRecord(spec.names) ? spec.names : {};
  const oldNames = isRecord(oldSpec.names) ? oldSpec.names : {};
  const sp = fieldPath("spec");
  immutable(sp.child("scope"), spec.scope, oldSpec.scope, errs);
  immutable(sp.child("names", "kind"), names.kind, oldNames.kind, errs);
  immutable(sp.child("group"), spec.group, oldSpec.group, errs);
  immutable(sp.child("names", "plural"), names.plural, oldNames.plural, errs);
  errs.push(...validateStoredVersions(crd));
  return errs;
}

/** A status write: accepted names must be well formed, storedVersions consistent. */
export function validateCRDStatus(crd: CustomResourceDefinition | Obj): FieldError[] {
  const status = isRecord((crd as Obj).status) ? ((crd as Obj).status as Obj) : {};
  return [...validateNames(status.acceptedNames, fieldPath("status", "acceptedNames")), ...validateStoredVersions(crd)];
}

/** The naming facts of a served resource that another CRD's names may clash with. */
export type ServedNames = Pick<ResourceDef, "group" | "resource" | "singular" | "kind" | "listKind" | "shortNames" | "crd">;

/**
 * Names of `crd` already taken in its group by other served resources (built-ins or other CRDs):
 * plural and singular, kind and listKind, short names. Upstream marks such a CRD NamesAccepted=False
 * and does not serve it; callers may reject it or report the conflict.
 */
export function nameConflicts(crd: CustomResourceDefinition, served: readonly ServedNames[]): FieldError[] {
  const errs: FieldError[] = [];
  const spec = crd.spec;
  const names = spec?.names ?? {};
  const self = crd.metadata?.name;
  const others = served.filter((d) => d.group === spec?.group && (d.crd === undefined || d.crd !== self));
  const resources = new Set(others.flatMap((d) => [d.resource, d.singular]));
  const shorts = new Set(others.flatMap((d) => d.shortNames ?? []));
  const kinds = new Set(others.flatMap((d) => [d.kind, d.listKind]));
  const np = fieldPath("spec", "names");
  const taken = (v: string): string => `"${v}" is already in use`;
  if (names.plural && (resources.has(names.plural) || shorts.has(names.plural))) errs.push(field.invalid(np.child("plural"), names.plural, taken(names.plural)));
  if (names.singular && (resources.has(names.singular) || shorts.has(names.singular))) {
    errs.push(field.invalid(np.child("singular"), names.singular, taken(names.singular)));
  }
  (names.shortNames ?? []).forEach((s, i) => {
    if (resources.has(s) || shorts.has(s)) errs.push(field.invalid(np.child("shortNames").index(i), s, taken(s)));
  });
  if (names.kind && kinds.has(names.kind)) errs.push(field.invalid(np.child("kind"), names.kind, taken(names.kind)));
  if (names.listKind && kinds.has(names.listKind)) errs.push(field.invalid(np.child("listKind"), names.listKind, taken(names.listKind)));
  return errs;
}
