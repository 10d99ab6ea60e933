// Book 12.3-12.4: the Raft core's public face: RawNode, MemoryStorage and the shared types.
export * from "./types.js";
export { MemoryStorage } from "./memory-storage.js";
export { RawNode } from "./rawnode.js";
