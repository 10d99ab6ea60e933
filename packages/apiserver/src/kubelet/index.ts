// Book 9.2: the kubelet's logs/exec contract, the API server's proxy to it, and the test stand-in.
export * from "./contract.js";
export * from "./proxy.js";
export * from "./standin.js";
