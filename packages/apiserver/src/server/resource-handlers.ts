// Book 11.2 (and 2.3.1): the REST verbs on /api and /apis — get, list, watch, create, update, patch,
// delete, deletecollection — turned into calls on a resource's store, with query parameters read as
// kube-apiserver reads them (dryRun, fieldManager, fieldValidation, selectors, limit/continue).
import {
  badRequest,
  field,
  invalid,
  fieldSelectorFields,
  methodNotSupported,
  parseFieldSelector,
  parseSelector,
  SelectorError,
  unsupportedMediaType,
  type FieldSelector,
  type Selector,
} from "@corekube/api";
import { applyJsonPatch, applyMergePatch, applyStrategicMergePatch, patchTypeOf } from "../patch/index.js";
import { serverSideApply } from "../patch/apply/index.js";
import { prune } from "../schema/strict.js";
import { decodeError, firstTypeMismatch } from "../schema/decode-check.js";
import { listJson } from "./json-memo.js";
import { decodeKubernetesProtobuf, isKubernetesProtobuf } from "../protobuf/index.js";
import type { ResourceStore, DeleteOptions, FieldValidation, ListOptions } from "../registry/store.js";
import type { KubeObject, RequestContext, ResourceDef } from "../registry/types.js";
import type { ApiRegistry } from "./api-registry.js";
import { decodeObjectBody, decodeOptionalBody, decodeYaml, decodeJson, mediaType, type DecodedBody } from "./body.js";
import { isTrue, type RequestInfo } from "./request-info.js";
import { tableOf, wantsTable, type IncludeObject } from "./table.js";

export interface ApiRequest {
  method: string;
  info: RequestInfo;
  query: URLSearchParams;
  headers: Record<string, string | string[] | undefined>;
  body?: Buffer;
  ctx: RequestContext & { userAgent?: string };
}

export interface ApiResponse {
  code: number;
  body: unknown;
  /** The body already serialized (large lists), sent instead of JSON.stringify(body). */
  raw?: string;
  contentType?: string;
}

const PATCH_TYPES = ["application/json-patch+json", "application/merge-patch+json", "application/strategic-merge-patch+json", "application/apply-patch+yaml"];

/** One request header (the first, when repeated). */
export function header(req: ApiRequest, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

export function parseSelectors(query: URLSearchParams, def: ResourceDef, store: ResourceStore): { labels?: Selector; fields?: FieldSelector } {
  const out: { labels?: Selector; fields?: FieldSelector } = {};
  try {
    const ls = query.get("labelSelector");
    if (ls) out.labels = parseSelector(ls);
    const fs = query.get("fieldSelector");
    if (fs) {
      const sel = parseFieldSelector(fs);
      const sample = store.fieldsOf({ metadata: { name: "", namespace: "" } } as KubeObject);
      const supported = new Set(Object.keys(sample));
      for (const f of fieldSelectorFields(sel))
        if (!supported.has(f)) throw badRequest(`field label not supported: ${f}`);
      out.fields = sel;
    }
  } catch (e) {
    if (e instanceof SelectorError) throw badRequest(e.message.startsWith("unable to parse requirement") ? e.message : `unable to parse requirement: ${e.message}`);
    throw e;
  }
  void def;
  return out;
}

function intParam(query: URLSearchParams, name: string): number | undefined {
  const v = query.get(name);
  if (v === null || v === "") return undefined;
  const n = Number(v);
  // Beyond 2^53 a number is no longer exact (and beyond 2^63 storage refuses it): refuse it here.
  if (!Number.isSafeInteger(n)) throw badRequest(`invalid value for ${name}: "${v}" is not an integer`);
  return n;
}

export function fieldValidationOf(query: URLSearchParams): FieldValidation {
  const v = query.get("fieldValidation");
  if (v === null || v === "") return "Warn";
  if (v === "Strict" || v === "Warn" || v === "Ignore") return v;
  throw badRequest(`fieldValidation must be one of "Ignore", "Warn", or "Strict", got "${v}"`);
}

function fieldManagerOf(query: URLSearchParams): string | undefined {
  const m = query.get("fieldManager") ?? undefined;
  if (m !== undefined && (m.length > 128 || /[^\x20-\x7e]/.test(m)))
    throw badRequest("fieldManager: Invalid value: the field manager must be at most 128 printable characters");
  return m;
}

export class ResourceHandlers {
  constructor(private readonly registry: ApiRegistry) {}

  /**
   * Strict/Warn/Ignore handling of unknown and duplicate fields. Unknown fields never reach storage:
   * Strict refuses the request, Warn drops them with a warning, Ignore drops them silently (as the
   * typed decoding of kube-apiserver does).
   */
  checkFields(def: ResourceDef, obj: unknown, decoded: DecodedBody | undefined, mode: FieldValidation, ctx: RequestContext): void {
    const schema = def.schemaName ? this.registry.resolver.get(def.schemaName) : undefined;
    if (schema && !def.crd) {
      // Built-ins decode into typed structs first: a wrong JSON type is a 400 before any validation.
      const m = firstTypeMismatch(obj, schema, this.registry.resolver, def.kind);
      if (m) throw decodeError(def.kind, def.version, m);
    }
    const unknown = schema && obj && typeof obj === "object" ? prune(obj, schema, this.registry.resolver) : [];
    if (mode === "Ignore") return;
    const problems: string[] = [];
    for (const d of decoded?.duplicateFields ?? []) problems.push(`duplicate field "${d}"`);
    for (const f of unknown) problems.push(`unknown field "${f}"`);
    if (problems.length === 0) return;
    if (mode === "Strict") throw badRequest(`strict decoding error: ${problems.join(", ")}`);
    ctx.warnings.push(...problems);
  }

  /**
   * A written CRD is served once our cache has seen the write (the registry adds its resources
   * from the cache's events). Waiting for that here means a client that reads "Established" in
   * the reply can use the new resource in its very next request.
   */
  private async settled(store: ResourceStore, req: ApiRequest, obj: KubeObject): Promise<void> {
    if (req.ctx.dryRun || store.def.group !== "apiextensions.k8s.io" || store.def.resource !== "customresourcedefinitions") return;
    const rv = Number(obj.metadata.resourceVersion);
    if (!Number.isSafeInteger(rv) || rv <= 0) return;
    await store.cache.waitFor(rv, 5_000);
  }

  /** An object body: JSON, YAML, or Kubernetes protobuf (kubectl 1.32+ typed clients send it). */
  decodeBody(req: ApiRequest): DecodedBody {
    const ct = header(req, "content-type");
    if (isKubernetesProtobuf(ct)) {
      if (!req.body || req.body.length === 0) throw badRequest("the request body is empty");
      return { value: decodeKubernetesProtobuf(req.body, this.registry.resolver), duplicateFields: [] };
    }
    return decodeObjectBody(req.body, ct);
  }

  async get(store: ResourceStore, req: ApiRequest): Promise<ApiResponse> {
    const { info, query } = req;
    const ns = store.def.namespaced ? info.namespace : "";
    const obj = await store.get(ns, info.name, query.get("resourceVersion") ?? undefined);
    if (info.subresource === "status" || info.subresource === "") return this.render(store.def, req, obj);
    throw methodNotSupported(store.def, "get");
  }

  private render(def: ResourceDef, req: ApiRequest, obj: KubeObject, code = 200): ApiResponse {
    const table = wantsTable(header(req, "accept"));
    if (!table) return { code, body: obj };
    return {
      code,
      body: tableOf(def, [obj], { now: req.ctx.now, include: includeOf(req.query), version: table, resourceVersion: obj.metadata.resourceVersion }),
    };
  }

  listOptions(store: ResourceStore, query: URLSearchParams): ListOptions {
    const sel = parseSelectors(query, store.def, store);
    const limit = intParam(query, "limit");
    if (limit !== undefined && limit < 0) throw badRequest("limit must not be negative");
    const opts: ListOptions = { ...sel, limit };
    const c = query.get("continue");
    if (c) opts.continue = c;
    const rv = query.get("resourceVersion");
    if (rv !== null) opts.resourceVersion = rv;
    const m = query.get("resourceVersionMatch");
    if (m) {
      if (m !== "NotOlderThan" && m !== "Exact") throw badRequest(`resourceVersionMatch: Unsupported value: "${m}": supported values: "Exact", "NotOlderThan"`);
      if (!rv) throw badRequest("resourceVersionMatch is forbidden unless resourceVersion is provided");
      if (c) throw badRequest("resourceVersionMatch is forbidden when continue is provided");
      opts.resourceVersionMatch = m;
    }
    return opts;
  }

  async list(store: ResourceStore, req: ApiRequest): Promise<ApiResponse> {
    const { info, query } = req;
    const ns = store.def.namespaced ? info.namespace : "";
    const r = await store.list(ns, this.listOptions(store, query));
    const table = wantsTable(header(req, "accept"));
    if (table) {
      return {
        code: 200,
        body: tableOf(store.def, r.items, { now: req.ctx.now, include: includeOf(query), version: table, resourceVersion: r.resourceVersion, continue: r.continue }),
      };
    }
    const metadata: Record<string, unknown> = { resourceVersion: r.resourceVersion };
    if (r.continue) metadata.continue = r.continue;
    return { code: 200, body: undefined, raw: listJson(store.def.listKind, store.apiVersion, metadata, r.items) };
  }

  async create(store: ResourceStore, req: ApiRequest): Promise<ApiResponse> {
    const decoded = this.decodeBody(req);
    const obj = decoded.value as KubeObject;
    if (!obj || typeof obj !== "object" || Array.isArray(obj)) throw badRequest("the body must be a JSON or YAML object");
    this.checkFields(store.def, obj, decoded, fieldValidationOf(req.query), req.ctx);
    const created = await store.create(req.ctx, obj, { fieldManager: fieldManagerOf(req.query) });
    await this.settled(store, req, created);
    return this.render(store.def, req, created, 201);
  }

  async update(store: ResourceStore, req: ApiRequest): Promise<ApiResponse> {
    const { info } = req;
    const decoded = this.decodeBody(req);
    const obj = decoded.value as KubeObject;
    if (!obj || typeof obj !== "object" || Array.isArray(obj)) throw badRequest("the body must be a JSON or YAML object");
    this.checkFields(store.def, obj, decoded, fieldValidationOf(req.query), req.ctx);
    const ns = store.def.namespaced ? info.namespace : "";
    const sub = info.subresource;
    const r = await store.update(req.ctx, ns, info.name, (cur) => (sub === "status" && cur ? { ...cur, status: obj.status, metadata: { ...cur.metadata, resourceVersion: obj.metadata?.resourceVersion ?? cur.metadata.resourceVersion } } : obj), {
      subresource: sub,
      createIfMissing: store.def.strategy.allowCreateOnUpdate ?? false,
      fieldManager: fieldManagerOf(req.query),
    });
    await this.settled(store, req, r.obj);
    return this.render(store.def, req, r.obj, r.created ? 201 : 200);
  }

  async patch(store: ResourceStore, req: ApiRequest): Promise<ApiResponse> {
    const { info, query } = req;
    const ct = header(req, "content-type");
    const type = patchTypeOf(ct ?? "");
    const ns = store.def.namespaced ? info.namespace : "";
    const sub = info.subresource;
    const text = req.body ? req.body.toString("utf8") : "";
    if (text.trim() === "") throw badRequest("the patch body is empty");
    const mode = fieldValidationOf(query);
    const manager = fieldManagerOf(query);
    const def = store.def;
    const resolver = this.registry.resolver;
    const schema = def.schemaName ? resolver.get(def.schemaName) : undefined;
    if (type === "strategic" && def.crd) throw unsupportedMediaType(PATCH_TYPES.filter((t) => !t.includes("strategic")));

    if (type === "apply") {
      if (!manager) throw badRequest("PATCH /apply requires a fieldManager query parameter (for example fieldManager=kubectl)");
      const decoded = mediaType(ct) === "application/apply-patch+yaml" ? decodeYaml(text) : decodeJson(text);
      const config = decoded.value as KubeObject;
      if (!config || typeof config !== "object" || Array.isArray(config)) throw badRequest("the apply configuration must be an object");
      config.metadata ??= {};
      this.checkFields(def, config, decoded, mode, req.ctx);
      if (!config.apiVersion || !config.kind) throw badRequest("the apply configuration must set apiVersion and kind");
      const force = isTrue(query.get("force"));
      const r = await store.update(
        req.ctx,
        ns,
        info.name,
        (cur) => {
          const merged = serverSideApply({ live: cur, config, manager, force, schema, resolver, apiVersion: store.apiVersion, now: req.ctx.now, subresource: sub || undefined });
          if (cur) merged.metadata.resourceVersion = config.metadata.resourceVersion ?? cur.metadata.resourceVersion;
          return merged;
        },
        { subresource: sub, createIfMissing: sub === "", fieldManager: manager, manager: false },
      );
      await this.settled(store, req, r.obj);
      return this.render(def, req, r.obj, r.created ? 201 : 200);
    }

    const decoded = decodeJson(text);
    const patchDoc = decoded.value;
    if (type !== "json" && (patchDoc === null || typeof patchDoc !== "object" || Array.isArray(patchDoc)))
      throw badRequest("the patch must be a JSON object");
    const r = await store.update(
      req.ctx,
      ns,
      info.name,
      (cur) => {
        if (!cur) return { metadata: { name: info.name } } as KubeObject; // store answers 404
        let next: unknown;
        if (type === "json") next = applyJsonPatch(cur, patchDoc);
        else if (type === "merge") next = applyMergePatch(cur, patchDoc);
        else next = applyStrategicMergePatch(cur, patchDoc, schema, resolver);
        this.checkFields(def, next, { value: next, duplicateFields: type === "json" ? [] : decoded.duplicateFields }, mode, req.ctx);
        return next as KubeObject;
      },
      { subresource: sub, createIfMissing: false, fieldManager: manager },
    );
    await this.settled(store, req, r.obj);
    return this.render(def, req, r.obj);
  }

  async delete(store: ResourceStore, req: ApiRequest): Promise<ApiResponse> {
    const { info } = req;
    const opts = deleteOptionsOf(req);
    const ns = store.def.namespaced ? info.namespace : "";
    const r = await store.delete(req.ctx, ns, info.name, opts);
    return { code: 200, body: r.obj };
  }

  async deleteCollection(store: ResourceStore, req: ApiRequest): Promise<ApiResponse> {
    const { info } = req;
    const opts = deleteOptionsOf(req);
    const ns = store.def.namespaced ? info.namespace : "";
    const listOpts = this.listOptions(store, req.query);
    delete listOpts.limit;
    const r = await store.list(ns, listOpts);
    const gone: KubeObject[] = [];
    for (const it of r.items) {
      try {
        gone.push((await store.delete(req.ctx, it.metadata.namespace ?? "", it.metadata.name ?? "", opts)).obj);
      } catch (e) {
        if ((e as { reason?: string }).reason !== "NotFound") throw e;
      }
    }
    return { code: 200, body: { kind: store.def.listKind, apiVersion: store.apiVersion, metadata: { resourceVersion: String(store.cache.rev) }, items: gone } };
  }
}

export function includeOf(query: URLSearchParams): IncludeObject {
  const v = query.get("includeObject");
  if (v === "None" || v === "Object" || v === "Metadata") return v;
  if (v) throw badRequest(`includeObject: Unsupported value: "${v}": supported values: "Metadata", "None", "Object"`);
  return "Metadata";
}

function deleteOptionsOf(req: ApiRequest): DeleteOptions {
  const body = decodeOptionalBody(req.body, header(req, "content-type")) as Record<string, unknown> | undefined;
  if (body !== undefined && (body === null || typeof body !== "object" || Array.isArray(body))) throw badRequest("DeleteOptions must be a JSON object");
  const o: DeleteOptions = {};
  const b = body ?? {};
  const q = req.query;
  const grace = q.get("gracePeriodSeconds") ?? b.gracePeriodSeconds;
  if (grace !== undefined && grace !== null) {
    if (typeof grace !== "string" && typeof grace !== "number")
      throw badRequest(`json: cannot unmarshal ${Array.isArray(grace) ? "array" : typeof grace} into Go struct field DeleteOptions.gracePeriodSeconds of type int64`);
    const n = Number(grace);
    if (!Number.isInteger(n)) throw badRequest(`gracePeriodSeconds must be an integer, got ${JSON.stringify(grace)}`);
    o.gracePeriodSeconds = n;
  }
  const policy = q.get("propagationPolicy") ?? b.propagationPolicy;
  if (policy !== undefined && policy !== null) {
    if (policy !== "Orphan" && policy !== "Background" && policy !== "Foreground")
      throw badRequest(`propagationPolicy: Unsupported value: ${JSON.stringify(policy)}: supported values: "Foreground", "Background", "Orphan"`);
    o.propagationPolicy = policy;
  }
  const orphan = q.get("orphanDependents") ?? b.orphanDependents;
  if (orphan !== undefined && orphan !== null) o.orphanDependents = orphan === true || orphan === "true";
  const pre = b.preconditions as { uid?: unknown; resourceVersion?: unknown } | undefined;
  if (pre && typeof pre === "object") {
    o.preconditions = {};
    if (typeof pre.uid === "string") o.preconditions.uid = pre.uid;
    if (typeof pre.resourceVersion === "string") o.preconditions.resourceVersion = pre.resourceVersion;
  }
  const dry = b.dryRun;
  if (Array.isArray(dry) && dry.length > 0) {
    if (dry.some((d) => d !== "All")) throw invalid({ group: "meta.k8s.io", kind: "DeleteOptions" }, "", [field.notSupported("dryRun", dry, ["All"])]);
    req.ctx.dryRun = true;
  }
  return o;
}
