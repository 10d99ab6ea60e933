// Book 11.3: corekube's controllers: each a pure reconcile plus its informer wiring.
export * from "./framework/types.js";
export * from "./framework/owners.js";
export * from "./framework/pods.js";
export * from "./framework/controller.js";
export * from "./replicaset/reconcile.js";
export * from "./replicaset/expectations.js";
export * from "./namespace/reconcile.js";
export * from "./serviceaccount/reconcile.js";
export * from "./endpoints/reconcile.js";
export * from "./job/reconcile.js";
