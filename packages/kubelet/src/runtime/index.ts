// Book 3.3-3.4, 9.3-9.4: the kubelet's container runtime: CRI types and the Linux-tools implementation.
export * from "./cri.js";
export { LinuxRuntime, type PlaceContext, type RuntimeOptions } from "./runtime.js";
export { computeCapabilities, capabilityMask, DEFAULT_CAPABILITIES, resolveInRoot, shellQuote } from "./spec.js";
export { parseCriLog, logMessages, MAX_LOG_LINE } from "./log.js";
export { buildBusyboxRootfs } from "./testing.js";
