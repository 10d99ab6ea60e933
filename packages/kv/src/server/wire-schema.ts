// Book 12.3: the request messages of etcd's rpc.proto that our gateway accepts, as field tables:
// proto name, JSON (lowerCamel) name, field number, type. The decoder and the size check read them.

export type Scalar = "bytes" | "string" | "bool" | "int64" | "uint64";

export interface EnumDesc {
  /** Go type name, as it appears in etcd's error messages. */
  goName: string;
  values: Record<string, number>;
}

export interface MsgDesc {
  fields: FieldDesc[];
}

export interface FieldDesc {
  name: string;
  json: string;
  num: number;
  type: Scalar | { enum: EnumDesc } | { msg: () => MsgDesc };
  repeated?: boolean;
  /** Members of one oneof: at most one of them is set. */
  oneof?: string;
}

const camel = (s: string) => s.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());
const f = (name: string, num: number, type: FieldDesc["type"], extra: Partial<FieldDesc> = {}): FieldDesc => ({ name, json: camel(name), num, type, ...extra });
const msg = (d: () => MsgDesc) => ({ msg: d });

export const SortOrder: EnumDesc = { goName: "etcdserverpb.RangeRequest_SortOrder", values: { NONE: 0, ASCEND: 1, DESCEND: 2 } };
export const SortTarget: EnumDesc = { goName: "etcdserverpb.RangeRequest_SortTarget", values: { KEY: 0, VERSION: 1, CREATE: 2, MOD: 3, VALUE: 4 } };
export const CompareResult: EnumDesc = { goName: "etcdserverpb.Compare_CompareResult", values: { EQUAL: 0, GREATER: 1, LESS: 2, NOT_EQUAL: 3 } };
export const CompareTarget: EnumDesc = { goName: "etcdserverpb.Compare_CompareTarget", values: { VERSION: 0, CREATE: 1, MOD: 2, VALUE: 3, LEASE: 4 } };
export const FilterType: EnumDesc = { goName: "etcdserverpb.WatchCreateRequest_FilterType", values: { NOPUT: 0, NODELETE: 1 } };

export const RangeRequestDesc: MsgDesc = {
  fields: [
    f("key", 1, "bytes"), f("range_end", 2, "bytes"), f("limit", 3, "int64"), f("revision", 4, "int64"),
    f("sort_order", 5, { enum: SortOrder }), f("sort_target", 6, { enum: SortTarget }), f("serializable", 7, "bool"),
    f("keys_only", 8, "bool"), f("count_only", 9, "bool"), f("min_mod_revision", 10, "int64"),
    f("max_mod_revision", 11, "int64"), f("min_create_revision", 12, "int64"), f("max_create_revision", 13, "int64"),
  ],
};

export const PutRequestDesc: MsgDesc = {
  fields: [f("key", 1, "bytes"), f("value", 2, "bytes"), f("lease", 3, "int64"), f("prev_kv", 4, "bool"), f("ignore_value", 5, "bool"), f("ignore_lease", 6, "bool")],
};

export const DeleteRangeRequestDesc: MsgDesc = {
  fields: [f("key", 1, "bytes"), f("range_end", 2, "bytes"), f("prev_kv", 3, "bool")],
};

export const CompareDesc: MsgDesc = {
  fields: [
    f("result", 1, { enum: CompareResult }), f("target", 2, { enum: CompareTarget }), f("key", 3, "bytes"),
    f("range_end", 64, "bytes"),
    f("version", 4, "int64", { oneof: "target_union" }), f("create_revision", 5, "int64", { oneof: "target_union" }),
    f("mod_revision", 6, "int64", { oneof: "target_union" }), f("value", 7, "bytes", { oneof: "target_union" }),
    f("lease", 8, "int64", { oneof: "target_union" }),
  ],
};

export const RequestOpDesc: MsgDesc = {
  fields: [
    f("request_range", 1, msg(() => RangeRequestDesc), { oneof: "request" }),
    f("request_put", 2, msg(() => PutRequestDesc), { oneof: "request" }),
    f("request_delete_range", 3, msg(() => DeleteRangeRequestDesc), { oneof: "request" }),
    f("request_txn", 4, msg(() => TxnRequestDesc), { oneof: "request" }),
  ],
};

export const TxnRequestDesc: MsgDesc = {
  fields: [
    f("compare", 1, msg(() => CompareDesc), { repeated: true }),
    f("success", 2, msg(() => RequestOpDesc), { repeated: true }),
    f("failure", 3, msg(() => RequestOpDesc), { repeated: true }),
  ],
};

export const CompactionRequestDesc: MsgDesc = { fields: [f("revision", 1, "int64"), f("physical", 2, "bool")] };

export const LeaseGrantRequestDesc: MsgDesc = { fields: [f("TTL", 1, "int64"), f("ID", 2, "int64")] };
/** LeaseRevokeRequest and LeaseKeepAliveRequest: just the lease. */
export const LeaseIdRequestDesc: MsgDesc = { fields: [f("ID", 1, "int64")] };
export const LeaseTimeToLiveRequestDesc: MsgDesc = { fields: [f("ID", 1, "int64"), f("keys", 2, "bool")] };

export const EmptyDesc: MsgDesc = { fields: [] };

export const MemberAddRequestDesc: MsgDesc = { fields: [f("peerURLs", 1, "string", { repeated: true }), f("isLearner", 2, "bool")] };
export const MemberRemoveRequestDesc: MsgDesc = { fields: [f("ID", 1, "uint64")] };
export const MoveLeaderRequestDesc: MsgDesc = { fields: [f("targetID", 1, "uint64")] };

export const WatchCreateRequestDesc: MsgDesc = {
  fields: [
    f("key", 1, "bytes"), f("range_end", 2, "bytes"), f("start_revision", 3, "int64"), f("progress_notify", 4, "bool"),
    f("filters", 5, { enum: FilterType }, { repeated: true }), f("prev_kv", 6, "bool"), f("watch_id", 7, "int64"),
    f("fragment", 8, "bool"),
  ],
};

export const WatchRequestDesc: MsgDesc = {
  fields: [
    f("create_request", 1, msg(() => WatchCreateRequestDesc), { oneof: "request_union" }),
    f("cancel_request", 2, msg(() => ({ fields: [f("watch_id", 1, "int64")] })), { oneof: "request_union" }),
    f("progress_request", 3, msg(() => EmptyDesc), { oneof: "request_union" }),
  ],
};
