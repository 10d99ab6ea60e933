// Book 11.2 and 12.3: server-side apply (`kubectl apply --server-side`) — merge a manager's intent
// into the live object, delete what it stopped applying, and refuse to overwrite others' fields.
import { badRequest, field, internalError, invalid, type StatusError } from "@corekube/api";
import type { KubeObject } from "../../registry/types.js";
import type { Schema, SchemaResolver } from "../../schema/types.js";
import { ignoredFields, keepServerFieldsOnNull, STRIPPED, withoutManagedFields } from "./common.js";
import { compare } from "./compare.js";
import { ApplyConflicts, conflictError, type Conflict } from "./conflicts.js";
import type { FieldSet } from "./fieldset.js";
import { TypedError } from "./list-items.js";
import { decodeManagedFields, encodeManagedFields, formatTime, ManagedFieldsError, managerId, type Managers } from "./managers.js";
import { merge } from "./merge.js";
import { ensureNamedFieldsAreMembers, removeItems } from "./remove.js";
import type { TypeRef } from "./schema-shape.js";
import { toFieldSet } from "./to-fieldset.js";
import { allowedByLastApplied, LAST_APPLIED_ANNOTATION, lastAppliedValue } from "./last-applied.js";
import { compareStrings, deepEqual, isObject } from "./value.js";

export interface ServerSideApplyOptions {
  /** The stored object, or undefined when the apply creates it. */
  live: KubeObject | undefined;
  /** The applied configuration (the request body). */
  config: KubeObject;
  /** The fieldManager query parameter. */
  manager: string;
  /** force=true: take conflicting fields from their owners instead of failing. */
  force: boolean;
  /** The kind's schema (undefined: shapes are deduced from the values). */
  schema: Schema | undefined;
  resolver: SchemaResolver;
  /** The request's group/version, e.g. "apps/v1"; the configuration must use it. */
  apiVersion: string;
  now: Date;
  /** "status" when applying to the status subresource. */
  subresource?: string;
}

/** The manager kubectl uses for `apply --server-side`; it alone migrates client-side-apply state. */
const KUBECTL = "kubectl";

/**
 * Applies `config` for `manager` and returns the resulting object with its new
 * metadata.managedFields. Throws a 409 Conflict StatusError when another manager owns a field the
 * configuration changes (unless `force`), 400 for a malformed configuration.
 */
export function serverSideApply(opts: ServerSideApplyOptions): KubeObject {
  const { config, live } = opts;
  const subresource = opts.subresource ?? "";
  checkConfig(opts);
  let managers: Managers;
  try {
    managers = decodeManagedFields(live?.metadata?.managedFields);
  } catch (e) {
    if (e instanceof ManagedFieldsError) throw internalError(`failed to decode managed fields: ${e.message}`);
    throw e;
  }
  const root: TypeRef = { schema: opts.schema, resolver: opts.resolver, root: true };
  const ignored = ignoredFields(subresource);
  const liveObj = withoutManagedFields(live);

  let configSet: FieldSet;
  try {
    configSet = toFieldSet(config, root).recursiveDifference(ignored);
  } catch (e) {
    if (e instanceof TypedError) throw badRequest(`failed to create typed patch object: ${e.message}`);
    throw e;
  }

  const run = (force: boolean) => attempt(opts, managers, liveObj, configSet, root, ignored, force);
  let result: { object: Record<string, unknown>; managers: Managers };
  try {
    result = run(opts.force);
  } catch (e) {
    if (!(e instanceof ApplyConflicts)) throw wrap(e);
    try {
      result = retryAfterClientSideApply(opts, liveObj, root, e, () => run(true));
    } catch (again) {
      throw wrap(again);
    }
  }

  const out = result.object as KubeObject;
  if (!isObject(out.metadata)) out.metadata = {};
  if (opts.manager === KUBECTL && hasLastApplied(live)) {
    out.metadata.annotations = { ...(out.metadata.annotations ?? {}), [LAST_APPLIED_ANNOTATION]: lastAppliedValue(config) };
  }
  const entries = encodeManagedFields(result.managers);
  if (entries.length > 0) out.metadata.managedFields = entries;
  else delete out.metadata.managedFields;
  return out;
}

function checkConfig(opts: ServerSideApplyOptions): void {
  const { config } = opts;
  if (opts.manager === "") {
    throw invalid({ group: "meta.k8s.io", kind: "PatchOptions" }, "", [field.required("fieldManager", "is required for apply patch")]);
  }
  if (!isObject(config) || !isObject(config.metadata)) throw badRequest("the applied configuration must be an object with metadata");
  if (config.metadata.managedFields !== undefined && config.metadata.managedFields !== null) {
    throw badRequest("metadata.managedFields must be nil");
  }
  const kindMismatch = opts.live?.kind !== undefined && config.kind !== opts.live.kind;
  if (config.apiVersion !== opts.apiVersion || kindMismatch) {
    const gv = typeof config.apiVersion === "string" ? config.apiVersion : "";
    const slash = gv.indexOf("/");
    const group = slash < 0 ? "" : gv.slice(0, slash);
    const version = slash < 0 ? gv : gv.slice(slash + 1);
    throw badRequest(`invalid object type: ${group}/${version}, Kind=${typeof config.kind === "string" ? config.kind : ""}`);
  }
}

function wrap(e: unknown): unknown {
  if (e instanceof TypedError) return internalError(`failed to apply: ${e.message}`);
  return e;
}

/** One pass of apply; throws ApplyConflicts when `force` is false and others own changed fields. */
function attempt(
  opts: ServerSideApplyOptions,
  before: Managers,
  liveObj: Record<string, unknown>,
  configSet: FieldSet,
  root: TypeRef,
  ignored: FieldSet,
  force: boolean,
): { object: Record<string, unknown>; managers: Managers } {
  const subresource = opts.subresource ?? "";
  const managers: Managers = new Map(before);
  const id = managerId({ manager: opts.manager, operation: "Apply", apiVersion: opts.apiVersion, subresource });
  const previous = managers.get(id);
  managers.set(id, {
    manager: opts.manager,
    operation: "Apply",
    apiVersion: opts.apiVersion,
    subresource,
    ...(previous?.time !== undefined ? { time: previous.time } : {}),
    set: configSet,
  });

  let object = (merge(liveObj, opts.config, root, keepServerFieldsOnNull) ?? {}) as Record<string, unknown>;
  if (previous && !previous.set.isEmpty()) object = prune(object, managers, previous.set, root);

  const changes = compare(liveObj, object, root);
  const changed = changes.modified.union(changes.added).recursiveDifference(ignored);
  const removed = changes.removed.recursiveDifference(ignored);

  // Another manager's field that this apply changes is a conflict; forced, that manager loses it.
  const conflicts: Conflict[] = [];
  for (const otherId of [...managers.keys()].sort(compareStrings)) {
    if (otherId === id) continue;
    const other = managers.get(otherId)!;
    for (const path of other.set.intersection(changed).paths()) conflicts.push({ owner: other, path });
  }
  if (!force && conflicts.length > 0) throw new ApplyConflicts(conflicts);

  for (const [otherId, other] of [...managers]) {
    if (otherId === id) continue;
    const set = other.set.difference(changed).difference(removed);
    if (set.isEmpty()) managers.delete(otherId);
    else managers.set(otherId, { ...other, set });
  }

  const mine = managers.get(id)!;
  const ownSet = mine.set.difference(STRIPPED);
  const changedObject = !deepEqual(liveObj, object);
  if (ownSet.isEmpty()) managers.delete(id);
  else managers.set(id, { ...mine, set: ownSet, ...(changedObject ? { time: formatTime(opts.now) } : {}) });
  return { object, managers };
}

/**
 * Removes from the merged object the fields this manager applied last time but not now, unless
 * some manager (this one included) still owns them. Identity fields are never removed.
 */
function prune(merged: Record<string, unknown>, managers: Managers, lastSet: FieldSet, root: TypeRef): Record<string, unknown> {
  let owned = STRIPPED;
  for (const e of managers.values()) owned = owned.union(e.set);
  const toRemove = ensureNamedFieldsAreMembers(lastSet, root).difference(ensureNamedFieldsAreMembers(owned, root));
  if (toRemove.isEmpty()) return merged;
  return (removeItems(merged, toRemove, root) ?? {}) as Record<string, unknown>;
}

function hasLastApplied(obj: KubeObject | undefined): boolean {
  const v = obj?.metadata?.annotations?.[LAST_APPLIED_ANNOTATION];
  return typeof v === "string" && v !== "";
}

/**
 * kubectl's migration from client-side apply: when `kubectl` (the SSA manager) conflicts only on
 * fields whose live values still match the last-applied annotation, it takes them over silently.
 */
function retryAfterClientSideApply(
  opts: ServerSideApplyOptions,
  liveObj: Record<string, unknown>,
  root: TypeRef,
  err: ApplyConflicts,
  forced: () => { object: Record<string, unknown>; managers: Managers },
): { object: Record<string, unknown>; managers: Managers } {
  const fail = (conflicts: readonly Conflict[]): StatusError => conflictError(conflicts);
  if (opts.manager !== KUBECTL) throw fail(err.conflicts);
  const allowed = allowedByLastApplied(liveObj, root, opts.apiVersion);
  if (!allowed) throw fail(err.conflicts);
  const remaining = err.conflicts.filter((c) => !allowed.has(c.path));
  if (remaining.length > 0) throw fail(remaining);
  return forced();
}
