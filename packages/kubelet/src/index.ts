// Book 9.1-9.3: the kubelet: the node agent that turns pods bound to its node into processes.
export * from "./cgroups/index.js";
export * from "./cni/spec.js";
export { CniClient, type CniClientOptions, type PodNetworkRequest, loadFirstNetwork, listConfFiles, findPlugin, DEFAULT_CONF_DIR, DEFAULT_BIN_DIRS, DEFAULT_CACHE_DIR } from "./cni/client.js";
export { nodeNetworkConfig, writeNodeConflist, type NodeNetworkOptions, DEFAULT_CONFLIST_NAME } from "./cni/conf.js";
export { ensureEgressGuard, ensurePodNat, removePodNat } from "./cni/bridge/netfilter.js";
export { removeBridgeNetwork, PLUGIN_TYPE, DEFAULT_BRIDGE } from "./cni/bridge/plugin.js";
export { IpamStore } from "./cni/bridge/ipam.js";
export * from "./images/reference.js";
export * from "./images/oci.js";
export * from "./images/store.js";
export * from "./images/oci-layout.js";
export * from "./images/pull.js";
export * from "./runtime/index.js";
export * from "./probes/index.js";
export * from "./volumes/index.js";
export * from "./server/index.js";
export * from "./kubelet.js";
