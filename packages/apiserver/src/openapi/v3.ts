// Book 11.2: the OpenAPI v3 documents kubectl reads — one per group-version, holding the resources'
// operations and every schema they reach — and the /openapi/v3 index that points at them by hash.
import { createHash } from "node:crypto";
import type { ResourceDef } from "../registry/types.js";
import { REF_PREFIX } from "../schema/dsl.js";
import { crSchemaName, refName } from "../schema/resolver.js";
import type { GroupVersionKind, Schema, SchemaResolver } from "../schema/types.js";
import { gvPath, PATCH_SCHEMA, type PathItem, resourcePaths } from "./operations.js";

export interface OpenApiDocument {
  /** The OpenAPI 3.0 document. Shared: do not modify it. */
  body: Record<string, unknown>;
  /** The document serialized as JSON, ready to send. */
  json: string;
  /** A stable hash of `json` (upper-case hex SHA-512, as Kubernetes uses for the index and ETags). */
  hash: string;
}

export interface OpenApiIndex {
  paths: Record<string, { serverRelativeURL: string }>;
}

export interface OpenApiV3 {
  /** The /openapi/v3 discovery document: each group-version's path and its hashed URL. */
  index(): OpenApiIndex;
  /** The document of "api/v1" or "apis/<group>/<version>" (a leading "/" or "openapi/v3/" is ignored). */
  document(gvPath: string): OpenApiDocument | undefined;
  /** The group-version paths there are documents for, sorted. */
  groupVersions(): string[];
}

/** Schemas every document may need that a resolver might not hold. */
const FALLBACKS: Record<string, Schema> = {
  [PATCH_SCHEMA]: { type: "object", description: "A patch body; its format depends on the request's Content-Type." },
};

function sortedObject<T>(entries: Iterable<[string, T]>): Record<string, T> {
  const out: Record<string, T> = {};
  for (const [k, v] of [...entries].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) out[k] = v;
  return out;
}

/** Every $ref target under a node, in the order met. */
function refsIn(node: unknown, out: string[]): void {
  if (Array.isArray(node)) {
    for (const v of node) refsIn(v, out);
  } else if (typeof node === "object" && node !== null) {
    for (const [k, v] of Object.entries(node)) {
      if (k === "$ref" && typeof v === "string" && v.startsWith(REF_PREFIX)) out.push(refName(v));
      else refsIn(v, out);
    }
  }
}

function hasGvk(s: Schema, gvk: GroupVersionKind): boolean {
  return (s["x-kubernetes-group-version-kind"] ?? []).some(
    (g) => g.group === gvk.group && g.version === gvk.version && g.kind === gvk.kind,
  );
}

function withGvk(s: Schema, gvk: GroupVersionKind): Schema {
  if (hasGvk(s, gvk)) return s;
  return { ...s, "x-kubernetes-group-version-kind": [...(s["x-kubernetes-group-version-kind"] ?? []), gvk] };
}

/** The component names of a resource's kind and list, e.g. "io.k8s.api.apps.v1.Deployment(List)". */
function schemaNames(def: ResourceDef): { kind: string; list: string } {
  const kind = def.schemaName ?? crSchemaName(def.group, def.version, def.kind);
  const dot = kind.lastIndexOf(".");
  return { kind, list: `${kind.slice(0, dot + 1)}${def.listKind}` };
}

function syntheticList(def: ResourceDef, kindName: string): Schema {
  return {
    type: "object",
    description: `A list of ${def.kind} objects.`,
    properties: {
      apiVersion: { type: "string", description: "The list's schema version, as group/version." },
      kind: { type: "string", description: `Always ${def.listKind}.` },
      metadata: {
        allOf: [{ $ref: `${REF_PREFIX}io.k8s.apimachinery.pkg.apis.meta.v1.ListMeta` }],
        description: "List metadata: resourceVersion and the continue token.",
      },
      items: { type: "array", items: { $ref: REF_PREFIX + kindName }, description: `The ${def.kind} objects.` },
    },
    required: ["items"],
    "x-kubernetes-group-version-kind": [{ group: def.group, version: def.version, kind: def.listKind }],
  };
}

interface Built {
  inputs: GroupInputs;
  doc: OpenApiDocument;
}

/** The documents each OpenApiV3 has built, for reuse by the next build. */
const builtDocs = new WeakMap<OpenApiV3, Map<string, Built>>();

interface GroupInputs {
  defs: ResourceDef[];
  /** Component name → schema, for everything the documents reach (identity matters for reuse). */
  schemas: Map<string, Schema>;
}

function normalizeGvPath(p: string): string {
  let s = p.replace(/^\/+/, "");
  if (s.startsWith("openapi/v3/")) s = s.slice("openapi/v3/".length);
  return s.replace(/\/+$/, "").split("?")[0]!;
}

/**
 * Builds the OpenAPI v3 documents for `defs` from the schemas `resolver` holds. Documents are made
 * on first use; pass the previous result as `previous` when rebuilding (e.g. after a CRD change) and
 * every group-version whose resources and schemas are unchanged is reused as it was.
 */
export function buildOpenApiV3(defs: readonly ResourceDef[], resolver: SchemaResolver, previous?: OpenApiV3): OpenApiV3 {
  const byGv = new Map<string, ResourceDef[]>();
  for (const def of defs) {
    const key = gvPath(def.group, def.version);
    const list = byGv.get(key);
    if (list) list.push(def);
    else byGv.set(key, [def]);
  }
  const built = new Map<string, Built>();
  const prevBuilt = previous ? builtDocs.get(previous) : undefined;

  function lookup(name: string): Schema | undefined {
    return resolver.get(name) ?? FALLBACKS[name];
  }

  function inputsFor(gv: string): { inputs: GroupInputs; paths: Map<string, PathItem> } {
    const gvDefs = [...(byGv.get(gv) ?? [])].sort((a, b) => (a.resource < b.resource ? -1 : a.resource > b.resource ? 1 : 0));
    const schemas = new Map<string, Schema>();
    const paths = new Map<string, PathItem>();
    const queue: string[] = [];
    for (const def of gvDefs) {
      const names = schemaNames(def);
      const gvk = { group: def.group, version: def.version, kind: def.kind };
      const kindSchema = resolver.get(names.kind);
      schemas.set(names.kind, kindSchema ? withGvk(kindSchema, gvk) : { type: "object", "x-kubernetes-group-version-kind": [gvk], "x-kubernetes-preserve-unknown-fields": true });
      const listSchema = resolver.get(names.list);
      schemas.set(names.list, listSchema ?? syntheticList(def, names.kind));
      const rp = resourcePaths(def, names.kind, names.list);
      for (const [p, item] of Object.entries(rp.paths)) paths.set(p, item);
      queue.push(...rp.extraSchemas);
      refsIn(schemas.get(names.kind), queue);
      refsIn(schemas.get(names.list), queue);
    }
    while (queue.length > 0) {
      const name = queue.pop()!;
      if (schemas.has(name)) continue;
      const s = lookup(name);
      if (s === undefined) continue;
      schemas.set(name, s);
      refsIn(s, queue);
    }
    return { inputs: { defs: gvDefs, schemas }, paths };
  }

  function sameInputs(a: GroupInputs, b: GroupInputs): boolean {
    if (a.defs.length !== b.defs.length || a.schemas.size !== b.schemas.size) return false;
    if (a.defs.some((d, i) => d !== b.defs[i])) return false;
    for (const [k, v] of a.schemas) if (b.schemas.get(k) !== v && !sameSynthetic(v, b.schemas.get(k))) return false;
    return true;
  }

  function document(path: string): OpenApiDocument | undefined {
    const gv = normalizeGvPath(path);
    if (!byGv.has(gv)) return undefined;
    const have = built.get(gv);
    if (have) return have.doc;
    const { inputs, paths } = inputsFor(gv);
    const old = prevBuilt?.get(gv);
    if (old && sameInputs(inputs, old.inputs)) {
      built.set(gv, old);
      return old.doc;
    }
    const body: Record<string, unknown> = {
      openapi: "3.0.0",
      info: { title: "Kubernetes", version: "unversioned" },
      paths: sortedObject(paths),
      components: {
        schemas: sortedObject(inputs.schemas),
        securitySchemes: { BearerToken: { type: "apiKey", description: "Bearer token authentication", name: "authorization", in: "header" } },
      },
    };
    const json = JSON.stringify(body);
    const hash = createHash("sha512").update(json).digest("hex").toUpperCase();
    const doc: OpenApiDocument = { body, json, hash };
    built.set(gv, { inputs, doc });
    return doc;
  }

  const api: OpenApiV3 = {
    groupVersions: () => [...byGv.keys()].sort(),
    document,
    index() {
      const paths: OpenApiIndex["paths"] = {};
      for (const gv of api.groupVersions()) {
        const doc = document(gv)!;
        paths[gv] = { serverRelativeURL: `/openapi/v3/${gv}?hash=${doc.hash}` };
      }
      return { paths };
    },
  };
  builtDocs.set(api, built);
  return api;
}

/** Schemas this module makes up on the fly (synthetic lists, GVK-tagged copies) compare by content. */
function sameSynthetic(a: Schema, b: Schema | undefined): boolean {
  if (b === undefined) return false;
  return JSON.stringify(a) === JSON.stringify(b);
}
