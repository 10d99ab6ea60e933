// Book 2.3.2 and 11.2.3: corekube's simulated nodes (like kwok): fake Nodes with heartbeats and a
// kubelet stand-in that moves their pods through Running, Succeeded/Failed and deletion.
export * from "./simulated-nodes.js";
export * from "./pod-lifecycle.js";
export * from "./node-objects.js";
export * from "./ipv4.js";
export * from "./duration.js";
export * from "./concurrency.js";
