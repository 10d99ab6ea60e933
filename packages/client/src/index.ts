// Book 11.2: corekube's client library (client-go's shapes in TypeScript): kubeconfig, REST and watch,
// Reflector -> Store -> shared informers and listers, work queues, leader election and Events.
export * from "./kubeconfig.js";
export * from "./resources.js";
export * from "./flowcontrol.js";
export * from "./rest.js";
export * from "./store.js";
export * from "./reflector.js";
export * from "./informer.js";
export * from "./workqueue.js";
export * from "./leaderelection.js";
export * from "./events.js";
