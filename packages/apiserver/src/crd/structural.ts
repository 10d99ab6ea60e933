// Book 11.2: what makes a CRD schema acceptable — structural (a type at every level, value validations
// add no shape), x-kubernetes-* extensions used consistently, defaults that validate.
import { field, type FieldError, type FieldPath } from "@corekube/api";
import { applyDefaults } from "./defaulting.js";
import { pruneUnknownFields } from "./prune.js";
import { patternProblem } from "./regex.js";
import { cachedValidator, compileSchema } from "./schema-validator.js";
import type { JSONSchemaProps } from "./types.js";

type Node = Record<string, unknown>;
const isRecord = (v: unknown): v is Node => typeof v === "object" && v !== null && !Array.isArray(v);

const OPENAPI_TYPES = ["array", "boolean", "integer", "number", "object", "string"];
const EXTENSIONS = [
  "x-kubernetes-preserve-unknown-fields",
  "x-kubernetes-embedded-resource",
  "x-kubernetes-int-or-string",
  "x-kubernetes-list-type",
  "x-kubernetes-list-map-keys",
  "x-kubernetes-map-type",
  "x-kubernetes-validations",
];

/** Every keyword apiextensions' JSONSchemaProps has; anything else is dropped when a CRD is stored. */
const KNOWN_KEYWORDS = new Set([
  "id",
  "$schema",
  "$ref",
  "description",
  "type",
  "format",
  "title",
  "default",
  "maximum",
  "exclusiveMaximum",
  "minimum",
  "exclusiveMinimum",
  "maxLength",
  "minLength",
  "pattern",
  "maxItems",
  "minItems",
  "uniqueItems",
  "multipleOf",
  "enum",
  "maxProperties",
  "minProperties",
  "required",
  "items",
  "allOf",
  "oneOf",
  "anyOf",
  "not",
  "properties",
  "additionalProperties",
  "patternProperties",
  "dependencies",
  "additionalItems",
  "definitions",
  "externalDocs",
  "example",
  "nullable",
  ...EXTENSIONS,
]);

/** Root keywords allowed when the status subresource is on (so status can be cut out as properties.status). */
const ROOT_WITH_STATUS = new Set([
  "description",
  "type",
  "format",
  "title",
  "maximum",
  "exclusiveMaximum",
  "minimum",
  "exclusiveMinimum",
  "maxLength",
  "minLength",
  "pattern",
  "maxItems",
  "minItems",
  "uniqueItems",
  "multipleOf",
  "required",
  "items",
  "properties",
  "externalDocs",
  "example",
  "x-kubernetes-preserve-unknown-fields",
  "x-kubernetes-validations",
]);

const NUMBER_KEYWORDS = ["maximum", "minimum", "multipleOf"];
const COUNT_KEYWORDS = ["maxLength", "minLength", "maxItems", "minItems", "maxProperties", "minProperties"];
const BOOL_KEYWORDS = [
  "exclusiveMaximum",
  "exclusiveMinimum",
  "uniqueItems",
  "nullable",
  "x-kubernetes-preserve-unknown-fields",
  "x-kubernetes-embedded-resource",
  "x-kubernetes-int-or-string",
];
const STRING_KEYWORDS = ["description", "type", "format", "title", "pattern", "x-kubernetes-list-type", "x-kubernetes-map-type"];

type Level = "root" | "item" | "field";

interface Ctx {
  errs: FieldError[];
  /** Why defaults are forbidden here (top-level metadata, apiVersion, kind), if they are. */
  noDefaults?: string;
  /** Inside the schema of a resource's own metadata/apiVersion/kind. */
  insideResourceMeta: boolean;
}

/** Type checks every keyword shares, wherever the node sits. */
function checkKeywordTypes(n: Node, path: FieldPath, errs: FieldError[]): void {
  for (const k of NUMBER_KEYWORDS) {
    if (n[k] !== undefined && (typeof n[k] !== "number" || !Number.isFinite(n[k]))) errs.push(field.invalid(path.child(k), n[k], "must be a number"));
  }
  if (typeof n.multipleOf === "number" && n.multipleOf <= 0) errs.push(field.invalid(path.child("multipleOf"), n.multipleOf, "must be greater than 0"));
  for (const k of COUNT_KEYWORDS) {
    const v = n[k];
    if (v !== undefined && (typeof v !== "number" || !Number.isInteger(v) || v < 0)) {
      errs.push(field.invalid(path.child(k), v, "must be a non-negative integer"));
    }
  }
  for (const k of BOOL_KEYWORDS) {
    if (n[k] !== undefined && typeof n[k] !== "boolean") errs.push(field.invalid(path.child(k), n[k], "must be a boolean"));
  }
  for (const k of STRING_KEYWORDS) {
    if (n[k] !== undefined && typeof n[k] !== "string") errs.push(field.invalid(path.child(k), n[k], "must be a string"));
  }
  if (n.required !== undefined && (!Array.isArray(n.required) || n.required.some((r) => typeof r !== "string"))) {
    errs.push(field.invalid(path.child("required"), n.required, "must be a list of property names"));
  }
  if (n.enum !== undefined && !Array.isArray(n.enum)) errs.push(field.invalid(path.child("enum"), n.enum, "must be a list"));
  if (n.properties !== undefined && !isRecord(n.properties)) errs.push(field.invalid(path.child("properties"), n.properties, "must be a map of schemas"));
  if (n.additionalProperties !== undefined && typeof n.additionalProperties !== "boolean" && !isRecord(n.additionalProperties)) {
    errs.push(field.invalid(path.child("additionalProperties"), n.additionalProperties, "must be a schema or a boolean"));
  }
  if (Array.isArray(n.items)) errs.push(field.forbidden(path.child("items"), "items must be a schema object and not an array"));
  else if (n.items !== undefined && !isRecord(n.items)) errs.push(field.invalid(path.child("items"), n.items, "must be a schema"));
  for (const k of ["allOf", "anyOf", "oneOf"]) {
    if (n[k] !== undefined && (!Array.isArray(n[k]) || (n[k] as unknown[]).some((s) => !isRecord(s)))) {
      errs.push(field.invalid(path.child(k), n[k], "must be a list of schemas"));
    }
  }
  if (n.not !== undefined && !isRecord(n.not)) errs.push(field.invalid(path.child("not"), n.not, "must be a schema"));
  const keys = n["x-kubernetes-list-map-keys"];
  if (keys !== undefined && (!Array.isArray(keys) || keys.some((k) => typeof k !== "string"))) {
    errs.push(field.invalid(path.child("x-kubernetes-list-map-keys"), keys, "must be a list of property names"));
  }
  if (n["x-kubernetes-validations"] !== undefined && !Array.isArray(n["x-kubernetes-validations"])) {
    errs.push(field.invalid(path.child("x-kubernetes-validations"), n["x-kubernetes-validations"], "must be a list of rules"));
  }
}

/** Keywords apiextensions never supports, anywhere in a schema. */
function checkUnsupported(n: Node, path: FieldPath, errs: FieldError[]): void {
  if (n.id !== undefined && n.id !== "") errs.push(field.forbidden(path.child("id"), "id is not supported"));
  if (n.$ref !== undefined) errs.push(field.forbidden(path.child("$ref"), "$ref is not supported"));
  if (n.additionalItems !== undefined) errs.push(field.forbidden(path.child("additionalItems"), "additionalItems is not supported"));
  if (n.patternProperties !== undefined) errs.push(field.forbidden(path.child("patternProperties"), "patternProperties is not supported"));
  if (n.definitions !== undefined) errs.push(field.forbidden(path.child("definitions"), "definitions is not supported"));
  if (n.dependencies !== undefined) errs.push(field.forbidden(path.child("dependencies"), "dependencies is not supported"));
  if (n.uniqueItems === true) {
    errs.push(field.forbidden(path.child("uniqueItems"), "uniqueItems cannot be set to true since the runtime complexity becomes quadratic"));
  }
  if (n.type === "null") errs.push(field.forbidden(path.child("type"), "type cannot be set to null, use nullable as an alternative"));
  else if (typeof n.type === "string" && n.type !== "" && !OPENAPI_TYPES.includes(n.type)) {
    errs.push(field.notSupported(path.child("type"), n.type, OPENAPI_TYPES));
  }
  if (typeof n.pattern === "string") {
    const problem = patternProblem(n.pattern);
    if (problem) errs.push(field.invalid(path.child("pattern"), n.pattern, `must be a valid regular expression, but isn't: ${problem}`));
  }
  if (n["x-kubernetes-preserve-unknown-fields"] === false) {
    errs.push(field.invalid(path.child("x-kubernetes-preserve-unknown-fields"), false, "must be true or undefined"));
  }
  const rules = n["x-kubernetes-validations"];
  if (Array.isArray(rules)) {
    rules.forEach((r, i) => {
      const rp = path.child("x-kubernetes-validations").index(i);
      if (!isRecord(r) || typeof r.rule !== "string" || r.rule.trim() === "") errs.push(field.required(rp.child("rule"), "rule is not specified"));
    });
  }
}

function isTypeOnly(s: unknown, type: string): boolean {
  return isRecord(s) && Object.keys(s).length === 1 && s.type === type;
}

/** anyOf: [{type: integer}, {type: string}] — the one place a value validation may name types. */
function isIntOrStringAnyOf(list: unknown): boolean {
  return Array.isArray(list) && list.length === 2 && isTypeOnly(list[0], "integer") && isTypeOnly(list[1], "string");
}

/** A node under allOf/anyOf/oneOf/not: it may constrain values but not add shape. */
function checkNested(v: unknown, path: FieldPath, errs: FieldError[], skipAnyOf = false): void {
  if (!isRecord(v)) return; // reported by checkKeywordTypes of the parent
  checkKeywordTypes(v, path, errs);
  checkUnsupported(v, path, errs);
  const mustBeEmpty = (k: string, detail: string): void => {
    if (v[k] !== undefined) errs.push(field.forbidden(path.child(k), detail));
  };
  mustBeEmpty("type", "must be empty to be structural");
  mustBeEmpty("additionalProperties", "must be undefined to be structural");
  mustBeEmpty("default", "must be undefined to be structural");
  mustBeEmpty("title", "must be empty to be structural");
  mustBeEmpty("description", "must be empty to be structural");
  if (v.nullable === true) errs.push(field.forbidden(path.child("nullable"), "must be false to be structural"));
  mustBeEmpty("externalDocs", "must be undefined to be structural");
  for (const ext of EXTENSIONS) {
    const val = v[ext];
    if (val === undefined || val === false) continue;
    errs.push(field.forbidden(path.child(ext), val === true ? "must be false to be structural" : "must be undefined to be structural"));
  }
  if (isRecord(v.properties) && Object.hasOwn(v.properties, "metadata")) {
    errs.push(field.forbidden(path.child("properties").key("metadata"), "must not be specified in a nested context"));
  }
  if (isRecord(v.properties)) for (const [k, p] of Object.entries(v.properties)) checkNested(p, path.child("properties").key(k), errs);
  if (isRecord(v.items)) checkNested(v.items, path.child("items"), errs);
  if (Array.isArray(v.allOf)) v.allOf.forEach((s, i) => checkNested(s, path.child("allOf").index(i), errs, i === 0 && isIntOrStringAnyOf(isRecord(s) ? s.anyOf : undefined)));
  if (Array.isArray(v.anyOf) && !(skipAnyOf && isIntOrStringAnyOf(v.anyOf))) v.anyOf.forEach((s, i) => checkNested(s, path.child("anyOf").index(i), errs));
  if (Array.isArray(v.oneOf)) v.oneOf.forEach((s, i) => checkNested(s, path.child("oneOf").index(i), errs));
  if (isRecord(v.not)) checkNested(v.not, path.child("not"), errs);
}

/** Everything a value validation mentions must also exist in the structural part of the schema. */
function checkCompleteness(v: unknown, s: unknown, sPath: FieldPath, vPath: FieldPath, errs: FieldError[]): void {
  if (!isRecord(v)) return;
  if (!isRecord(s)) {
    errs.push(field.required(sPath, `because it is defined in ${vPath.toString()}`));
    return;
  }
  if (isRecord(v.not)) checkCompleteness(v.not, s, sPath, vPath.child("not"), errs);
  for (const k of ["allOf", "anyOf", "oneOf"] as const) {
    const list = v[k];
    if (Array.isArray(list)) list.forEach((sub, i) => checkCompleteness(sub, s, sPath, vPath.child(k).index(i), errs));
  }
  if (isRecord(v.items)) checkCompleteness(v.items, s.items, sPath.child("items"), vPath.child("items"), errs);
  if (isRecord(v.properties)) {
    const props = isRecord(s.properties) ? s.properties : {};
    for (const [k, p] of Object.entries(v.properties)) {
      checkCompleteness(p, props[k], sPath.child("properties").key(k), vPath.child("properties").key(k), errs);
    }
  }
  if (isRecord(v.additionalProperties)) {
    checkCompleteness(v.additionalProperties, s.additionalProperties, sPath.child("additionalProperties"), vPath.child("additionalProperties"), errs);
  }
}

function checkValueValidations(n: Node, path: FieldPath, errs: FieldError[]): void {
  const skipAnyOf = isIntOrStringAnyOf(n.anyOf);
  if (Array.isArray(n.anyOf) && !skipAnyOf) n.anyOf.forEach((s, i) => checkNested(s, path.child("anyOf").index(i), errs));
  if (Array.isArray(n.allOf)) {
    n.allOf.forEach((s, i) => checkNested(s, path.child("allOf").index(i), errs, i === 0 && isRecord(s) && isIntOrStringAnyOf(s.anyOf)));
  }
  if (Array.isArray(n.oneOf)) n.oneOf.forEach((s, i) => checkNested(s, path.child("oneOf").index(i), errs));
  if (isRecord(n.not)) checkNested(n.not, path.child("not"), errs);
  const asValue = { not: n.not, allOf: n.allOf, anyOf: skipAnyOf ? undefined : n.anyOf, oneOf: n.oneOf };
  checkCompleteness(asValue, n, path, path, errs);
}

/** Root metadata may only restrict name and generateName. */
function checkRootMetadata(meta: unknown, path: FieldPath, errs: FieldError[]): void {
  if (!isRecord(meta)) return;
  const rest = Object.keys(meta).filter((k) => k !== "type" && k !== "default");
  const props = isRecord(meta.properties) ? Object.keys(meta.properties) : [];
  const onlyNames = props.every((p) => p === "name" || p === "generateName");
  const others = rest.filter((k) => k !== "properties");
  if (others.length > 0 || !onlyNames) {
    errs.push(field.forbidden(path, "must not specify anything other than name and generateName, but metadata is implicitly specified"));
  }
}

function checkListAndMapTypes(n: Node, path: FieldPath, errs: FieldError[]): void {
  const listType = n["x-kubernetes-list-type"];
  const mapType = n["x-kubernetes-map-type"];
  const mapKeys = n["x-kubernetes-list-map-keys"];
  if (mapType !== undefined && n.type !== "object") {
    if (n.type === undefined) errs.push(field.required(path.child("type"), "must be object if x-kubernetes-map-type is specified"));
    else errs.push(field.invalid(path.child("type"), n.type, "must be object if x-kubernetes-map-type is specified"));
  }
  if (typeof mapType === "string" && mapType !== "atomic" && mapType !== "granular") {
    errs.push(field.notSupported(path.child("x-kubernetes-map-type"), mapType, ["atomic", "granular"]));
  }
  if (typeof listType === "string" && !["atomic", "set", "map"].includes(listType)) {
    errs.push(field.notSupported(path.child("x-kubernetes-list-type"), listType, ["atomic", "set", "map"]));
  }
  const items = isRecord(n.items) ? n.items : undefined;
  if (listType !== undefined && n.type !== "array") {
    if (n.type === undefined) errs.push(field.required(path.child("type"), "must be array if x-kubernetes-list-type is specified"));
    else errs.push(field.invalid(path.child("type"), n.type, "must be array if x-kubernetes-list-type is specified"));
  } else if (listType === "set" && items) {
    if (items.type === "array" && items["x-kubernetes-list-type"] !== undefined && items["x-kubernetes-list-type"] !== "atomic") {
      errs.push(field.invalid(path.child("items", "x-kubernetes-list-type"), items["x-kubernetes-list-type"], "must be atomic as item of a list with x-kubernetes-list-type=set"));
    }
    if (items.type === "object" && items["x-kubernetes-map-type"] !== "atomic") {
      errs.push(field.invalid(path.child("items", "x-kubernetes-map-type"), items["x-kubernetes-map-type"] ?? null, "must be atomic as item of a list with x-kubernetes-list-type=set"));
    }
  }
  if (Array.isArray(mapKeys) && mapKeys.length > 0) {
    if (listType === undefined) errs.push(field.required(path.child("x-kubernetes-list-type"), "must be map if x-kubernetes-list-map-keys is non-empty"));
    else if (listType !== "map") errs.push(field.invalid(path.child("x-kubernetes-list-type"), listType, "must be map if x-kubernetes-list-map-keys is non-empty"));
  }
  if ((listType === "set" || listType === "map") && items?.nullable === true) {
    errs.push(field.forbidden(path.child("items", "nullable"), `cannot be nullable when x-kubernetes-list-type is ${listType}`));
  }
  if (listType !== "map") return;
  if (!Array.isArray(mapKeys) || mapKeys.length === 0) {
    errs.push(field.required(path.child("x-kubernetes-list-map-keys"), "must not be empty if x-kubernetes-list-type is map"));
  }
  if (!items) {
    errs.push(field.required(path.child("items"), "must have a schema if x-kubernetes-list-type is map"));
    return;
  }
  if (items.type !== "object") {
    errs.push(field.invalid(path.child("items", "type"), items.type ?? "", "must be object if parent array's x-kubernetes-list-type is map"));
    return;
  }
  if (!Array.isArray(mapKeys)) return;
  const props = isRecord(items.properties) ? items.properties : {};
  const required = Array.isArray(items.required) ? items.required : [];
  const seen = new Set<string>();
  for (const k of mapKeys) {
    if (typeof k !== "string") continue;
    const p = props[k];
    if (!isRecord(p)) {
      errs.push(field.invalid(path.child("x-kubernetes-list-map-keys"), mapKeys, "entries must all be names of item properties"));
    } else {
      if (p.type === "array" || p.type === "object") {
        errs.push(field.invalid(path.child("items", "properties").key(k).child("type"), p.type, "must be a scalar type if parent array's x-kubernetes-list-type is map"));
      }
      if (!required.includes(k) && p.default === undefined) {
        errs.push(field.required(path.child("items", "properties").key(k).child("default"), "this property is in x-kubernetes-list-map-keys, so it must have a default or be a required property"));
      }
      if (p.nullable === true) {
        errs.push(field.forbidden(path.child("items", "properties").key(k).child("nullable"), "this property is in x-kubernetes-list-map-keys, so it cannot be nullable"));
      }
    }
    if (seen.has(k)) errs.push(field.invalid(path.child("x-kubernetes-list-map-keys"), mapKeys, "must not contain duplicate entries"));
    seen.add(k);
  }
}

function checkStructural(node: unknown, path: FieldPath, level: Level, ctx: Ctx): void {
  const { errs } = ctx;
  if (!isRecord(node)) {
    errs.push(field.invalid(path, node ?? null, "must be a schema object"));
    return;
  }
  checkKeywordTypes(node, path, errs);
  checkUnsupported(node, path, errs);
  const type = typeof node.type === "string" ? node.type : "";
  const intOrString = node["x-kubernetes-int-or-string"] === true;
  const preserve = node["x-kubernetes-preserve-unknown-fields"] === true;
  const embedded = node["x-kubernetes-embedded-resource"] === true;

  if (node.default !== undefined && ctx.noDefaults) errs.push(field.forbidden(path.child("default"), `must not be set ${ctx.noDefaults}`));
  if (ctx.insideResourceMeta && embedded) errs.push(field.forbidden(path.child("x-kubernetes-embedded-resource"), "must not be used inside of resource meta"));

  if (type === "array" && node.items === undefined) errs.push(field.required(path.child("items"), "must be specified"));
  if (node.additionalProperties !== undefined) {
    if (level === "root") errs.push(field.forbidden(path.child("additionalProperties"), "must not be used at the root"));
    const props = isRecord(node.properties) ? Object.keys(node.properties) : [];
    if (props.length > 0 && node.additionalProperties !== true) {
      errs.push(field.forbidden(path.child("additionalProperties"), "additionalProperties and properties are mutual exclusive"));
    }
    if (embedded) errs.push(field.forbidden(path.child("additionalProperties"), "must not be used if x-kubernetes-embedded-resource is set"));
  }
  if (intOrString && preserve) {
    errs.push(field.invalid(path.child("x-kubernetes-preserve-unknown-fields"), true, "must be false if x-kubernetes-int-or-string is true"));
  }
  if (intOrString && embedded) {
    errs.push(field.invalid(path.child("x-kubernetes-embedded-resource"), true, "must be false if x-kubernetes-int-or-string is true"));
  }
  if (embedded && type !== "object") {
    if (type === "") errs.push(field.required(path.child("type"), "must be object if x-kubernetes-embedded-resource is true"));
    else errs.push(field.invalid(path.child("type"), type, "must be object if x-kubernetes-embedded-resource is true"));
  } else if (type === "" && !intOrString && !preserve) {
    const where = level === "root" ? "at the root" : level === "item" ? "for specified array items" : "for specified object fields";
    errs.push(field.required(path.child("type"), `must not be empty ${where}`));
  }
  if (level === "root" && type !== "" && type !== "object") errs.push(field.invalid(path.child("type"), type, "must be object at the root"));
  if (embedded && !preserve && (!isRecord(node.properties) || Object.keys(node.properties).length === 0)) {
    errs.push(field.required(path.child("properties"), "must not be empty if x-kubernetes-embedded-resource is true without x-kubernetes-preserve-unknown-fields"));
  }

  const props = isRecord(node.properties) ? node.properties : {};
  const resourceLike = level === "root" || embedded;
  if (resourceLike) {
    for (const k of ["kind", "apiVersion"]) {
      const p = props[k];
      if (isRecord(p) && p.type !== "string") errs.push(field.invalid(path.child("properties").key(k).child("type"), p.type ?? "", "must be string"));
    }
    const meta = props.metadata;
    if (isRecord(meta) && meta.type !== "object") {
      errs.push(field.invalid(path.child("properties").key("metadata").child("type"), meta.type ?? "", "must be object"));
    }
  }
  if (level === "root") checkRootMetadata(props.metadata, path.child("properties").key("metadata"), errs);

  checkListAndMapTypes(node, path, errs);
  checkValueValidations(node, path, errs);

  for (const [k, p] of Object.entries(props)) {
    const sub: Ctx = { errs, insideResourceMeta: ctx.insideResourceMeta };
    if (ctx.noDefaults) sub.noDefaults = ctx.noDefaults;
    if (resourceLike && (k === "metadata" || k === "kind" || k === "apiVersion")) {
      sub.insideResourceMeta = true;
      if (level === "root") sub.noDefaults = `in top-level ${k}`;
    }
    checkStructural(p, path.child("properties").key(k), "field", sub);
  }
  if (isRecord(node.additionalProperties)) {
    const sub: Ctx = { errs, insideResourceMeta: ctx.insideResourceMeta };
    const reason = ctx.insideResourceMeta ? "inside additionalProperties applying to object metadata" : ctx.noDefaults;
    if (reason) sub.noDefaults = reason;
    checkStructural(node.additionalProperties, path.child("additionalProperties"), "field", sub);
  }
  if (isRecord(node.items)) checkStructural(node.items, path.child("items"), "item", ctx);
}

/** Defaults must survive pruning unchanged and validate against their own schema. */
function checkDefaults(node: unknown, path: FieldPath, errs: FieldError[]): void {
  if (!isRecord(node)) return;
  const schema = node as JSONSchemaProps;
  if (node.default !== undefined) {
    const at = path.child("default");
    const value = structuredClone(node.default);
    applyDefaults(value, schema);
    const pruned = pruneUnknownFields(value, schema);
    if (pruned.length > 0) {
      errs.push(field.invalid(at, node.default, `must not have unknown fields (${pruned.join(", ")})`));
    } else {
      try {
        errs.push(...compileSchema(schema).validate(value, at.toString()));
      } catch (err) {
        errs.push(field.invalid(at, node.default, `cannot be checked: ${err instanceof Error ? err.message : String(err)}`));
      }
    }
  }
  if (isRecord(node.properties)) for (const [k, p] of Object.entries(node.properties)) checkDefaults(p, path.child("properties").key(k), errs);
  if (isRecord(node.additionalProperties)) checkDefaults(node.additionalProperties, path.child("additionalProperties"), errs);
  if (isRecord(node.items)) checkDefaults(node.items, path.child("items"), errs);
}

/**
 * Validate a version's openAPIV3Schema as apiextensions does before serving it. `path` points at
 * the schema (…schema.openAPIV3Schema); `statusEnabled` limits the root keywords when the status
 * subresource is on; `cacheKey` keeps the compiled validator for serving (see cachedValidator).
 */
export function validateCRDSchema(schema: unknown, path: FieldPath, opts: { statusEnabled: boolean; cacheKey?: string }): FieldError[] {
  const errs: FieldError[] = [];
  if (schema === undefined || schema === null) return [field.required(path, "schemas are required")];
  if (!isRecord(schema)) return [field.invalid(path, schema, "must be a schema object")];
  if (opts.statusEnabled) {
    if (typeof schema.type === "string" && schema.type !== "object") {
      errs.push(field.invalid(path.child("type"), schema.type, 'only "object" is allowed as the type at the root of the schema if the status subresource is enabled'));
    }
    const isZero = (v: unknown): boolean => v === false || v === "" || (Array.isArray(v) && v.length === 0);
    const extra = Object.keys(schema).filter((k) => KNOWN_KEYWORDS.has(k) && !ROOT_WITH_STATUS.has(k) && !isZero(schema[k]));
    if (extra.length > 0) {
      errs.push(field.forbidden(path, `only ${[...ROOT_WITH_STATUS].join(", ")} are allowed at the root of the schema if the status subresource is enabled (found ${extra.join(", ")})`));
    }
  }
  if (schema.nullable === true) errs.push(field.forbidden(path.child("nullable"), "nullable cannot be true at the root"));
  checkStructural(schema, path, "root", { errs, insideResourceMeta: false });
  if (errs.length > 0) return errs;
  checkDefaults(schema, path, errs);
  if (errs.length > 0) return errs;
  try {
    // With a cache key ("<crd>/<version>") the compiled validator is kept for serving the version.
    if (opts.cacheKey) cachedValidator(opts.cacheKey, schema as JSONSchemaProps);
    else compileSchema(schema as JSONSchemaProps, { resourceRoot: true });
  } catch (err) {
    errs.push(field.invalid(path, "", `error building validator: ${err instanceof Error ? err.message : String(err)}`));
  }
  return errs;
}

/**
 * Remove, in place, keywords that JSONSchemaProps does not have (typos such as "proprties"),
 * returning their paths so the caller can warn — the API server drops them when decoding a CRD.
 */
export function stripUnknownKeywords(schema: unknown, path: string): string[] {
  const removed: string[] = [];
  const walk = (n: unknown, p: string): void => {
    if (!isRecord(n)) return;
    for (const k of Object.keys(n)) {
      if (!KNOWN_KEYWORDS.has(k)) {
        removed.push(`${p}.${k}`);
        delete n[k];
      }
    }
    if (isRecord(n.properties)) for (const [k, v] of Object.entries(n.properties)) walk(v, `${p}.properties.${k}`);
    if (isRecord(n.additionalProperties)) walk(n.additionalProperties, `${p}.additionalProperties`);
    if (isRecord(n.items)) walk(n.items, `${p}.items`);
    if (isRecord(n.not)) walk(n.not, `${p}.not`);
    for (const k of ["allOf", "anyOf", "oneOf"]) {
      const list = n[k];
      if (Array.isArray(list)) list.forEach((s, i) => walk(s, `${p}.${k}[${i}]`));
    }
  };
  walk(schema, path);
  return removed;
}

/** Whether the schema uses x-kubernetes-validations (CEL rules), which corekube does not run. */
export function usesCELRules(schema: unknown): boolean {
  if (!isRecord(schema)) return false;
  if (Array.isArray(schema["x-kubernetes-validations"]) && schema["x-kubernetes-validations"].length > 0) return true;
  const kids: unknown[] = [schema.items, schema.not, schema.additionalProperties];
  if (isRecord(schema.properties)) kids.push(...Object.values(schema.properties));
  for (const k of ["allOf", "anyOf", "oneOf"]) if (Array.isArray(schema[k])) kids.push(...(schema[k] as unknown[]));
  return kids.some(usesCELRules);
}
