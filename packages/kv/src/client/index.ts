// Book 12.10: the etcd v3 JSON client's public surface, used by kvctl, benchmarks, tests and the
// apiserver's storage layer.
export { EtcdClient } from "./client.js";
export { Watch, type WatchOptions } from "./watch.js";
export { LeaseKeepAlive, type KeepAliveOptions } from "./keepalive.js";
export { normalizeEndpoint, parseEndpoints } from "./transport.js";
export { FROM_KEY, prefixEnd, prefixRange } from "./keys.js";
export type * from "./types.js";
