// Book 12.10: EtcdClient — an etcd v3 client over the JSON gateway that works the same against
// etcd and `corekube kv`: KV, txn, compaction, leases, watch, cluster membership and maintenance.
import {
  type Bytes, type CompactionRequest, type CompactionResponse, type DeleteRangeRequest,
  type DeleteRangeResponse, EtcdError, GrpcCode, type Id, type KeyValue, type LeaseGrantRequest,
  type LeaseGrantResponse, type LeaseTimeToLiveResponse, type PutRequest, type PutResponse,
  type RangeRequest, type RangeResponse, type ResponseHeader, type TxnRequest, type TxnResponse,
} from "../types.js";
import type { WatchCreateRequest } from "../watch/types.js";
import { type KeepAliveOptions, keepAliveOnce, LeaseKeepAlive } from "./keepalive.js";
import { Transport } from "./transport.js";
import type {
  CallOptions, EtcdClientOptions, HealthResponse, LeaseKeepAliveResponse, LeaseLeasesResponse,
  MemberAddResponse, MemberListResponse, StatusResponse, VersionResponse,
} from "./types.js";
import { decodeHeader, str } from "./wire-base.js";
import {
  decodeDeleteRange, decodePut, decodeRange, encodeCompaction, encodeDeleteRange, encodePut, encodeRange,
} from "./wire-kv.js";
import {
  decodeHealth, decodeLeaseGrant, decodeLeaseLeases, decodeLeaseTimeToLive, decodeMemberAdd,
  decodeMemberList, decodeStatus,
} from "./wire-ops.js";
import { decodeTxn, encodeTxn } from "./wire-txn.js";
import { Watch, type WatchOptions } from "./watch.js";

const V3 = "/v3";

export class EtcdClient {
  private readonly t: Transport;
  private readonly watches = new Set<Watch>();
  private readonly keepAlives = new Set<LeaseKeepAlive>();

  constructor(opts: EtcdClientOptions | string | string[]) {
    this.t = new Transport(typeof opts === "string" || Array.isArray(opts) ? { endpoints: opts } : opts);
  }

  /** The normalized endpoint URLs, in configuration order. */
  get endpoints(): string[] {
    return [...this.t.endpoints];
  }

  // ---- KV ----

  async range(req: RangeRequest, opts?: CallOptions): Promise<RangeResponse> {
    return decodeRange(await this.t.call(`${V3}/kv/range`, encodeRange(req), true, opts));
  }

  /** One key's current value (or at `revision`), undefined when absent. */
  async get(key: Bytes, opts?: CallOptions & { revision?: number; serializable?: boolean }): Promise<KeyValue | undefined> {
    const r = await this.range({ key, revision: opts?.revision, serializable: opts?.serializable }, opts);
    return r.kvs[0];
  }

  async put(req: PutRequest, opts?: CallOptions): Promise<PutResponse> {
    return decodePut(await this.t.call(`${V3}/kv/put`, encodePut(req), false, opts));
  }

  async deleteRange(req: DeleteRangeRequest, opts?: CallOptions): Promise<DeleteRangeResponse> {
    return decodeDeleteRange(await this.t.call(`${V3}/kv/deleterange`, encodeDeleteRange(req), false, opts));
  }

  async txn(req: TxnRequest, opts?: CallOptions): Promise<TxnResponse> {
    const writes = [...req.success, ...req.failure].some((op) => !("requestRange" in op));
    return decodeTxn(await this.t.call(`${V3}/kv/txn`, encodeTxn(req), !writes, opts), req);
  }

  async compact(req: CompactionRequest | number, opts?: CallOptions): Promise<CompactionResponse> {
    const r = typeof req === "number" ? { revision: req } : req;
    const j = await this.t.call(`${V3}/kv/compaction`, encodeCompaction(r), false, opts);
    return { header: decodeHeader(j.header) };
  }

  // ---- leases ----

  async leaseGrant(req: LeaseGrantRequest | number, opts?: CallOptions): Promise<LeaseGrantResponse> {
    const r = typeof req === "number" ? { TTL: req } : req;
    const body = { TTL: String(Math.trunc(r.TTL)), ID: r.ID ?? "0" };
    return decodeLeaseGrant(await this.t.call(`${V3}/lease/grant`, body, false, opts));
  }

  async leaseRevoke(id: Id, opts?: CallOptions): Promise<{ header: ResponseHeader }> {
    const j = await this.t.call(`${V3}/lease/revoke`, { ID: id }, false, opts);
    return { header: decodeHeader(j.header) };
  }

  async leaseTimeToLive(id: Id, opts?: CallOptions & { keys?: boolean }): Promise<LeaseTimeToLiveResponse> {
    const keys = opts?.keys === true;
    const body = keys ? { ID: id, keys: true } : { ID: id };
    return decodeLeaseTimeToLive(await this.t.call(`${V3}/lease/timetolive`, body, true, opts), keys);
  }

  async leaseLeases(opts?: CallOptions): Promise<LeaseLeasesResponse> {
    return decodeLeaseLeases(await this.t.call(`${V3}/lease/leases`, {}, true, opts));
  }

  /** Renews once; EtcdError "requested lease not found" when the lease is gone. */
  leaseKeepAliveOnce(id: Id, opts?: CallOptions): Promise<LeaseKeepAliveResponse> {
    return keepAliveOnce(this.t, id, opts);
  }

  /** Starts renewing every TTL/3 until stop(); `done` rejects if the lease is lost. */
  leaseKeepAlive(id: Id, opts?: KeepAliveOptions): LeaseKeepAlive {
    const ka = new LeaseKeepAlive(this.t, id, opts);
    this.keepAlives.add(ka);
    void ka.done.finally(() => this.keepAlives.delete(ka)).catch(() => undefined);
    return ka;
  }

  // ---- watch ----

  /** Opens a watch on its own stream. Iterate it for responses; `await w.created` to know it started. */
  watch(req: WatchCreateRequest, opts?: WatchOptions): Watch {
    const w: Watch = new Watch(this.t, req, opts, () => this.watches.delete(w));
    this.watches.add(w);
    return w;
  }

  // ---- cluster ----

  async memberList(opts?: CallOptions): Promise<MemberListResponse> {
    return decodeMemberList(await this.t.call(`${V3}/cluster/member/list`, {}, true, opts));
  }

  async memberAdd(peerURLs: string[], opts?: CallOptions & { isLearner?: boolean }): Promise<MemberAddResponse> {
    const body = opts?.isLearner ? { peerURLs, isLearner: true } : { peerURLs };
    return decodeMemberAdd(await this.t.call(`${V3}/cluster/member/add`, body, false, opts));
  }

  async memberRemove(id: Id, opts?: CallOptions): Promise<MemberListResponse> {
    return decodeMemberList(await this.t.call(`${V3}/cluster/member/remove`, { ID: id }, false, opts));
  }

  async memberPromote(id: Id, opts?: CallOptions): Promise<MemberListResponse> {
    return decodeMemberList(await this.t.call(`${V3}/cluster/member/promote`, { ID: id }, false, opts));
  }

  // ---- maintenance ----

  /** Status of one member: the endpoint in `opts.endpoint`, else whichever answers first. */
  async status(opts?: CallOptions): Promise<StatusResponse> {
    return decodeStatus(await this.t.call(`${V3}/maintenance/status`, {}, true, opts));
  }

  /** GET /health of one endpoint (default: the first that answers). 503 answers are unhealthy, not errors. */
  health(opts?: CallOptions): Promise<HealthResponse> {
    return this.t.withFailover(true, opts ?? {}, async (ep) => {
      const { status, json, raw } = await this.t.send(ep, "GET", "/health", undefined, opts);
      if (status !== 200 && status !== 503) throw new EtcdError(GrpcCode.Unknown, `HTTP ${status}: ${raw.slice(0, 200)}`);
      return decodeHealth(json);
    });
  }

  async version(opts?: CallOptions): Promise<VersionResponse> {
    return this.t.withFailover(true, opts ?? {}, async (ep) => {
      const { json } = await this.t.send(ep, "GET", "/version", undefined, opts);
      return { etcdserver: str(json.etcdserver), etcdcluster: str(json.etcdcluster) };
    });
  }

  /** Transfers leadership to `targetId`. The request must reach the leader, so without
   * `opts.endpoint` the client finds the leader's endpoint from each endpoint's status. */
  async moveLeader(targetId: Id, opts?: CallOptions): Promise<{ header: ResponseHeader }> {
    const endpoint = opts?.endpoint ?? (await this.leaderEndpoint(opts));
    const j = await this.t.call(`${V3}/maintenance/transfer-leadership`, { targetID: targetId }, false, { ...opts, endpoint });
    return { header: decodeHeader(j.header) };
  }

  /** The configured endpoint whose member is the leader. */
  async leaderEndpoint(opts?: CallOptions): Promise<string> {
    let last: unknown;
    for (const ep of this.t.endpoints) {
      try {
        const s = await this.status({ ...opts, endpoint: ep });
        if (s.leader !== "0" && s.leader === s.header.memberId) return ep;
      } catch (e) {
        last = e;
      }
    }
    if (last instanceof EtcdError) throw last;
    throw new EtcdError(GrpcCode.FailedPrecondition, "no leader among the given endpoints");
  }

  /** Ends every watch and keep-alive of this client and closes its connections. */
  async close(): Promise<void> {
    for (const w of [...this.watches]) w.cancel();
    for (const k of this.keepAlives) k.stop();
    this.watches.clear();
    this.keepAlives.clear();
    await this.t.close();
  }
}
