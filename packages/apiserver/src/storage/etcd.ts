// Book 12.2-12.3: the API server's storage interface over etcd's v3 API — objects are JSON values
// under /registry/..., resourceVersion is the key's mod_revision, and every conditional write is an
// etcd transaction (create-if-absent, update-if-unchanged), as kube-apiserver's etcd3 store does.
import { EtcdClient, prefixEnd } from "@corekube/kv/client/index";
import type { KeyValue, TxnResponse } from "@corekube/kv/types";
import { EtcdError } from "@corekube/kv/types";
import { failure, internalError, resourceExpired, serviceUnavailable } from "@corekube/api";
import type { KubeObject } from "../registry/types.js";

/** etcd keys and values travel as latin1 "binary strings"; our values are UTF-8 JSON. */
export const toBinary = (s: string): string => Buffer.from(s, "utf8").toString("latin1");
export const fromBinary = (b: string): string => Buffer.from(b, "latin1").toString("utf8");

export interface StoredObject {
  key: string;
  obj: KubeObject;
  /** mod_revision: the object's resourceVersion. */
  rev: number;
}

export interface ListPage {
  items: StoredObject[];
  /** The revision the page was read at. */
  revision: number;
  /** More keys after the last item. */
  more: boolean;
}

export type WriteResult =
  | { ok: true; rev: number }
  | { ok: false; current?: StoredObject };

/** Decodes a stored value; sets metadata.resourceVersion from the revision. */
export function decode(kv: KeyValue): StoredObject {
  let obj: KubeObject;
  try {
    obj = JSON.parse(fromBinary(kv.value)) as KubeObject;
  } catch (e) {
    throw internalError(new Error(`stored object at ${kv.key} is not valid JSON: ${(e as Error).message}`));
  }
  obj.metadata ??= {};
  obj.metadata.resourceVersion = String(kv.modRevision);
  return { key: kv.key, obj, rev: kv.modRevision };
}

/** The stored form: resourceVersion is never stored (it is the key's revision). */
export function encode(obj: KubeObject): string {
  const { resourceVersion: _rv, ...meta } = obj.metadata;
  return toBinary(JSON.stringify({ ...obj, metadata: meta }));
}

/** Maps storage failures to API errors: unreachable → 503, compacted → 410, anything else → 500. */
export function storageError(e: unknown): Error {
  if (e instanceof EtcdError) {
    if (/compacted/.test(e.message)) return resourceExpired("The resourceVersion for the provided list is too old.");
    if (/future revision/.test(e.message)) return failure(504, "Timeout", "Too large resource version");
    if (e.code === 14 || e.code === 4) return serviceUnavailable(`storage is unavailable: ${e.message}`);
  }
  if (e && typeof e === "object" && "code" in e && typeof (e as { code: unknown }).code === "number") return e as unknown as Error;
  return internalError(e);
}

export class EtcdStorage {
  readonly client: EtcdClient;

  constructor(endpoints: string[] | string) {
    this.client = new EtcdClient({ endpoints, timeoutMs: 10_000 });
  }

  async get(key: string): Promise<StoredObject | undefined> {
    try {
      const kv = await this.client.get(key);
      return kv ? decode(kv) : undefined;
    } catch (e) {
      throw storageError(e);
    }
  }

  /** One page of the keys under prefix, from startKey (inclusive), at a revision (0 = now). */
  async list(prefix: string, opts: { startKey?: string; limit?: number; revision?: number } = {}): Promise<ListPage> {
    try {
      const r = await this.client.range({
        key: opts.startKey ?? prefix,
        rangeEnd: prefixEnd(prefix),
        limit: opts.limit ?? 0,
        revision: opts.revision ?? 0,
      });
      return { items: r.kvs.map(decode), revision: r.header.revision, more: r.more };
    } catch (e) {
      throw storageError(e);
    }
  }

  /** The store's current revision (a cheap count-only range). */
  async currentRevision(): Promise<number> {
    try {
      const r = await this.client.range({ key: "/registry/", rangeEnd: prefixEnd("/registry/"), countOnly: true, limit: 1 });
      return r.header.revision;
    } catch (e) {
      throw storageError(e);
    }
  }

  /** Creates key only if absent; extra puts (e.g. an allocation record) join the same transaction. */
  async create(key: string, obj: KubeObject): Promise<WriteResult> {
    try {
      const r = await this.client.txn({
        compare: [{ key, target: "CREATE", result: "EQUAL", createRevision: 0 }],
        success: [{ requestPut: { key, value: encode(obj) } }],
        failure: [{ requestRange: { key } }],
      });
      return this.outcome(r);
    } catch (e) {
      throw storageError(e);
    }
  }

  /** Replaces key only if its mod_revision is still rev. */
  async update(key: string, obj: KubeObject, rev: number): Promise<WriteResult> {
    try {
      const r = await this.client.txn({
        compare: [{ key, target: "MOD", result: "EQUAL", modRevision: rev }],
        success: [{ requestPut: { key, value: encode(obj) } }],
        failure: [{ requestRange: { key } }],
      });
      return this.outcome(r);
    } catch (e) {
      throw storageError(e);
    }
  }

  /** Deletes key only if its mod_revision is still rev. */
  async delete(key: string, rev: number): Promise<WriteResult> {
    try {
      const r = await this.client.txn({
        compare: [{ key, target: "MOD", result: "EQUAL", modRevision: rev }],
        success: [{ requestDeleteRange: { key } }],
        failure: [{ requestRange: { key } }],
      });
      return this.outcome(r);
    } catch (e) {
      throw storageError(e);
    }
  }

  /** Raw create-if-absent of a small marker value (allocations); true when it was created. */
  async claim(key: string, value: string): Promise<boolean> {
    try {
      const r = await this.client.txn({
        compare: [{ key, target: "CREATE", result: "EQUAL", createRevision: 0 }],
        success: [{ requestPut: { key, value: toBinary(value) } }],
        failure: [],
      });
      return r.succeeded;
    } catch (e) {
      throw storageError(e);
    }
  }

  async release(key: string): Promise<void> {
    try {
      await this.client.deleteRange({ key });
    } catch (e) {
      throw storageError(e);
    }
  }

  /** Keys (no values) under a prefix. */
  async keys(prefix: string): Promise<{ key: string; value: string }[]> {
    try {
      const r = await this.client.range({ key: prefix, rangeEnd: prefixEnd(prefix) });
      return r.kvs.map((kv) => ({ key: kv.key, value: fromBinary(kv.value) }));
    } catch (e) {
      throw storageError(e);
    }
  }

  async compact(revision: number): Promise<void> {
    try {
      await this.client.compact({ revision, physical: false });
    } catch (e) {
      if (e instanceof EtcdError && /compacted/.test(e.message)) return;
      throw storageError(e);
    }
  }

  async close(): Promise<void> {
    await this.client.close();
  }

  private outcome(r: TxnResponse): WriteResult {
    if (r.succeeded) return { ok: true, rev: r.header.revision };
    const first = r.responses[0];
    const kv = first && "responseRange" in first ? first.responseRange.kvs[0] : undefined;
    return { ok: false, current: kv ? decode(kv) : undefined };
  }
}

export { prefixEnd };
