// Book 11.2 and 12.3: server-side apply and metadata.managedFields — the public face of the
// field-ownership machinery (structured-merge-diff semantics, FieldsV1 encoding).
export { serverSideApply, type ServerSideApplyOptions } from "./apply.js";
export { updateManagedFields, type UpdateManagedFieldsOptions } from "./update.js";
export { FieldSet, FieldsV1Error } from "./fieldset.js";
export {
  fieldPE,
  formatPath,
  indexPE,
  keyPE,
  parsePE,
  serializePE,
  valuePE,
  type Path,
  type PathElement,
} from "./fieldpath.js";
export { toFieldSet } from "./to-fieldset.js";
export { compare, type Comparison } from "./compare.js";
export { merge } from "./merge.js";
export { removeItems } from "./remove.js";
export { TypedError } from "./list-items.js";
export { conflictError, describeManager, type Conflict } from "./conflicts.js";
export {
  capUpdateManagers,
  decodeManagedFields,
  encodeManagedFields,
  managerId,
  ManagedFieldsError,
  MAX_UPDATE_MANAGERS,
  type ManagerEntry,
  type Managers,
} from "./managers.js";
export { LAST_APPLIED_ANNOTATION } from "./last-applied.js";
export { OBJECT_META, shapeOf, type Shape, type TypeRef } from "./schema-shape.js";
