// Book 9.3: container probes (readiness, liveness, startup): the spec, one run, and the workers that
// turn runs into the verdicts behind a pod's Ready condition and container restarts.
export * from "./types.js";
export * from "./run.js";
export * from "./timers.js";
export * from "./manager.js";
