// Book 11.2: the API server's schemas — every built-in kind in Kubernetes' OpenAPI dialect, a resolver
// over them, and the strict field validation and pruning built on top.
export type { GroupVersionKind, Schema, SchemaResolver } from "./types.js";
export { builtinSchemas } from "./builtin.js";
export { createResolver, crSchemaName, gvkKey, refName } from "./resolver.js";
export {
  duplicateFieldMessage,
  MAX_JSON_DEPTH,
  parseJsonStrict,
  prune,
  unknownFieldMessage,
  unknownFields,
} from "./strict.js";
export { REF_PREFIX } from "./dsl.js";
