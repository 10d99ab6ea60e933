// Book 9.2: the kubelet's HTTPS API (port 10250): logs, exec, pods, stats and metrics.
export { KubeletServer, subresourceOf, type KubeletServerOptions, type KubeletUser, type KubeletRequestAttributes, type KubeletAuthorizer } from "./server.js";
export {
  readContainerLog,
  findTailStart,
  parseCriRecord,
  parseTimeNs,
  formatLogTime,
  sinceNs,
  type ContainerLogFile,
  type LogSource,
  type CriRecord,
  type ReadLogOptions,
  type LogSink,
} from "./logs.js";
export { runExecSession } from "./exec.js";
export { WsConnection, acceptWebSocket, handshakeProblem, refuseUpgrade, websocketAccept, type WsOptions } from "./websocket.js";
export * from "./types.js";
