// Book 5.2 and 10.3: corekube's cluster DNS: the record index, the server, forwarding and its runner.
export * from "./records.js";
export * from "./forward.js";
export * from "./metrics.js";
export * from "./server.js";
export * from "./http.js";
export * from "./watch.js";
export * from "./run.js";
export * from "./stub.js";
