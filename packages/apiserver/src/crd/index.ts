// Book 11.2: CustomResourceDefinitions — extending the API server with new kinds. The pieces the
// server wires in: the CRD resource itself, and the ResourceDefs and schemas each CRD turns into.
export { customResourceDefinitionsDef, crdTable, defaultCRD, establish, storageVersion } from "./definition.js";
export { crdToResourceDefs, crdSchemas, customResourceTable, pruneCustomResource, schemaNameFor, toSchema } from "./resources.js";
export { validateCRD, validateCRDUpdate, validateCRDStatus, validateStoredVersions, nameConflicts, isDNS1035Label } from "./validation.js";
export type { ServedNames } from "./validation.js";
export { validateCRDSchema } from "./structural.js";
export { pruneUnknownFields } from "./prune.js";
export { applyDefaults } from "./defaulting.js";
export { compileSchema, cachedValidator, forgetValidators } from "./schema-validator.js";
export type { SchemaValidator } from "./schema-validator.js";
export { parseJsonPath, findAll, findFirst, jsonPathProblem, JsonPathError } from "./jsonpath.js";
export type { JsonPath, JsonPathStep } from "./jsonpath.js";
export { humanDuration, ageOf } from "./age.js";
export { re2ToJs, patternProblem, PatternError } from "./regex.js";
export * from "./types.js";
