// Book 5.2 and 10.1: corekube proxy: Services to iptables rules, as kube-proxy's iptables mode.
export * from "./types.js";
export * from "./render.js";
export * from "./iptables.js";
export * from "./runner.js";
export * from "./proxier.js";
export * from "./run.js";
