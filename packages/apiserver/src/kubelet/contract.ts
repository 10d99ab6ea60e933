// Book 9.2: the kubelet's logs/exec contract now lives in @corekube/api (shared with the real
// kubelet); this module re-exports it so the API server's imports stay as they were.
export * from "@corekube/api/kubelet-contract";
