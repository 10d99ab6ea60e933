// Book 12: corekube's etcd — the pieces other packages use (the client and the shared types).
export * from "./types.js";
export type { KvService, StatusResponse } from "./service.js";
