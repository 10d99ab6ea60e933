// Book 1.6.1 and 11.2: the metadata rules every object follows — names (DNS labels, subdomains, path
// segments), labels, annotations, owner references, finalizers — and what an update may not change.
import {
  field,
  isDNS1123Subdomain,
  isQualifiedName,
  isValidLabelValue,
  type FieldError,
  type LabelSelector,
} from "@corekube/api";
import type { KubeObject, ResourceDef } from "../registry/types.js";
import { arr, isObj, num, s, semanticEqual, str } from "./json.js";

export { isDNS1123Subdomain, isQualifiedName, isValidLabelValue };

export const DNS1123_LABEL_MAX_LENGTH = 63;
/** Kubernetes caps the combined size of an object's annotation keys and values at 256 KiB. */
export const TOTAL_ANNOTATION_SIZE_LIMIT = 256 * 1024;

const DNS1123_LABEL_FMT = "[a-z0-9]([-a-z0-9]*[a-z0-9])?";
const DNS1123_LABEL_RE = new RegExp(`^${DNS1123_LABEL_FMT}$`);
const DNS1035_LABEL_FMT = "[a-z]([-a-z0-9]*[a-z0-9])?";
const DNS1035_LABEL_RE = new RegExp(`^${DNS1035_LABEL_FMT}$`);

/** Kubernetes' shape for a pattern failure: the rule, examples, then the regular expression. */
function patternError(rule: string, pattern: string, ...examples: string[]): string {
  const shown = examples.map((e) => `'${e}', `).join(" or ");
  return `${rule} (e.g. ${shown}regex used for validation is '${pattern}')`;
}

/** Problems with `value` as an RFC 1123 label (lower case, no dots, at most 63 characters). */
export function isDNS1123Label(value: string): string[] {
  const errs: string[] = [];
  if (value.length > DNS1123_LABEL_MAX_LENGTH) errs.push(`must be no more than ${DNS1123_LABEL_MAX_LENGTH} characters`);
  if (!DNS1123_LABEL_RE.test(value)) {
    if (isDNS1123Subdomain(value).length === 0) errs.push("must not contain dots");
    else
      errs.push(
        patternError(
          "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character",
          DNS1123_LABEL_FMT,
          "my-name",
          "123-abc",
        ),
      );
  }
  return errs;
}

/** Problems with `value` as an RFC 1035 label: a DNS label that starts with a letter (Service names). */
export function isDNS1035Label(value: string): string[] {
  const errs: string[] = [];
  if (value.length > DNS1123_LABEL_MAX_LENGTH) errs.push(`must be no more than ${DNS1123_LABEL_MAX_LENGTH} characters`);
  if (!DNS1035_LABEL_RE.test(value)) {
    errs.push(
      patternError(
        "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character",
        DNS1035_LABEL_FMT,
        "my-name",
        "abc-123",
      ),
    );
  }
  return errs;
}

/** Problems with a name used as one URL path segment (RBAC objects): no "/", no "%", not "." or "..". */
export function isValidPathSegmentName(name: string, prefix = false): string[] {
  if (!prefix && (name === "." || name === "..")) return [`may not be '${name}'`];
  const errs: string[] = [];
  for (const bad of ["/", "%"]) if (name.includes(bad)) errs.push(`may not contain '${bad}'`);
  return errs;
}

/** A generateName prefix may end in "-": check it as if a generated suffix followed. */
function asPrefix(name: string): string {
  return name.length > 1 && name.endsWith("-") ? `${name.slice(0, -1)}a` : name;
}

export type NameRule = NonNullable<ResourceDef["nameValidation"]>;

/** Problems with `name` under a resource's naming rule; `prefix` for metadata.generateName. */
export function validateName(name: string, rule: NameRule = "subdomain", prefix = false): string[] {
  switch (rule) {
    case "label":
      return isDNS1123Label(prefix ? asPrefix(name) : name);
    case "path-segment":
      return isValidPathSegmentName(name, prefix);
    default:
      return isDNS1123Subdomain(prefix ? asPrefix(name) : name);
  }
}

// ---------------------------------------------------------------------------------------------
// Labels, annotations, selectors.

/** Each key a qualified name, each value a label value; errors point at the map as Kubernetes does. */
export function validateLabels(labels: unknown, path: string): FieldError[] {
  if (labels === undefined || labels === null) return [];
  if (!isObj(labels)) return [field.typeInvalid(path, labels, "must be a map of string keys to string values")];
  const errs: FieldError[] = [];
  for (const [k, v] of Object.entries(labels)) {
    for (const msg of isQualifiedName(k)) errs.push(field.invalid(path, k, msg));
    if (typeof v !== "string") {
      errs.push(field.typeInvalid(`${path}[${k}]`, v, "must be a string"));
      continue;
    }
    for (const msg of isValidLabelValue(v)) errs.push(field.invalid(path, v, msg));
  }
  return errs;
}

function byteLength(v: string): number {
  return Buffer.byteLength(v, "utf8");
}

/** Keys must be qualified names (case-insensitively); keys and values together at most 256 KiB. */
export function validateAnnotations(annotations: unknown, path: string): FieldError[] {
  if (annotations === undefined || annotations === null) return [];
  if (!isObj(annotations)) return [field.typeInvalid(path, annotations, "must be a map of string keys to string values")];
  const errs: FieldError[] = [];
  let size = 0;
  for (const [k, v] of Object.entries(annotations)) {
    for (const msg of isQualifiedName(k.toLowerCase())) errs.push(field.invalid(path, k, msg));
    if (typeof v !== "string") errs.push(field.typeInvalid(`${path}[${k}]`, v, "must be a string"));
    size += byteLength(k) + (typeof v === "string" ? byteLength(v) : 0);
  }
  if (size > TOTAL_ANNOTATION_SIZE_LIMIT) errs.push(field.tooLong(path, "", TOTAL_ANNOTATION_SIZE_LIMIT));
  return errs;
}

const SELECTOR_OPERATORS = ["In", "NotIn", "Exists", "DoesNotExist"];

/** A metav1.LabelSelector: valid matchLabels and well-formed matchExpressions. */
export function validateLabelSelector(selector: unknown, path: string): FieldError[] {
  if (selector === undefined || selector === null) return [];
  if (!isObj(selector)) return [field.typeInvalid(path, selector, "must be a label selector object")];
  const errs = validateLabels(selector.matchLabels, `${path}.matchLabels`);
  arr(selector.matchExpressions).forEach((expr, i) => {
    const p = `${path}.matchExpressions[${i}]`;
    if (!isObj(expr)) {
      errs.push(field.typeInvalid(p, expr, "must be an object"));
      return;
    }
    const values = arr(expr.values);
    const op = expr.operator;
    if (op === "In" || op === "NotIn") {
      if (values.length === 0) errs.push(field.required(`${p}.values`, "must be specified when `operator` is 'In' or 'NotIn'"));
    } else if (op === "Exists" || op === "DoesNotExist") {
      if (values.length > 0) errs.push(field.forbidden(`${p}.values`, "may not be specified when `operator` is 'Exists' or 'DoesNotExist'"));
    } else {
      errs.push(field.invalid(`${p}.operator`, op, `not a valid selector operator (one of ${SELECTOR_OPERATORS.join(", ")})`));
    }
    for (const msg of isQualifiedName(s(expr.key))) errs.push(field.invalid(`${p}.key`, expr.key, msg));
    values.forEach((v, j) => {
      if (typeof v !== "string") errs.push(field.typeInvalid(`${p}.values[${j}]`, v, "must be a string"));
      else for (const msg of isValidLabelValue(v)) errs.push(field.invalid(`${p}.values[${j}]`, v, msg));
    });
  });
  return errs;
}

/** The selector as the LabelSelector type, when it has that shape. */
export function asLabelSelector(v: unknown): LabelSelector | undefined {
  return isObj(v) ? (v as LabelSelector) : undefined;
}

// ---------------------------------------------------------------------------------------------
// Owner references, finalizers, managed fields.

export function validateOwnerReferences(refs: unknown, path: string): FieldError[] {
  if (refs === undefined || refs === null) return [];
  if (!Array.isArray(refs)) return [field.typeInvalid(path, refs, "must be a list of owner references")];
  const errs: FieldError[] = [];
  let firstController = "";
  for (const ref of refs) {
    if (!isObj(ref)) {
      errs.push(field.typeInvalid(path, ref, "must be an owner reference object"));
      continue;
    }
    const apiVersion = s(ref.apiVersion);
    const version = apiVersion.includes("/") ? apiVersion.slice(apiVersion.indexOf("/") + 1) : apiVersion;
    if (version === "") errs.push(field.invalid(`${path}.apiVersion`, apiVersion, "version must not be empty"));
    if (s(ref.kind) === "") errs.push(field.invalid(`${path}.kind`, s(ref.kind), "kind must not be empty"));
    if (s(ref.name) === "") errs.push(field.invalid(`${path}.name`, s(ref.name), "name must not be empty"));
    if (s(ref.uid) === "") errs.push(field.invalid(`${path}.uid`, s(ref.uid), "uid must not be empty"));
    if (apiVersion === "v1" && ref.kind === "Event") errs.push(field.invalid(path, ref, "/v1, Kind=Event is disallowed from being an owner"));
    if (ref.controller === true) {
      const who = `${s(ref.kind)}/${s(ref.name)}`;
      if (firstController === "") firstController = who;
      else
        errs.push(
          field.invalid(path, refs, `Only one reference can have Controller set to true. Found "true" in references for ${firstController} and ${who}`),
        );
    }
  }
  return errs;
}

/** Finalizers the API server itself understands without a domain prefix. */
export const STANDARD_FINALIZERS = new Set(["kubernetes", "orphan", "foregroundDeletion"]);

export function validateFinalizers(finalizers: unknown, path: string): FieldError[] {
  if (finalizers === undefined || finalizers === null) return [];
  if (!Array.isArray(finalizers)) return [field.typeInvalid(path, finalizers, "must be a list of strings")];
  const errs: FieldError[] = [];
  finalizers.forEach((f, i) => {
    if (typeof f !== "string") {
      errs.push(field.typeInvalid(`${path}[${i}]`, f, "must be a string"));
      return;
    }
    for (const msg of isQualifiedName(f)) errs.push(field.invalid(path, f, msg));
    if (!f.includes("/") && !STANDARD_FINALIZERS.has(f)) {
      errs.push(field.invalid(`${path}[${i}]`, f, "name is neither a standard finalizer name nor is it fully qualified"));
    }
  });
  if (finalizers.includes("orphan") && finalizers.includes("foregroundDeletion")) {
    errs.push(field.invalid(path, finalizers, "finalizer orphan and foregroundDeletion cannot be both set"));
  }
  return errs;
}

function validateManagedFields(entries: unknown, path: string): FieldError[] {
  if (entries === undefined || entries === null) return [];
  if (!Array.isArray(entries)) return [field.typeInvalid(path, entries, "must be a list of managed fields entries")];
  const errs: FieldError[] = [];
  entries.forEach((e, i) => {
    const p = `${path}[${i}]`;
    if (!isObj(e)) {
      errs.push(field.typeInvalid(p, e, "must be an object"));
      return;
    }
    if (e.operation !== "Apply" && e.operation !== "Update") errs.push(field.invalid(`${p}.operation`, e.operation ?? "", "must be `Apply` or `Update`"));
    if (e.fieldsType !== undefined && e.fieldsType !== "FieldsV1") errs.push(field.invalid(`${p}.fieldsType`, e.fieldsType, "must be `FieldsV1`"));
    if (typeof e.manager === "string" && e.manager.length > 128) errs.push(field.tooLong(`${p}.manager`, "", 128));
  });
  return errs;
}

// ---------------------------------------------------------------------------------------------
// Whole metadata.

export interface MetaOptions {
  /**
   * true on create: the name (or generateName) and namespace rules apply as well. On update the
   * name cannot change, so only labels, annotations, owner references, finalizers and managed
   * fields are checked again.
   */
  create: boolean;
}

/** metadata's generic rules for an object of `def`'s kind. */
export function validateObjectMeta(obj: KubeObject, def: ResourceDef, opts: MetaOptions): FieldError[] {
  const meta = isObj(obj.metadata) ? obj.metadata : {};
  const errs: FieldError[] = [];
  if (opts.create) {
    const name = str(meta.name) ?? "";
    const generateName = str(meta.generateName) ?? "";
    if (name === "" && generateName === "") errs.push(field.required("metadata.name", "name or generateName is required"));
    if (name !== "") for (const msg of validateName(name, def.nameValidation)) errs.push(field.invalid("metadata.name", name, msg));
    if (generateName !== "") {
      for (const msg of validateName(generateName, def.nameValidation, true)) errs.push(field.invalid("metadata.generateName", generateName, msg));
    }
    const ns = str(meta.namespace) ?? "";
    if (def.namespaced) {
      if (ns === "") errs.push(field.required("metadata.namespace", ""));
      else for (const msg of isDNS1123Label(ns)) errs.push(field.invalid("metadata.namespace", ns, msg));
    } else if (ns !== "") {
      errs.push(field.forbidden("metadata.namespace", "not allowed on this type"));
    }
  }
  const generation = num(meta.generation);
  if (generation !== undefined && generation < 0) errs.push(field.invalid("metadata.generation", generation, "must be greater than or equal to 0"));
  errs.push(...validateLabels(meta.labels, "metadata.labels"));
  errs.push(...validateAnnotations(meta.annotations, "metadata.annotations"));
  errs.push(...validateOwnerReferences(meta.ownerReferences, "metadata.ownerReferences"));
  errs.push(...validateFinalizers(meta.finalizers, "metadata.finalizers"));
  errs.push(...validateManagedFields(meta.managedFields, "metadata.managedFields"));
  return errs;
}

/** `path: Invalid value: <new>: field is immutable` when the value changed. */
export function validateImmutable(next: unknown, old: unknown, path: string): FieldError[] {
  return semanticEqual(next, old) ? [] : [field.invalid(path, next ?? null, "field is immutable")];
}

/**
 * What an update may not do to metadata: rename, move namespace, change uid, creation or deletion
 * timestamps, or lower the generation. (Adding finalizers to an object being deleted is refused
 * by the store itself.)
 */
export function validateObjectMetaUpdate(next: KubeObject, old: KubeObject): FieldError[] {
  const m = isObj(next.metadata) ? next.metadata : {};
  const o = isObj(old.metadata) ? old.metadata : {};
  const errs: FieldError[] = [];
  const ng = num(m.generation) ?? 0;
  const og = num(o.generation) ?? 0;
  if (ng < og) errs.push(field.invalid("metadata.generation", ng, "must not be decremented"));
  for (const key of ["name", "namespace", "uid", "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds"]) {
    errs.push(...validateImmutable(m[key], o[key], `metadata.${key}`));
  }
  return errs;
}
