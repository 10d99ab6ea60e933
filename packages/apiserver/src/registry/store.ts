// Book 11.2 and 12.2-12.3: the generic REST store every resource shares — create, get, list, update,
// patch and delete with Kubernetes' metadata rules (uid, generation, resourceVersion, finalizers,
// graceful deletion), optimistic concurrency on etcd revisions, and reads served by the watch cache.
import { randomUUID } from "node:crypto";
import { isDeepStrictEqual } from "node:util";
import {
  alreadyExists,
  badRequest,
  conflict,
  failure,
  field,
  invalid,
  isStatusError,
  notFound,
  resourceExpired,
  type FieldError,
  type FieldSelector,
  type Selector,
} from "@corekube/api";
import { passes, WatchCache, type CacheWatcher, type Filter } from "../cacher/watch-cache.js";
import { Reflector } from "../cacher/reflector.js";
import type { EtcdStorage, StoredObject } from "../storage/etcd.js";
import type { AdmissionChain, Rollback } from "./admission.js";
import { apiVersionOf, namespacePrefix, objectKey, resourcePrefix } from "./keys.js";
import type { KubeObject, ManagedFieldsEntry, RequestContext, ResourceDef } from "./types.js";
import { copyJson } from "./json-copy.js";

export type FieldValidation = "Strict" | "Warn" | "Ignore";

export interface WriteOptions {
  fieldManager?: string;
  fieldValidation?: FieldValidation;
}

export interface DeleteOptions {
  gracePeriodSeconds?: number;
  propagationPolicy?: "Orphan" | "Background" | "Foreground";
  orphanDependents?: boolean;
  preconditions?: { uid?: string; resourceVersion?: string };
}

export interface ListOptions {
  labels?: Selector;
  fields?: FieldSelector;
  limit?: number;
  continue?: string;
  resourceVersion?: string;
  resourceVersionMatch?: string;
}

export interface ListResult {
  items: KubeObject[];
  resourceVersion: string;
  continue?: string;
  remainingItemCount?: number;
}

/** Hooks the store needs from the rest of the server (managedFields, metadata validation). */
export interface StoreHooks {
  /** metadata rules for new objects (name, labels, annotations...). */
  validateMeta(obj: KubeObject, def: ResourceDef, create: boolean): FieldError[];
  validateMetaUpdate(obj: KubeObject, old: KubeObject): FieldError[];
  /** The managedFields after a non-apply write by `manager`. */
  managedFields(old: KubeObject | undefined, updated: KubeObject, manager: string, def: ResourceDef, ctx: RequestContext, subresource: string): ManagedFieldsEntry[] | undefined;
}

/** A change computed from the current object (undefined when it does not exist). */
export type Mutation = (current: KubeObject | undefined) => Promise<KubeObject> | KubeObject;

const NAME_CHARS = "bcdfghjklmnpqrstvwxz2456789";

export function generateName(base: string): string {
  let s = base.length > 58 ? base.slice(0, 58) : base;
  for (let i = 0; i < 5; i++) s += NAME_CHARS[Math.floor(Math.random() * NAME_CHARS.length)];
  return s;
}

/** When a grace period of `seconds` from `now` ends; capped at the last second RFC 3339 can write. */
function graceDeadline(now: Date, seconds: number): Date {
  return new Date(Math.min(now.getTime() + seconds * 1000, Date.UTC(9999, 11, 31, 23, 59, 59)));
}

/** RFC 3339 with seconds, as metav1.Time serializes. */
export function timestamp(d: Date): string {
  return d.toISOString().replace(/\.\d{3}Z$/, "Z");
}

// Deep copies go through copyJson (a plain JSON walk), which is much cheaper than structuredClone.
const clone = <T>(v: T): T => copyJson(v);

function setManaged(obj: KubeObject, mf: ManagedFieldsEntry[] | undefined): void {
  if (mf === undefined) return;
  if (mf.length) obj.metadata.managedFields = mf;
  else delete obj.metadata.managedFields;
}

/** Everything except metadata and status: a change here bumps metadata.generation. */
function specPart(obj: KubeObject): Record<string, unknown> {
  const { metadata: _m, status: _s, apiVersion: _a, kind: _k, ...rest } = obj;
  return rest;
}

interface ContinueToken {
  rv: number;
  start: string;
}

function encodeContinue(t: ContinueToken): string {
  return Buffer.from(JSON.stringify({ v: "meta.k8s.io/v1", rv: t.rv, start: t.start })).toString("base64url");
}

function decodeContinue(s: string, prefix: string): ContinueToken {
  try {
    const t = JSON.parse(Buffer.from(s, "base64url").toString("utf8")) as { v?: string; rv?: number; start?: string };
    if (t.v !== "meta.k8s.io/v1" || !Number.isSafeInteger(t.rv) || (t.rv as number) <= 0 || typeof t.start !== "string" || t.start.includes("..")) throw new Error();
    return { rv: t.rv as number, start: prefix + t.start };
  } catch {
    throw badRequest(`invalid continue token: "${s.slice(0, 64)}"`);
  }
}

export class ResourceStore {
  readonly prefix: string;
  readonly cache: WatchCache;
  readonly reflector: Reflector;
  private started?: Promise<void>;

  constructor(
    readonly def: ResourceDef,
    readonly storage: EtcdStorage,
    readonly admission: AdmissionChain,
    readonly hooks: StoreHooks,
    opts: { cacheCapacity?: number; onError?: (e: unknown) => void } = {},
  ) {
    this.prefix = resourcePrefix(def.storedAs ?? def);
    this.cache = new WatchCache({ prefix: this.prefix, capacity: opts.cacheCapacity });
    this.reflector = new Reflector(storage, this.cache, { onError: opts.onError });
  }

  get apiVersion(): string {
    return apiVersionOf(this.def);
  }

  /** Starts the watch cache (idempotent). */
  start(): Promise<void> {
    this.started ??= this.reflector.start();
    return this.started;
  }

  async stop(): Promise<void> {
    await this.reflector.stop();
  }

  key(namespace: string, name: string): string {
    const sa = this.def.storedAs;
    return objectKey(sa ? { group: sa.group, resource: sa.resource, namespaced: this.def.namespaced } : this.def, namespace, name);
  }

  /** The API's form of a stored object (the same object unless the resource is stored as another). */
  present = (obj: KubeObject): KubeObject => {
    const sa = this.def.storedAs;
    if (!sa) return obj;
    const out = sa.fromStorage(obj);
    out.metadata = obj.metadata;
    return out;
  };

  /** The stored form of an API object. */
  private stored(obj: KubeObject): KubeObject {
    const sa = this.def.storedAs;
    if (!sa) return obj;
    const out = sa.toStorage(obj);
    out.metadata = obj.metadata;
    return out;
  }

  fieldsOf = (obj: KubeObject): Record<string, string> => {
    const base: Record<string, string> = { "metadata.name": obj.metadata.name ?? "" };
    if (this.def.namespaced) base["metadata.namespace"] = obj.metadata.namespace ?? "";
    return this.def.fields ? { ...base, ...this.def.fields(this.present(obj)) } : base;
  };

  filter(namespace: string, labels?: Selector, fields?: FieldSelector): Filter {
    return { keyPrefix: namespacePrefix(this.def, namespace), labels, fields, fieldsOf: this.fieldsOf };
  }

  private withKind(obj: KubeObject): KubeObject {
    obj.apiVersion = this.apiVersion;
    obj.kind = this.def.kind;
    return obj;
  }

  /** A consistent read (storage), as GET without resourceVersion is in Kubernetes. */
  async get(namespace: string, name: string, resourceVersion?: string): Promise<KubeObject> {
    const key = this.key(namespace, name);
    let obj: KubeObject | undefined;
    if (resourceVersion && resourceVersion !== "") {
      await this.start();
      const rv = Number(resourceVersion);
      if (!Number.isSafeInteger(rv) || rv < 0) throw badRequest(`invalid resourceVersion: "${resourceVersion}"`);
      if (rv > 0) await this.syncTo(rv);
      const cached = this.cache.get(key);
      obj = cached ? this.present(clone(cached)) : undefined;
    } else {
      const got = (await this.storage.get(key))?.obj;
      obj = got ? this.present(got) : undefined;
    }
    if (!obj) throw notFound(this.def, name);
    return this.withKind(obj);
  }

  /** The current object from the cache (no copy: do not mutate). */
  peek(namespace: string, name: string): KubeObject | undefined {
    const o = this.cache.get(this.key(namespace, name));
    return o ? this.present(o) : undefined;
  }

  /**
   * List with Kubernetes' resourceVersion rules: unset → consistent (the cache catches up with
   * storage first); "0" → whatever the cache has; N → at least N. Continue pages come from storage
   * at the first page's revision (410 Expired once compacted).
   */
  async list(namespace: string, opts: ListOptions = {}): Promise<ListResult> {
    await this.start();
    const filter = this.filter(namespace, opts.labels, opts.fields);
    const limit = opts.limit && opts.limit > 0 ? opts.limit : 0;
    if (opts.continue) return this.listFromStorage(filter, limit, decodeContinue(opts.continue, this.prefix));
    const rvParam = opts.resourceVersion ?? "";
    // A consistent list comes from the cache once it has caught up with storage; if it cannot
    // within a few seconds (storage slow, or the cache stopped), straight from storage instead.
    if (rvParam === "") {
      if (!(await this.reflector.sync(undefined, 3_000))) return this.listExact(filter, limit, await this.storage.currentRevision());
    } else if (rvParam !== "0") {
      const rv = Number(rvParam);
      if (!Number.isSafeInteger(rv) || rv < 0) throw badRequest(`invalid resourceVersion: "${rvParam}"`);
      if (opts.resourceVersionMatch === "Exact") return this.listExact(filter, limit, rv);
      await this.syncTo(rv);
    }
    const rev = this.cache.rev;
    const page = this.cache.list(filter, { limit });
    const items = page.items.map((it) => this.present(it.obj));
    const out: ListResult = { items, resourceVersion: String(rev) };
    if (page.more && page.lastKey) out.continue = encodeContinue({ rv: rev, start: page.lastKey.slice(this.prefix.length) + "\0" });
    return out;
  }

  /** Waits (up to 3 s, like kube-apiserver) for the cache to reach rv; 504 Timeout otherwise. */
  private async syncTo(rv: number): Promise<void> {
    if (!(await this.reflector.sync(rv, 3_000))) throw failure(504, "Timeout", `Too large resource version: ${rv}, current: ${this.cache.rev}`);
  }

  private async listExact(filter: Filter, limit: number, rv: number): Promise<ListResult> {
    return this.listFromStorage(filter, limit, { rv, start: this.prefix + filter.keyPrefix });
  }

  private async listFromStorage(filter: Filter, limit: number, token: ContinueToken): Promise<ListResult> {
    const items: KubeObject[] = [];
    let start = token.start;
    const from = this.prefix + filter.keyPrefix;
    if (start < from) start = from;
    const batch = Math.max(limit, 500);
    for (;;) {
      let page;
      try {
        page = await this.storage.list(from, { startKey: start, limit: batch, revision: token.rv });
      } catch (e) {
        if ((e as { reason?: string }).reason === "Expired")
          throw resourceExpired("The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter.");
        throw e;
      }
      for (const it of page.items) {
        if (!this.passesFilter(filter, it)) continue;
        if (limit > 0 && items.length === limit) {
          const last = items[items.length - 1]!;
          const lastKey = this.key(last.metadata.namespace ?? "", last.metadata.name ?? "");
          return { items: items.map((o) => this.withKind(o)), resourceVersion: String(token.rv), continue: encodeContinue({ rv: token.rv, start: lastKey.slice(this.prefix.length) + "\0" }) };
        }
        items.push(this.present(it.obj));
      }
      if (!page.more || page.items.length === 0) break;
      start = page.items[page.items.length - 1]!.key + "\0";
    }
    return { items, resourceVersion: String(token.rv) };
  }

  private passesFilter(filter: Filter, it: StoredObject): boolean {
    return passes(filter, it.key, this.prefix.length, it.obj);
  }

  /** Registers a watcher on the cache; "expired" when fromRev is older than the cache's window. */
  async watch(w: CacheWatcher, resourceVersion: string | undefined): Promise<"ok" | "expired"> {
    await this.start();
    let from: number | undefined;
    if (resourceVersion === undefined || resourceVersion === "") {
      if (!(await this.reflector.sync(undefined, 3_000))) throw failure(504, "Timeout", "the watch cache did not catch up with storage in time; try again");
    } else if (resourceVersion !== "0") {
      from = Number(resourceVersion);
      if (!Number.isSafeInteger(from) || from < 0) throw badRequest(`invalid resourceVersion: "${resourceVersion}"`);
      await this.syncTo(from);
    }
    return this.cache.watch(w, from);
  }

  unwatch(w: CacheWatcher): void {
    this.cache.unwatch(w);
  }

  // ---------------------------------------------------------------------------------------------
  // Writes

  /** POST: a new object. */
  async create(ctx: RequestContext, input: KubeObject, opts: WriteOptions = {}): Promise<KubeObject> {
    const obj = clone(input);
    this.checkKind(obj);
    const meta = obj.metadata;
    if (this.def.namespaced) {
      if (meta.namespace && ctx.namespace && meta.namespace !== ctx.namespace)
        throw badRequest("the namespace of the provided object does not match the namespace sent on the request");
      meta.namespace = meta.namespace || ctx.namespace;
    } else {
      delete meta.namespace;
    }
    if (!meta.name && meta.generateName) meta.name = generateName(meta.generateName);
    this.prepareNew(obj, ctx);
    this.def.strategy.defaults?.(obj);
    this.def.strategy.prepareForCreate?.(obj, ctx);
    const rollback = await this.admission.admit({ operation: "CREATE", def: this.def, subresource: "", namespace: meta.namespace ?? "", name: meta.name ?? "", obj, ctx });
    try {
      this.validateCreate(obj, ctx);
      const mf = this.hooks.managedFields(undefined, obj, opts.fieldManager ?? defaultManager(ctx), this.def, ctx, "");
      setManaged(obj, mf);
      return await this.insert(obj, ctx);
    } catch (e) {
      await rollback();
      throw e;
    }
  }

  /** Stores an already prepared and validated object (create, and create-on-update/apply). */
  private async insert(obj: KubeObject, ctx: RequestContext): Promise<KubeObject> {
    this.withKind(obj);
    const key = this.key(obj.metadata.namespace ?? "", obj.metadata.name ?? "");
    if (ctx.dryRun) {
      const existing = await this.storage.get(key);
      if (existing) throw alreadyExists(this.def, obj.metadata.name ?? "");
      return obj;
    }
    const r = await this.storage.create(key, this.stored(obj));
    if (!r.ok) throw alreadyExists(this.def, obj.metadata.name ?? "");
    obj.metadata.resourceVersion = String(r.rev);
    return obj;
  }

  private checkKind(obj: KubeObject): void {
    if (!obj || typeof obj !== "object" || Array.isArray(obj)) throw badRequest("the body of the request is not a JSON object");
    if (obj.metadata === undefined || obj.metadata === null) obj.metadata = {};
    if (typeof obj.metadata !== "object" || Array.isArray(obj.metadata)) throw badRequest("metadata must be an object");
    if (obj.kind !== undefined && obj.kind !== "" && obj.kind !== this.def.kind)
      throw badRequest(`the kind of the provided object (${String(obj.kind)}) does not match the resource ${this.def.resource} (kind ${this.def.kind})`);
    if (obj.apiVersion !== undefined && obj.apiVersion !== "" && obj.apiVersion !== this.apiVersion)
      throw badRequest(`the API version in the data (${String(obj.apiVersion)}) does not match the expected API version (${this.apiVersion})`);
  }

  private prepareNew(obj: KubeObject, ctx: RequestContext): void {
    const meta = obj.metadata;
    meta.uid = randomUUID();
    meta.creationTimestamp = timestamp(ctx.now);
    meta.generation = 1;
    delete meta.resourceVersion;
    delete meta.deletionTimestamp;
    delete meta.deletionGracePeriodSeconds;
    delete meta.selfLink;
    // Status is written through /status only: built-ins start from an empty status, custom
    // resources from none at all (as kube-apiserver's CR strategy drops the field).
    if (this.def.subresources?.status && !this.def.strategy.keepStatusOnCreate) {
      if (this.def.crd) delete obj.status;
      else obj.status = {};
    }
  }

  private validateCreate(obj: KubeObject, ctx: RequestContext): void {
    const errs = [...this.hooks.validateMeta(obj, this.def, true), ...(this.def.strategy.validate?.(obj, ctx) ?? [])];
    if (errs.length) throw invalid(this.def, obj.metadata.name ?? obj.metadata.generateName ?? "", errs);
  }

  /**
   * Read-modify-write with optimistic concurrency: `mutate` gets the current object and returns
   * the desired one. If the desired object names a resourceVersion, it must still be current
   * (409 Conflict otherwise); if not, a concurrent change just means another try.
   */
  async update(
    ctx: RequestContext,
    namespace: string,
    name: string,
    mutate: Mutation,
    opts: WriteOptions & { subresource?: string; createIfMissing?: boolean; manager?: boolean } = {},
  ): Promise<{ obj: KubeObject; created: boolean }> {
    const key = this.key(namespace, name);
    const sub = opts.subresource ?? "";
    for (let attempt = 0; ; attempt++) {
      // The first try starts from the watch cache's copy, which saves a read from storage (as
      // kube-apiserver's GuaranteedUpdate does). The write is conditional on that copy's
      // revision, so a stale copy cannot be written over a newer object: the write fails and the
      // next try reads storage. Every other outcome that a stale copy could cause (an error, a
      // 409 for a resourceVersion that is in fact current, "nothing changed") also leads to a
      // try from storage, so what the client sees is what a storage read would have given.
      const cached = attempt === 0 && !ctx.dryRun ? this.cachedCurrent(key) : undefined;
      const cur = cached ?? (await this.storage.get(key));
      try {
        const result = await this.updateFrom(ctx, key, namespace, name, cur, cached !== undefined, mutate, opts, sub, attempt);
        if (result !== "retry") return result;
      } catch (e) {
        // An error found on the cache's copy is checked against storage; a storage failure (a
        // 5xx Status) is not retried, as before.
        if (!cached || (isStatusError(e) && e.code >= 500)) throw e;
      }
    }
  }

  /** The cache's current object for key, as storage would return it (undefined when absent). */
  private cachedCurrent(key: string): StoredObject | undefined {
    if (!this.cache.ready) return undefined;
    const obj = this.cache.get(key);
    const rev = Number(obj?.metadata.resourceVersion);
    if (!obj || !Number.isSafeInteger(rev) || rev <= 0) return undefined;
    // The cache's objects are shared and never changed: the update works on its own copy.
    return { key, obj: clone(obj), rev };
  }

  /** One try of update() from `cur`; "retry" when it must start again from storage. */
  private async updateFrom(
    ctx: RequestContext,
    key: string,
    namespace: string,
    name: string,
    cur: StoredObject | undefined,
    fromCache: boolean,
    mutate: Mutation,
    opts: WriteOptions & { subresource?: string; createIfMissing?: boolean; manager?: boolean },
    sub: string,
    attempt: number,
  ): Promise<{ obj: KubeObject; created: boolean } | "retry"> {
    {
      // cur.obj is this call's own copy (freshly decoded from storage, or copied from the cache).
      const currentObj = cur ? this.present(cur.obj) : undefined;
      const desired = clone(await mutate(currentObj ? clone(currentObj) : undefined));
      this.checkKind(desired);
      if (desired.metadata.name !== undefined && desired.metadata.name !== name)
        throw badRequest(`the name of the object (${String(desired.metadata.name)}) does not match the name on the URL (${name})`);
      if (this.def.namespaced && desired.metadata.namespace && desired.metadata.namespace !== namespace)
        throw badRequest("the namespace of the provided object does not match the namespace sent on the request");
      desired.metadata.name = name;
      if (this.def.namespaced) desired.metadata.namespace = namespace;
      else delete desired.metadata.namespace;
      const wantRv = desired.metadata.resourceVersion;
      if (!cur || !currentObj) {
        if (!opts.createIfMissing || sub !== "") throw notFound(this.def, name);
        if (wantRv) throw notFound(this.def, name);
        this.prepareNew(desired, ctx);
        this.def.strategy.defaults?.(desired);
        this.def.strategy.prepareForCreate?.(desired, ctx);
        const rollback = await this.admission.admit({ operation: "CREATE", def: this.def, subresource: "", namespace, name, obj: desired, ctx });
        try {
          this.validateCreate(desired, ctx);
          if (opts.manager !== false) {
            const mf = this.hooks.managedFields(undefined, desired, opts.fieldManager ?? defaultManager(ctx), this.def, ctx, "");
            setManaged(desired, mf);
          }
          return { obj: await this.insert(desired, ctx), created: true };
        } catch (e) {
          await rollback();
          if ((e as { reason?: string }).reason === "AlreadyExists" && attempt < 3) return "retry";
          throw e;
        }
      }
      if (wantRv !== undefined && wantRv !== "" && wantRv !== String(cur.rev)) throw this.conflictError(name);
      const next = this.prepareUpdate(desired, currentObj, ctx, sub);
      let rollback: Rollback = async () => undefined;
      rollback = await this.admission.admit({ operation: "UPDATE", def: this.def, subresource: sub, namespace, name, obj: next, old: currentObj, ctx });
      try {
        this.validateUpdate(next, currentObj, ctx, sub);
        if (opts.manager !== false) {
          const mf = this.hooks.managedFields(currentObj, next, opts.fieldManager ?? defaultManager(ctx), this.def, ctx, sub);
          setManaged(next, mf);
        }
        this.withKind(next);
        // Nothing changed: no write, no new resourceVersion (as Kubernetes).
        if (this.sameStored(next, currentObj)) {
          await rollback();
          // From the cache, "nothing changed" may be against an old copy: confirm with storage.
          if (fromCache) return "retry";
          return { obj: this.withKind(currentObj), created: false };
        }
        // The last finalizer of an object being deleted is gone: it is deleted now.
        if (next.metadata.deletionTimestamp && !this.blocked(next) && (next.metadata.deletionGracePeriodSeconds ?? 0) === 0) {
          if (ctx.dryRun) return { obj: next, created: false };
          const d = await this.storage.delete(key, cur.rev);
          if (!d.ok) {
            // Changed meanwhile: try again on the new state (a stale wantRv is caught above).
            await rollback();
            if (attempt > 50) throw this.conflictError(name);
            return "retry";
          }
          await this.admission.afterDelete(this.def, next);
          next.metadata.resourceVersion = String(d.rev);
          return { obj: next, created: false };
        }
        if (ctx.dryRun) {
          next.metadata.resourceVersion = String(cur.rev);
          return { obj: next, created: false };
        }
        const r = await this.storage.update(key, this.stored(next), cur.rev);
        if (!r.ok) {
          // Someone wrote in between. The mutation runs again on the new state: a request that
          // named a resourceVersion then fails the check above with 409; a patch applies anew.
          await rollback();
          if (attempt > 50) throw this.conflictError(name);
          return "retry";
        }
        next.metadata.resourceVersion = String(r.rev);
        return { obj: next, created: false };
      } catch (e) {
        await rollback();
        throw e;
      }
    }
  }

  private conflictError(name: string) {
    return conflict(this.def, name, "the object has been modified; please apply your changes to the latest version and try again");
  }

  private sameStored(a: KubeObject, b: KubeObject): boolean {
    const strip = (o: KubeObject) => {
      const { resourceVersion: _r, managedFields, ...m } = o.metadata;
      return { ...o, metadata: { ...m, managedFields: managedFields?.map(({ time: _t, ...e }) => e) } };
    };
    return isDeepStrictEqual(strip(a), strip(b));
  }

  /** Kubernetes' update rules for system metadata, status/spec separation and generation. */
  private prepareUpdate(desired: KubeObject, old: KubeObject, ctx: RequestContext, sub: string): KubeObject {
    const om = old.metadata;
    if (sub === "status") {
      // Only status changes through /status; everything else stays as stored.
      const next: KubeObject = { ...clone(old), status: desired.status };
      next.metadata.managedFields = desired.metadata.managedFields ?? om.managedFields;
      this.def.strategy.prepareForStatusUpdate?.(next, old, ctx);
      return next;
    }
    const next = desired;
    const m = next.metadata;
    m.uid = om.uid;
    m.creationTimestamp = om.creationTimestamp;
    m.generation = om.generation ?? 1;
    if (om.deletionTimestamp) {
      m.deletionTimestamp = om.deletionTimestamp;
      m.deletionGracePeriodSeconds = om.deletionGracePeriodSeconds;
    } else {
      delete m.deletionTimestamp;
      delete m.deletionGracePeriodSeconds;
    }
    if (m.managedFields === undefined) m.managedFields = om.managedFields;
    // The main resource cannot change status when status is a subresource; other subresources
    // (scale, binding, finalize) change exactly what their handler changed.
    if (sub === "" && this.def.subresources?.status) next.status = clone(old.status);
    this.def.strategy.defaults?.(next);
    if (sub === "") this.def.strategy.prepareForUpdate?.(next, old, ctx);
    // Compared after preparation: fields the strategy restores (a Service's clusterIP) are no change.
    if (!isDeepStrictEqual(specPart(next), specPart(old))) m.generation = (om.generation ?? 1) + 1;
    return next;
  }

  private validateUpdate(obj: KubeObject, old: KubeObject, ctx: RequestContext, sub: string): void {
    const s = this.def.strategy;
    let errs: FieldError[];
    if (sub === "status") errs = s.validateStatusUpdate?.(obj, old, ctx) ?? [];
    else if (sub === "")
      errs = [
        ...this.hooks.validateMeta(obj, this.def, false),
        ...this.hooks.validateMetaUpdate(obj, old),
        ...(s.validate?.(obj, ctx) ?? []),
        ...(s.validateUpdate?.(obj, old, ctx) ?? []),
      ];
    else errs = sub === "scale" ? (s.validate?.(obj, ctx) ?? []) : [];
    if (old.metadata.deletionTimestamp) {
      const added = (obj.metadata.finalizers ?? []).filter((f) => !(old.metadata.finalizers ?? []).includes(f));
      if (added.length) errs.push(field.forbidden("metadata.finalizers", `no new finalizers can be added if the object is being deleted, found new finalizers ${JSON.stringify(added)}`));
    }
    if (errs.length) throw invalid(this.def, obj.metadata.name ?? "", errs);
  }

  /** DELETE of one object: graceful deletion and finalizers as Kubernetes does them. */
  async delete(ctx: RequestContext, namespace: string, name: string, opts: DeleteOptions = {}): Promise<{ obj: KubeObject; deleted: boolean }> {
    const key = this.key(namespace, name);
    for (let attempt = 0; ; attempt++) {
      const cur = await this.storage.get(key);
      if (!cur) throw notFound(this.def, name);
      const obj = this.present(clone(cur.obj));
      const pre = opts.preconditions;
      if (pre?.uid && pre.uid !== obj.metadata.uid)
        throw conflict(this.def, name, `Precondition failed: UID in precondition: ${pre.uid}, UID in object meta: ${obj.metadata.uid ?? ""}`);
      if (pre?.resourceVersion && pre.resourceVersion !== String(cur.rev))
        throw conflict(this.def, name, `Precondition failed: ResourceVersion in precondition: ${pre.resourceVersion}, ResourceVersion in object meta: ${cur.rev}`);
      const rollback = await this.admission.admit({ operation: "DELETE", def: this.def, subresource: "", namespace, name, old: obj, ctx });
      try {
        const next = this.deletionState(obj, ctx, opts);
        if (next) {
          if (ctx.dryRun) return { obj: this.withKind(next), deleted: false };
          if (this.sameStored(next, obj)) return { obj: this.withKind(obj), deleted: false };
          const r = await this.storage.update(key, this.stored(next), cur.rev);
          if (!r.ok) {
            await rollback();
            if (attempt > 20) throw this.conflictError(name);
            continue;
          }
          next.metadata.resourceVersion = String(r.rev);
          return { obj: this.withKind(next), deleted: false };
        }
        if (ctx.dryRun) return { obj: this.withKind(obj), deleted: true };
        const r = await this.storage.delete(key, cur.rev);
        if (!r.ok) {
          await rollback();
          if (attempt > 20) throw this.conflictError(name);
          continue;
        }
        await this.admission.afterDelete(this.def, obj);
        return { obj: this.withKind(obj), deleted: true };
      } catch (e) {
        await rollback();
        throw e;
      }
    }
  }

  /** The object to keep (marked for deletion) or undefined to delete it now. */
  private deletionState(obj: KubeObject, ctx: RequestContext, opts: DeleteOptions): KubeObject | undefined {
    const meta = obj.metadata;
    const finalizers = [...(meta.finalizers ?? [])];
    const policy = opts.propagationPolicy ?? (opts.orphanDependents === true ? "Orphan" : opts.orphanDependents === false ? "Background" : undefined);
    if (policy === "Foreground" && !finalizers.includes("foregroundDeletion")) finalizers.push("foregroundDeletion");
    if (policy === "Orphan" && !finalizers.includes("orphan")) finalizers.push("orphan");
    if (opts.gracePeriodSeconds !== undefined && (!Number.isSafeInteger(opts.gracePeriodSeconds) || opts.gracePeriodSeconds < 0))
      throw invalid(this.def, meta.name ?? "", [field.invalid("gracePeriodSeconds", opts.gracePeriodSeconds, "must be greater than or equal to 0")]);
    let grace = this.gracePeriod(obj, opts);
    // The first delete of a namespace only starts its termination; it goes once its spec.finalizers
    // are empty (the namespace controller empties them after deleting what the namespace held).
    const nsFinalizers = this.isNamespaces() ? (((obj.spec ?? {}) as { finalizers?: string[] }).finalizers ?? []) : [];
    if (this.isNamespaces() && (nsFinalizers.length || !meta.deletionTimestamp)) {
      if (meta.deletionTimestamp) return obj;
      const next = clone(obj);
      next.metadata.deletionTimestamp = timestamp(ctx.now);
      next.metadata.deletionGracePeriodSeconds = 0;
      if (finalizers.length) next.metadata.finalizers = finalizers;
      next.status = { ...((next.status as object) ?? {}), phase: "Terminating" };
      return next;
    }
    if (meta.deletionTimestamp) {
      // Already being deleted: only a shorter grace period changes anything.
      const left = meta.deletionGracePeriodSeconds ?? 0;
      if (grace !== undefined && grace < left) {
        const next = clone(obj);
        next.metadata.deletionGracePeriodSeconds = grace;
        next.metadata.deletionTimestamp = timestamp(graceDeadline(ctx.now, grace));
        if (grace === 0 && !finalizers.length) return undefined;
        return next;
      }
      if (!finalizers.length && left === 0) return undefined;
      if (finalizers.length !== (meta.finalizers ?? []).length) return { ...clone(obj), metadata: { ...clone(meta), finalizers } };
      return obj;
    }
    if (grace === undefined) grace = 0;
    if (grace === 0 && finalizers.length === 0) return undefined;
    const next = clone(obj);
    next.metadata.deletionTimestamp = timestamp(graceDeadline(ctx.now, grace));
    next.metadata.deletionGracePeriodSeconds = grace;
    if (finalizers.length) next.metadata.finalizers = finalizers;
    return next;
  }

  private isNamespaces(): boolean {
    return this.def.group === "" && this.def.resource === "namespaces";
  }

  /** Whether finalizers still hold an object that is being deleted. */
  private blocked(obj: KubeObject): boolean {
    if (obj.metadata.finalizers?.length) return true;
    return this.isNamespaces() && Boolean(((obj.spec ?? {}) as { finalizers?: string[] }).finalizers?.length);
  }

  private gracePeriod(obj: KubeObject, opts: DeleteOptions): number | undefined {
    const fromKind = this.def.strategy.defaultGracePeriodSeconds;
    if (!fromKind) return undefined;
    if (this.def.group === "" && this.def.resource === "pods") {
      const spec = (obj.spec ?? {}) as { nodeName?: string };
      const phase = ((obj.status ?? {}) as { phase?: string }).phase;
      // Never scheduled, or finished: nothing on a node to stop, so it goes at once.
      if (!spec.nodeName || phase === "Succeeded" || phase === "Failed") return 0;
    }
    return opts.gracePeriodSeconds ?? fromKind(obj) ?? 0;
  }
}


/** Kubernetes names a manager after the client's user agent when the request gives none. */
export function defaultManager(ctx: RequestContext & { userAgent?: string }): string {
  const ua = ctx.userAgent ?? "unknown";
  const name = ua.split("/")[0] ?? "unknown";
  return name.length > 128 ? name.slice(0, 128) : name || "unknown";
}
