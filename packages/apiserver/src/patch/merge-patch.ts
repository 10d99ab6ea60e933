// Book 1.6.1 and 11.2: JSON merge patch (RFC 7386, `Content-Type: application/merge-patch+json`) —
// the patch is a partial object: its members replace the target's, objects merge member by member,
// null removes a member, and anything that is not an object (a list too) replaces whole. This is what
// `kubectl label`, `kubectl annotate`, `kubectl scale` and `kubectl patch --type=merge` send.
import { patchMalformed } from "./errors.js";
import { cloneJson, deleteKey, getKey, isObject, setKey, type JsonObject } from "./json-value.js";

/**
 * Applies a merge patch to `doc` and returns the result; neither input is modified. As in
 * kube-apiserver, a patch that is null, a string, a number or a boolean is not a merge patch
 * (400 BadRequest "Invalid JSON Patch"), while a list replaces the whole document. Null members are
 * dropped from every value the patch adds, so the result never holds a member whose value is null
 * because of the patch.
 */
export function applyMergePatch(doc: unknown, patch: unknown): unknown {
  if (Array.isArray(patch)) return withoutNullMembers(patch);
  if (!isObject(patch)) throw patchMalformed("Invalid JSON Patch");
  return mergeInto(isObject(doc) ? cloneJson(doc) : {}, patch);
}

/** Merges `patch` into `target` in place (target is already a private copy) and returns it. */
function mergeInto(target: JsonObject, patch: JsonObject): JsonObject {
  for (const key of Object.keys(patch)) {
    const value = patch[key];
    if (value === null || value === undefined) {
      deleteKey(target, key);
      continue;
    }
    const current = getKey(target, key);
    if (isObject(value)) {
      setKey(target, key, mergeInto(isObject(current) ? current : {}, value));
    } else {
      setKey(target, key, withoutNullMembers(value));
    }
  }
  return target;
}

/** A copy of a value the patch adds, with null object members dropped at every depth. */
function withoutNullMembers(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(withoutNullMembers);
  if (!isObject(v)) return v;
  const out: JsonObject = {};
  for (const key of Object.keys(v)) {
    const member = v[key];
    if (member !== null && member !== undefined) setKey(out, key, withoutNullMembers(member));
  }
  return out;
}
