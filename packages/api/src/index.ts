// Book 1.6.1 and 11.2: the Kubernetes API's shared vocabulary — selectors, quantities and Status
// errors — used by the API server and every client. Pure code, no I/O.
export * from "./labels.js";
export * from "./fields.js";
export * from "./status.js";
export * from "./quantity.js";
export * from "./events.js";
export * from "./core-types.js";
export * from "./quota.js";
export * from "./qos.js";
export * from "./node-lease.js";
export * from "./kubelet-contract.js";
