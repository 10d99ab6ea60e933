// Book 11.2 and 12.3: managedFields for ordinary writes (create, update, patch) — the writer takes
// ownership of every field it added or changed, and other managers give those fields up.
import type { KubeObject, ManagedFieldsEntry } from "../../registry/types.js";
import type { Schema, SchemaResolver } from "../../schema/types.js";
import { ignoredFields, STRIPPED, viewWithoutManagedFields } from "./common.js";
import { compare } from "./compare.js";
import { TypedError } from "./list-items.js";
import {
  capUpdateManagers,
  decodeManagedFields,
  encodeManagedFields,
  formatTime,
  ManagedFieldsError,
  managerId,
  type Managers,
} from "./managers.js";
import type { TypeRef } from "./schema-shape.js";
import { clone, isObject } from "./value.js";

export interface UpdateManagedFieldsOptions {
  /** The stored object before the write; undefined on create. */
  old: KubeObject | undefined;
  /** The object about to be stored (after defaulting and the strategy's preparation). */
  updated: KubeObject;
  /** The fieldManager parameter, or the name the caller derived from the user agent. */
  manager: string;
  /** "Update" for create/update/patch; "Apply" records the change as an applier's. */
  operation: "Update" | "Apply";
  schema: Schema | undefined;
  resolver: SchemaResolver;
  /** The request's group/version, e.g. "apps/v1". */
  apiVersion: string;
  now: Date;
  subresource?: string;
}

/**
 * The managedFields to store with `updated`. Starts from the client's own managedFields when it
 * sent a non-empty valid list (on the main resource), from none when it sent `[]` (a reset), and
 * from the stored object's otherwise. When the objects cannot be compared (a keyed list element
 * without its key, which validation will reject anyway) the stored entries are returned unchanged.
 */
export function updateManagedFields(opts: UpdateManagedFieldsOptions): ManagedFieldsEntry[] {
  const subresource = opts.subresource ?? "";
  const stored = opts.old?.metadata?.managedFields;
  const managers = startingPoint(opts.updated?.metadata?.managedFields, stored, subresource !== "");
  const root: TypeRef = { schema: opts.schema, resolver: opts.resolver, root: true };
  const ignored = ignoredFields(subresource);

  let changes;
  try {
    changes = compare(viewWithoutManagedFields(opts.old), viewWithoutManagedFields(opts.updated), root);
  } catch (e) {
    if (e instanceof TypedError) return Array.isArray(stored) ? clone(stored) : [];
    throw e;
  }
  const changed = changes.modified.union(changes.added).recursiveDifference(ignored);
  const removed = changes.removed.recursiveDifference(ignored);

  for (const [id, e] of [...managers]) {
    const set = e.set.difference(changed).difference(removed);
    if (set.isEmpty()) managers.delete(id);
    else managers.set(id, { ...e, set });
  }

  const gained = changed.difference(STRIPPED);
  if (!gained.isEmpty()) {
    const entry = {
      manager: opts.manager === "" ? "unknown" : opts.manager,
      operation: opts.operation,
      apiVersion: opts.apiVersion,
      subresource,
    };
    const id = managerId(entry);
    const previous = managers.get(id);
    managers.set(id, { ...entry, time: formatTime(opts.now), set: previous ? gained.union(previous.set) : gained });
  }
  return encodeManagedFields(opts.operation === "Update" ? capUpdateManagers(managers) : managers);
}

/** A sent list that is empty, or holds one empty entry, asks to clear managedFields. */
function isReset(sent: unknown): boolean {
  if (!Array.isArray(sent)) return false;
  if (sent.length === 0) return true;
  return sent.length === 1 && isObject(sent[0]) && Object.keys(sent[0]).length === 0;
}

function decodeOrEmpty(entries: unknown): Managers {
  try {
    return decodeManagedFields(entries);
  } catch (e) {
    if (e instanceof ManagedFieldsError) return new Map();
    throw e;
  }
}

function startingPoint(sent: unknown, stored: unknown, isSubresource: boolean): Managers {
  // Subresources cannot rewrite ownership: their request's managedFields are ignored.
  if (isSubresource) return decodeOrEmpty(stored);
  if (isReset(sent)) return new Map();
  if (sent !== undefined && sent !== null) {
    try {
      const fromClient = decodeManagedFields(sent);
      if (fromClient.size > 0) return fromClient;
    } catch (e) {
      if (!(e instanceof ManagedFieldsError)) throw e;
    }
  }
  return decodeOrEmpty(stored);
}
