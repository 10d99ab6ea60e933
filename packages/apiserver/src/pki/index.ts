// Book 14.1: the cluster's PKI — CA, certificates and kubeconfig files — in one import.
export * from "./certs.js";
export * from "./pki.js";
export * from "./kubeconfig.js";
