// Book 9.1-9.3: the kubelet: the node agent that turns pods bound to its node into processes.
export * from "./cgroups/index.js";
