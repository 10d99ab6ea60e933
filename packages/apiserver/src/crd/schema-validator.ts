// Book 11.2: validating a custom resource with ajv against its CRD's schema (int-or-string, nullable,
// formats translated), findings reworded as kube-apiserver's field errors ("... in body must be ...").
import { Ajv, type ErrorObject, type ValidateFunction } from "ajv";
import { field, isDNS1123Subdomain, isQualifiedName, isValidLabelValue, type FieldError } from "@corekube/api";
import { knownStringFormat, stringFormats } from "./formats.js";
import { re2ToJs } from "./regex.js";
import type { JSONSchemaProps } from "./types.js";

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);
const isNode = (v: unknown): v is JSONSchemaProps => typeof v === "object" && v !== null && !Array.isArray(v);
const isNodeMap = (v: unknown): v is Record<string, JSONSchemaProps> => isNode(v);
const num = (v: unknown): v is number => typeof v === "number" && Number.isFinite(v);

/** Where a translated schema keeps a pattern as the CRD wrote it (ajv ignores unknown keywords). */
const ORIGINAL_PATTERN = "x-corekube-pattern";

let sharedAjv: Ajv | undefined;

function ajv(): Ajv {
  if (sharedAjv) return sharedAjv;
  const a = new Ajv({
    allErrors: true,
    verbose: true,
    strict: false,
    // Kubernetes patterns are RE2, which accepts escapes such as `\_` that unicode-mode RegExp rejects.
    unicodeRegExp: false,
    addUsedSchema: false,
    validateFormats: true,
    // Large CRD schemas (hundreds of KB) compile two to three times faster without code optimisation.
    code: { optimize: false },
  });
  for (const [name, check] of Object.entries(stringFormats)) a.addFormat(name, { type: "string", validate: check });
  sharedAjv = a;
  return a;
}

/**
 * The CRD schema as plain JSON Schema (draft-07) for ajv: int-or-string becomes integer|string,
 * nullable adds "null", boolean exclusive bounds become numeric ones, unknown formats and Kubernetes
 * extensions are dropped. At a resource root, metadata keeps only its name/generateName rules: the
 * rest of ObjectMeta is checked by the generic metadata validation.
 */
export function toAjvSchema(node: JSONSchemaProps, resourceRoot = false): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (!isNode(node)) return out;
  const nullable = node.nullable === true;
  let types: string[] = [];
  if (node["x-kubernetes-int-or-string"] === true) types = ["integer", "string"];
  else if (typeof node.type === "string" && node.type !== "") types = [node.type];
  if (types.length > 0) {
    if (nullable) types.push("null");
    out.type = types.length === 1 ? types[0] : types;
  }
  if (Array.isArray(node.enum)) out.enum = nullable && !node.enum.includes(null) ? [...node.enum, null] : node.enum;
  if (num(node.minimum)) {
    if (node.exclusiveMinimum === true) out.exclusiveMinimum = node.minimum;
    else out.minimum = node.minimum;
  }
  if (num(node.maximum)) {
    if (node.exclusiveMaximum === true) out.exclusiveMaximum = node.maximum;
    else out.maximum = node.maximum;
  }
  for (const k of ["multipleOf", "minLength", "maxLength", "minItems", "maxItems", "minProperties", "maxProperties"] as const) {
    if (num(node[k])) out[k] = node[k];
  }
  if (typeof node.pattern === "string") {
    // RE2 syntax rewritten for JavaScript; messages quote the pattern as the CRD wrote it.
    let source = node.pattern;
    try {
      source = re2ToJs(node.pattern);
    } catch {
      // left as written: compiling fails with the reason (CRD validation reports it first)
    }
    out.pattern = source;
    if (source !== node.pattern) out[ORIGINAL_PATTERN] = node.pattern;
  }
  if (node.uniqueItems === true) out.uniqueItems = true;
  const format = knownStringFormat(node.format);
  if (format) out.format = format;
  if (Array.isArray(node.required)) out.required = node.required.filter((r) => typeof r === "string");
  if (isNodeMap(node.properties)) {
    const props: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(node.properties)) {
      props[k] = resourceRoot && k === "metadata" ? rootMetadata(v) : toAjvSchema(v);
    }
    out.properties = props;
  }
  if (typeof node.additionalProperties === "boolean") out.additionalProperties = node.additionalProperties;
  else if (isNode(node.additionalProperties)) out.additionalProperties = toAjvSchema(node.additionalProperties);
  if (isNode(node.items)) out.items = toAjvSchema(node.items);
  for (const k of ["allOf", "anyOf", "oneOf"] as const) {
    const list = node[k];
    if (Array.isArray(list)) out[k] = list.map((s) => toAjvSchema(s));
  }
  if (isNode(node.not)) out.not = toAjvSchema(node.not);
  return out;
}

function rootMetadata(node: JSONSchemaProps): Record<string, unknown> {
  const out: Record<string, unknown> = { type: "object" };
  if (!isNode(node) || !isNodeMap(node.properties)) return out;
  const props: Record<string, unknown> = {};
  for (const k of ["name", "generateName"]) {
    const p = node.properties[k];
    if (isRecord(p)) props[k] = toAjvSchema(p);
  }
  out.properties = props;
  return out;
}

function jsonType(v: unknown): string {
  if (v === null || v === undefined) return "null";
  if (Array.isArray(v)) return "array";
  if (typeof v === "number") return Number.isInteger(v) ? "integer" : "number";
  return typeof v;
}

function unescapePointer(seg: string): string {
  return seg.replaceAll("~1", "/").replaceAll("~0", "~");
}

/** "/spec/items/0/name" → "spec.items[0].name", using the data to tell indices from keys. */
function pathOf(pointer: string, data: unknown): string {
  if (pointer === "") return "";
  let out = "";
  let cur: unknown = data;
  for (const raw of pointer.split("/").slice(1)) {
    const seg = unescapePointer(raw);
    if (Array.isArray(cur)) {
      out += `[${seg}]`;
      cur = cur[Number(seg)];
    } else {
      out = out === "" ? seg : `${out}.${seg}`;
      cur = isRecord(cur) ? cur[seg] : undefined;
    }
  }
  return out;
}

function join(a: string, b: string): string {
  if (a === "") return b;
  if (b === "") return a;
  return `${a}.${b}`;
}

function showEnumValue(v: unknown): string {
  return typeof v === "string" ? v : (JSON.stringify(v) ?? String(v));
}

function countOf(v: unknown): number {
  if (Array.isArray(v)) return v.length;
  if (isRecord(v)) return Object.keys(v).length;
  return -1;
}

/** One ajv finding as the field error kube-apiserver would report for it. */
function translateError(e: ErrorObject, data: unknown, prefix: string): FieldError {
  const rel = pathOf(e.instancePath, data);
  const params = e.params as Record<string, unknown>;
  const value = e.data;
  const inBody = (name: string): string => (name === "" ? "in body" : `${name} in body`);
  const at = join(prefix, rel);
  const limit = params.limit;
  switch (e.keyword) {
    case "required": {
      const name = join(rel, String(params.missingProperty));
      return field.required(join(prefix, name), "");
    }
    case "type": {
      const declared = (e.parentSchema as Record<string, unknown> | undefined)?.type;
      const expected = (Array.isArray(declared) ? declared : [declared]).filter((t) => t !== "null" && t !== undefined);
      const actual = jsonType(value);
      return field.typeInvalid(at, actual, `${inBody(rel)} must be of type ${expected.join(",")}: ${JSON.stringify(actual)}`);
    }
    case "format":
      return field.typeInvalid(at, value, `${inBody(rel)} must be of type ${String(params.format)}: ${JSON.stringify(value)}`);
    case "enum": {
      const allowed = Array.isArray(params.allowedValues) ? params.allowedValues : [];
      return field.notSupported(at, value, allowed.map(showEnumValue));
    }
    case "maxLength":
      return field.tooLong(at, value, Number(limit));
    case "maxItems":
    case "maxProperties":
      return field.tooMany(at, countOf(value), Number(limit));
    case "minLength":
      return field.invalid(at, value, `${inBody(rel)} should be at least ${String(limit)} chars long`);
    case "minItems":
      return field.invalid(at, countOf(value), `${inBody(rel)} should have at least ${String(limit)} items`);
    case "minProperties":
      return field.invalid(at, countOf(value), `${inBody(rel)} should have at least ${String(limit)} properties`);
    case "minimum":
      return field.invalid(at, value, `${inBody(rel)} should be greater than or equal to ${String(limit)}`);
    case "exclusiveMinimum":
      return field.invalid(at, value, `${inBody(rel)} should be greater than ${String(limit)}`);
    case "maximum":
      return field.invalid(at, value, `${inBody(rel)} should be less than or equal to ${String(limit)}`);
    case "exclusiveMaximum":
      return field.invalid(at, value, `${inBody(rel)} should be less than ${String(limit)}`);
    case "multipleOf":
      return field.invalid(at, value, `${inBody(rel)} should be a multiple of ${String(params.multipleOf)}`);
    case "pattern": {
      const written = (e.parentSchema as Record<string, unknown> | undefined)?.[ORIGINAL_PATTERN] ?? params.pattern;
      return field.invalid(at, value, `${inBody(rel)} should match '${String(written)}'`);
    }
    case "uniqueItems":
      return field.invalid(at, value, `${inBody(rel)} shouldn't contain duplicates`);
    case "additionalProperties": {
      const key = String(params.additionalProperty);
      return field.invalid(at, key, `${join(rel, key)} in body is a forbidden property`);
    }
    case "anyOf":
      return field.invalid(at, value, `${inBody(rel)} must validate at least one schema (anyOf)`);
    case "oneOf":
      return field.invalid(at, value, `${inBody(rel)} must validate one and only one schema (oneOf)`);
    case "not":
      return field.invalid(at, value, `${inBody(rel)} must not validate the schema (not)`);
    default:
      return field.invalid(at, value, `${inBody(rel)} ${e.message ?? "is invalid"}`);
  }
}

/** Drop the noise ajv adds: branch errors under a failed anyOf/oneOf/not, and follow-ups of a type error. */
function significant(errors: readonly ErrorObject[]): ErrorObject[] {
  const combinators = errors.filter((e) => e.keyword === "anyOf" || e.keyword === "oneOf" || e.keyword === "not");
  const typeErrorsAt = new Set(errors.filter((e) => e.keyword === "type").map((e) => e.instancePath));
  return errors.filter((e) => {
    if (combinators.some((c) => c !== e && e.schemaPath.startsWith(`${c.schemaPath}/`))) return false;
    if (e.keyword !== "type" && typeErrorsAt.has(e.instancePath)) return false;
    return true;
  });
}

function checkEmbeddedMeta(meta: unknown, at: string, errs: FieldError[]): void {
  if (!isRecord(meta)) {
    errs.push(field.invalid(`${at}.metadata`, meta, "must be an object"));
    return;
  }
  const name = meta.name;
  if (name !== undefined && (typeof name !== "string" || (name !== "" && isDNS1123Subdomain(name).length > 0))) {
    const detail = typeof name === "string" ? isDNS1123Subdomain(name).join(", ") : "must be a string";
    errs.push(field.invalid(`${at}.metadata.name`, name, detail));
  }
  for (const kind of ["labels", "annotations"] as const) {
    const m = meta[kind];
    if (m === undefined) continue;
    if (!isRecord(m)) {
      errs.push(field.invalid(`${at}.metadata.${kind}`, m, "must be a map of strings"));
      continue;
    }
    for (const [k, v] of Object.entries(m)) {
      for (const msg of isQualifiedName(k)) errs.push(field.invalid(`${at}.metadata.${kind}`, k, msg));
      if (typeof v !== "string") errs.push(field.invalid(`${at}.metadata.${kind}[${k}]`, v, "must be a string"));
      else if (kind === "labels") for (const msg of isValidLabelValue(v)) errs.push(field.invalid(`${at}.metadata.${kind}`, v, msg));
    }
  }
}

/** An embedded object (x-kubernetes-embedded-resource) must name its apiVersion and kind. */
function checkEmbedded(data: Record<string, unknown>, at: string, errs: FieldError[]): void {
  for (const key of ["apiVersion", "kind"] as const) {
    const p = join(at, key);
    if (!Object.hasOwn(data, key)) {
      errs.push(field.required(p, "must not be empty"));
      continue;
    }
    const v = data[key];
    if (typeof v !== "string") errs.push(field.invalid(p, v, "must be a string"));
    else if (v === "") errs.push(field.invalid(p, v, "must not be empty"));
    else if (key === "apiVersion" && v.split("/").length > 2) errs.push(field.invalid(p, v, `unexpected GroupVersion string: ${v}`));
  }
  if (Object.hasOwn(data, "metadata")) checkEmbeddedMeta(data.metadata, at, errs);
}

function walkEmbedded(data: unknown, node: JSONSchemaProps | undefined, at: string, errs: FieldError[]): void {
  if (!isNode(node)) return;
  if (Array.isArray(data)) {
    if (isNode(node.items)) data.forEach((v, i) => walkEmbedded(v, node.items, `${at}[${i}]`, errs));
    return;
  }
  if (!isRecord(data)) return;
  if (node["x-kubernetes-embedded-resource"] === true) checkEmbedded(data, at, errs);
  for (const [k, v] of Object.entries(data)) {
    const prop = isNodeMap(node.properties) ? node.properties[k] : undefined;
    if (prop) walkEmbedded(v, prop, join(at, k), errs);
    else if (isNode(node.additionalProperties)) walkEmbedded(v, node.additionalProperties, join(at, k), errs);
  }
}

export interface SchemaValidator {
  /**
   * The field errors of `value` under the schema. `prefix` is the field path the value sits at
   * ("" for a whole object); messages name the path inside the value, as kube-openapi does.
   */
  validate(value: unknown, prefix?: string): FieldError[];
}

/**
 * Compile a CRD schema (or a node of one) for validation. `resourceRoot` marks the root of a custom
 * resource: metadata keeps only name/generateName rules there. Throws when ajv cannot compile it.
 */
export function compileSchema(schema: JSONSchemaProps, opts: { resourceRoot?: boolean } = {}): SchemaValidator {
  const translated = toAjvSchema(schema, opts.resourceRoot ?? false);
  let compiled: ValidateFunction;
  try {
    compiled = ajv().compile(translated);
  } finally {
    // The function keeps what it needs; dropping ajv's own reference lets replaced schemas be collected.
    ajv().removeSchema(translated);
  }
  return {
    validate(value: unknown, prefix = ""): FieldError[] {
      const errs: FieldError[] = [];
      if (!compiled(value)) {
        for (const e of significant(compiled.errors ?? [])) errs.push(translateError(e, value, prefix));
      }
      walkEmbedded(value, schema, prefix, errs);
      return errs;
    },
  };
}

interface CacheEntry {
  source: string;
  validator: SchemaValidator;
}

const cache = new Map<string, CacheEntry>();

/**
 * The validator for one CRD version, compiled once and reused while the schema stays the same.
 * `key` names the CRD version (e.g. "crontabs.stable.example.com/v1").
 */
export function cachedValidator(key: string, schema: JSONSchemaProps): SchemaValidator {
  const source = JSON.stringify(schema);
  const hit = cache.get(key);
  if (hit && hit.source === source) return hit.validator;
  const validator = compileSchema(schema, { resourceRoot: true });
  cache.set(key, { source, validator });
  return validator;
}

/** Forget the compiled validators of a CRD (call when it is deleted). */
export function forgetValidators(crdName: string): void {
  for (const key of [...cache.keys()]) if (key.startsWith(`${crdName}/`)) cache.delete(key);
}
