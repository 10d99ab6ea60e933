// Book 11.2 and 12.3: what a schema node means to server-side apply — a scalar, a struct or map
// (owned per field, or whole when atomic), or a list owned whole, per set value or per keyed element.
import type { Schema, SchemaResolver } from "../../schema/types.js";
import { isObject } from "./value.js";

/** A position in the schema: the node (undefined: no schema, shape deduced from the value) and how to resolve $refs. */
export interface TypeRef {
  readonly schema: Schema | undefined;
  readonly resolver: SchemaResolver;
  /** The object's top level, where `metadata` is always ObjectMeta. */
  readonly root?: boolean;
}

export interface ScalarShape {
  readonly kind: "scalar";
}

export interface MapShape {
  readonly kind: "map";
  /** x-kubernetes-map-type: atomic — owned and replaced as one value. */
  readonly atomic: boolean;
  /** The type of one entry, and whether it is a declared property (a struct field) or a free map key. */
  field(name: string): { readonly type: TypeRef; readonly declared: boolean };
  /** Whether an explicit null is a value to keep rather than a request to drop the field. */
  readonly nullable: (name: string) => boolean;
}

export interface ListShape {
  readonly kind: "list";
  readonly listType: "atomic" | "set" | "map";
  /** Key fields of a map-list, e.g. ["containerPort", "protocol"]. */
  readonly keys: readonly string[];
  readonly item: TypeRef;
  /** The schema default of a key field, used when an element omits it (ports' protocol: "TCP"). */
  keyDefault(name: string): unknown;
}

export type Shape = ScalarShape | MapShape | ListShape;

type Declared =
  | { kind: "deduced" }
  | { kind: "scalar" }
  | { kind: "map"; node: Schema; atomic: boolean; unknownFields: Schema | undefined }
  | { kind: "list"; node: Schema; listType: "atomic" | "set" | "map"; keys: readonly string[] };

const SCALAR: ScalarShape = { kind: "scalar" };

/** Follows $ref / allOf to the concrete node; undefined when there is none (or the $ref is unknown). */
export function resolveNode(t: TypeRef): Schema | undefined {
  const s = t.schema;
  if (s === undefined) return undefined;
  let r = t.resolver.resolve(s);
  if (r === undefined && s.$ref === undefined && s.allOf === undefined) r = s;
  // An allOf the resolver did not unwrap: take its single member.
  if (r !== undefined && r.allOf?.length === 1 && r.type === undefined && r.properties === undefined) {
    r = t.resolver.resolve(r.allOf[0]) ?? r;
  }
  return r;
}

const cache = new WeakMap<SchemaResolver, WeakMap<Schema, Declared>>();

function declared(t: TypeRef): Declared {
  const s = t.schema;
  if (s === undefined) return { kind: "deduced" };
  let byResolver = cache.get(t.resolver);
  if (!byResolver) {
    byResolver = new WeakMap();
    cache.set(t.resolver, byResolver);
  }
  let d = byResolver.get(s);
  if (!d) {
    d = computeDeclared(resolveNode(t));
    byResolver.set(s, d);
  }
  return d;
}

function computeDeclared(n: Schema | undefined): Declared {
  if (n === undefined) return { kind: "deduced" };
  if (n["x-kubernetes-int-or-string"] === true) return { kind: "scalar" };
  const preserve = n["x-kubernetes-preserve-unknown-fields"] === true;
  if (n.type === "array" || (n.type === undefined && n.items !== undefined)) {
    return { kind: "list", node: n, ...listSemantics(n) };
  }
  if (n.type === "object" || n.properties !== undefined || isObject(n.additionalProperties)) {
    const hasProps = n.properties !== undefined && Object.keys(n.properties).length > 0;
    if (preserve && !hasProps && !isObject(n.additionalProperties)) return { kind: "deduced" };
    const unknownFields = isObject(n.additionalProperties) ? (n.additionalProperties as Schema) : undefined;
    return { kind: "map", node: n, atomic: n["x-kubernetes-map-type"] === "atomic", unknownFields };
  }
  if (n.type === "string" || n.type === "integer" || n.type === "number" || n.type === "boolean") return { kind: "scalar" };
  return { kind: "deduced" };
}

/** list-type wins; an older schema with only a patch merge key is a map-list keyed by it. */
function listSemantics(n: Schema): { listType: "atomic" | "set" | "map"; keys: readonly string[] } {
  const lt = n["x-kubernetes-list-type"];
  const mergeKey = n["x-kubernetes-patch-merge-key"];
  if (lt === "atomic" || lt === "set") return { listType: lt, keys: [] };
  if (lt === "map") {
    const keys = n["x-kubernetes-list-map-keys"];
    if (Array.isArray(keys) && keys.length > 0) return { listType: "map", keys };
    if (typeof mergeKey === "string" && mergeKey !== "") return { listType: "map", keys: [mergeKey] };
    return { listType: "atomic", keys: [] };
  }
  if (lt !== undefined) return { listType: "atomic", keys: [] };
  if (typeof mergeKey === "string" && mergeKey !== "") return { listType: "map", keys: [mergeKey] };
  const strategy = n["x-kubernetes-patch-strategy"];
  if (typeof strategy === "string" && strategy.split(",").includes("merge")) return { listType: "set", keys: [] };
  return { listType: "atomic", keys: [] };
}

function child(t: TypeRef, schema: Schema | undefined): TypeRef {
  return { schema, resolver: t.resolver };
}

/**
 * Shapes are asked for once per value on every write, so they are built once per schema node (and
 * resolver, and top-level flag) and kept: a shape depends on nothing else. The field types they
 * hand out are kept as well, for declared properties; free map keys all share one type.
 */
interface ShapeCache {
  map?: MapShape;
  list?: ListShape;
}
const deducedCache = new WeakMap<SchemaResolver, { plain?: ShapeCache; root?: ShapeCache }>();
const declaredShapes = new WeakMap<Declared, { plain?: ShapeCache; root?: ShapeCache }>();

function shapeCache<K extends object>(owner: WeakMap<K, { plain?: ShapeCache; root?: ShapeCache }>, key: K, root: boolean): ShapeCache {
  let entry = owner.get(key);
  if (!entry) {
    entry = {};
    owner.set(key, entry);
  }
  const slot = root ? "root" : "plain";
  return (entry[slot] ??= {});
}

/** A map shape whose field types come from `typeOf`, remembered per declared name. */
function mapShape(atomic: boolean, typeOf: (name: string) => { type: TypeRef; declared: boolean }, nullable: (name: string) => boolean, remember: (name: string) => boolean): MapShape {
  const fields = new Map<string, { readonly type: TypeRef; readonly declared: boolean }>();
  return {
    kind: "map",
    atomic,
    field(name) {
      let f = fields.get(name);
      if (f === undefined) {
        f = typeOf(name);
        if (remember(name)) fields.set(name, f);
      }
      return f;
    },
    nullable,
  };
}

function deducedMap(t: TypeRef): MapShape {
  const c = shapeCache(deducedCache, t.resolver, t.root === true);
  if (c.map) return c.map;
  // Without a schema every key has the same type, except `metadata` at the top level.
  const any = { type: child(t, undefined), declared: false };
  c.map = mapShape(false, (name) => (t.root && name === "metadata" ? { type: rootAware(t, name, undefined), declared: false } : any), () => false, (name) => t.root === true && name === "metadata");
  return c.map;
}

/** At the top level, `metadata` gets the built-in ObjectMeta schema unless a detailed one is given. */
function rootAware(t: TypeRef, name: string, schema: Schema | undefined): TypeRef {
  if (t.root && name === "metadata") {
    const r = resolveNode(child(t, schema));
    if (r === undefined || r.properties === undefined || Object.keys(r.properties).length === 0) {
      return { schema: OBJECT_META, resolver: t.resolver };
    }
  }
  return child(t, schema);
}

/** The shape of the node at `t` holding `value` (undefined or null: the schema alone decides). */
export function shapeOf(t: TypeRef, value: unknown): Shape {
  const d = declared(t);
  switch (d.kind) {
    case "deduced":
      if (isObject(value)) return deducedMap(t);
      if (Array.isArray(value)) {
        const c = shapeCache(deducedCache, t.resolver, t.root === true);
        return (c.list ??= { kind: "list", listType: "atomic", keys: [], item: child(t, undefined), keyDefault: () => undefined });
      }
      return SCALAR;
    case "scalar":
      return SCALAR;
    case "map": {
      if (value !== null && value !== undefined && !isObject(value)) return SCALAR;
      const c = shapeCache(declaredShapes, d, t.root === true);
      if (c.map) return c.map;
      const props = d.node.properties ?? {};
      const has = (name: string) => Object.prototype.hasOwnProperty.call(props, name);
      const unknownType = rootAware(t, "", d.unknownFields);
      c.map = mapShape(
        d.atomic,
        (name) => {
          if (has(name)) return { type: rootAware(t, name, props[name]), declared: true };
          // Free keys share one type (the top level's `metadata` aside).
          return { type: t.root && name === "metadata" ? rootAware(t, name, d.unknownFields) : unknownType, declared: false };
        },
        (name) => {
          const p = has(name) ? props[name] : d.unknownFields;
          return p !== undefined && resolveNode(child(t, p))?.nullable === true;
        },
        has,
      );
      return c.map;
    }
    case "list": {
      if (value !== null && value !== undefined && !Array.isArray(value)) return SCALAR;
      const c = shapeCache(declaredShapes, d, t.root === true);
      if (c.list) return c.list;
      const item = child(t, d.node.items);
      c.list = {
        kind: "list",
        listType: d.listType,
        keys: d.keys,
        item,
        keyDefault: (name) => {
          const p = resolveNode(item)?.properties?.[name];
          return p === undefined ? undefined : resolveNode(child(t, p))?.default;
        },
      };
      return c.list;
    }
  }
}

/** For walking field sets without values: the declared property names of a struct node, if any. */
export function declaredFieldType(t: TypeRef, name: string): TypeRef | undefined {
  const d = declared(t);
  if (d.kind !== "map" || d.atomic) return undefined;
  const props = d.node.properties ?? {};
  if (!Object.prototype.hasOwnProperty.call(props, name)) return undefined;
  return rootAware(t, name, props[name]);
}

/** The type of entries of a map node (declared property or free key), for walking sets without values. */
export function entryType(t: TypeRef, name: string): TypeRef {
  const known = declaredFieldType(t, name);
  if (known) return known;
  const d = declared(t);
  return rootAware(t, name, d.kind === "map" ? d.unknownFields : undefined);
}

/** The element type of a list node, for walking sets without values. */
export function itemType(t: TypeRef): TypeRef {
  const d = declared(t);
  return d.kind === "list" ? child(t, d.node.items) : child(t, undefined);
}

/** Whether the node is a granular struct (has declared properties) or a granular list — things Go always has. */
export function isStructOrGranularList(t: TypeRef): boolean {
  const d = declared(t);
  if (d.kind === "map") return !d.atomic && d.node.properties !== undefined && Object.keys(d.node.properties).length > 0;
  if (d.kind === "list") return d.listType !== "atomic";
  return false;
}

const str: Schema = { type: "string" };
const strMap: Schema = { type: "object", additionalProperties: { type: "string" } };

/** ObjectMeta as server-side apply needs it (list and map semantics of Kubernetes' published schema). */
export const OBJECT_META: Schema = {
  type: "object",
  properties: {
    name: str,
    generateName: str,
    namespace: str,
    selfLink: str,
    uid: str,
    resourceVersion: str,
    generation: { type: "integer", format: "int64" },
    creationTimestamp: { type: "string", format: "date-time" },
    deletionTimestamp: { type: "string", format: "date-time" },
    deletionGracePeriodSeconds: { type: "integer", format: "int64" },
    labels: strMap,
    annotations: strMap,
    ownerReferences: {
      type: "array",
      items: {
        type: "object",
        required: ["apiVersion", "kind", "name", "uid"],
        properties: {
          apiVersion: str,
          kind: str,
          name: str,
          uid: str,
          controller: { type: "boolean" },
          blockOwnerDeletion: { type: "boolean" },
        },
        "x-kubernetes-map-type": "atomic",
      },
      "x-kubernetes-list-type": "map",
      "x-kubernetes-list-map-keys": ["uid"],
      "x-kubernetes-patch-merge-key": "uid",
      "x-kubernetes-patch-strategy": "merge",
    },
    finalizers: {
      type: "array",
      items: str,
      "x-kubernetes-list-type": "set",
      "x-kubernetes-patch-strategy": "merge",
    },
    managedFields: { type: "array", items: { type: "object" }, "x-kubernetes-list-type": "atomic" },
  },
};
