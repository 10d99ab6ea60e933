// Book 1.6.1 and 11.2: JSON patch (RFC 6902, `Content-Type: application/json-patch+json`) — a list of
// add/remove/replace/move/copy/test operations addressed by JSON Pointers (RFC 6901), as
// `kubectl patch --type=json` sends them, applied the way kube-apiserver applies them.
//
// Kubernetes applies JSON patches with evanphx/json-patch (v4), and this module keeps its observable
// rules where they differ from the RFC: a negative array index counts from the end, a `replace` of an
// absent member of an existing object adds it, a missing `value` means null, and `add` or `remove`
// at the root path "" fails. The work is bounded: at most 10,000 operations (413 beyond) and at most
// 3 MiB of values duplicated by `copy` (422 beyond), kube-apiserver's defaults.
import { requestEntityTooLarge } from "@corekube/api";
import { goJsonType, patchMalformed, patchNotApplicable } from "./errors.js";
import { cloneJson, deepEqual, deleteKey, getKey, hasKey, isObject, setKey, type JsonObject } from "./json-value.js";

/** kube-apiserver's cap on the operations in one JSON patch. */
export const MAX_JSON_PATCH_OPERATIONS = 10_000;
/** kube-apiserver's default cap (JSONPatchMaxCopyBytes) on the bytes `copy` operations may add. */
export const MAX_JSON_PATCH_COPY_BYTES = 3 * 1024 * 1024;

export interface JsonPatchLimits {
  /** Most operations allowed (413 RequestEntityTooLarge beyond). Default 10,000. */
  maxOperations?: number;
  /** Most bytes of JSON all `copy` operations together may duplicate (422 beyond). Default 3 MiB. */
  maxCopyBytes?: number;
}

/** One decoded operation. `path`/`from` are undefined when the body left them out. */
export interface JsonPatchOperation {
  op: string | undefined;
  path: string | undefined;
  from: string | undefined;
  /** Whether the body had a `value` member (a test without one only matches an absent or null target). */
  hasValue: boolean;
  value: unknown;
}

const STRING_FIELDS = ["op", "path", "from"] as const;

/**
 * Checks that `ops` is a JSON array of operation objects whose op/path/from are strings, as
 * kube-apiserver's decoder does. Throws 400 BadRequest with its wording otherwise. A JSON null
 * decodes to an empty patch, as it does upstream.
 */
export function decodeJsonPatch(ops: unknown): JsonPatchOperation[] {
  if (ops === null || ops === undefined) return [];
  if (!Array.isArray(ops)) {
    throw patchMalformed(`error decoding patch: json: cannot unmarshal ${goJsonType(ops)} into Go value of type []handlers.jsonPatchOp`);
  }
  return ops.map((raw: unknown): JsonPatchOperation => {
    if (raw === null || raw === undefined) return { op: undefined, path: undefined, from: undefined, hasValue: false, value: null };
    if (!isObject(raw)) {
      throw patchMalformed(`error decoding patch: json: cannot unmarshal ${goJsonType(raw)} into Go value of type handlers.jsonPatchOp`);
    }
    for (const name of STRING_FIELDS) {
      const v = getKey(raw, name);
      if (v !== undefined && v !== null && typeof v !== "string") {
        throw patchMalformed(
          `error decoding patch: json: cannot unmarshal ${goJsonType(v)} into Go struct field jsonPatchOp.${name} of type string`,
        );
      }
    }
    const str = (name: string): string | undefined => {
      const v = getKey(raw, name);
      return typeof v === "string" ? v : undefined;
    };
    return {
      op: str("op"),
      path: str("path"),
      from: str("from"),
      hasValue: hasKey(raw, "value"),
      value: getKey(raw, "value") ?? null,
    };
  });
}

/**
 * Applies an RFC 6902 patch to `doc` and returns the patched copy; `doc` and `ops` are never
 * modified. Throws 400 for a body that is not a list of operations, 413 for too many operations and
 * 422 Invalid (with the reason as a cause) for an operation that cannot be applied.
 */
export function applyJsonPatch(doc: unknown, ops: unknown, limits: JsonPatchLimits = {}): unknown {
  const operations = decodeJsonPatch(ops);
  const maxOps = limits.maxOperations ?? MAX_JSON_PATCH_OPERATIONS;
  if (operations.length > maxOps) {
    throw requestEntityTooLarge(`The allowed maximum operations in a JSON patch is ${maxOps}, got ${operations.length}`);
  }
  const state: PatchState = {
    root: cloneJson(doc),
    copiedBytes: 0,
    maxCopyBytes: limits.maxCopyBytes ?? MAX_JSON_PATCH_COPY_BYTES,
  };
  for (const op of operations) applyOne(state, op);
  return state.root;
}

interface PatchState {
  root: unknown;
  copiedBytes: number;
  maxCopyBytes: number;
}

type Container = JsonObject | unknown[];

/** Where a pointer leads: the container that holds the target and the target's key in it. */
interface Location {
  container: Container;
  key: string;
}

function applyOne(state: PatchState, op: JsonPatchOperation): void {
  switch (op.op) {
    case "add":
      return addOp(state, op);
    case "remove":
      return removeOp(state, op);
    case "replace":
      return replaceOp(state, op);
    case "move":
      return moveOp(state, op);
    case "copy":
      return copyOp(state, op);
    case "test":
      return testOp(state, op);
    default:
      throw patchNotApplicable(
        `unexpected operation ${op.op === undefined ? "(none)" : JSON.stringify(op.op)}: want add, remove, replace, move, copy or test`,
        op.path ?? "",
      );
  }
}

function requirePath(op: JsonPatchOperation, name: "path" | "from"): string {
  const p = op[name];
  if (p === undefined) throw patchNotApplicable(`${op.op} operation has no "${name}"`, "");
  return p;
}

/** The reference tokens of a JSON Pointer, unescaped (~1 is "/", ~0 is "~"); undefined if not a pointer. */
export function parsePointer(pointer: string): string[] | undefined {
  if (pointer === "") return [];
  if (!pointer.startsWith("/")) return undefined;
  return pointer
    .slice(1)
    .split("/")
    .map((t) => t.replace(/~[01]/g, (m) => (m === "~1" ? "/" : "~")));
}

/** An array index as Go's strconv.Atoi reads it (optional sign, decimal digits), else undefined. */
function parseIndex(token: string): number | undefined {
  if (!/^[+-]?\d+$/.test(token)) return undefined;
  const n = Number(token);
  return Number.isSafeInteger(n) ? n : undefined;
}

/** Follows every token but the last; undefined when a step is missing, null or not a container. */
function locate(root: unknown, pointer: string): Location | undefined {
  const tokens = parsePointer(pointer);
  if (tokens === undefined || tokens.length === 0) return undefined;
  let cur: unknown = root;
  for (let i = 0; i < tokens.length - 1; i++) {
    const token = tokens[i]!;
    let next: unknown;
    if (Array.isArray(cur)) {
      const idx = existingIndex(cur, token);
      if (typeof idx !== "number") return undefined;
      next = cur[idx];
    } else if (isObject(cur)) {
      next = getKey(cur, token);
    } else {
      return undefined;
    }
    if (next === null || typeof next !== "object") return undefined;
    cur = next;
  }
  if (!Array.isArray(cur) && !isObject(cur)) return undefined;
  return { container: cur, key: tokens[tokens.length - 1]! };
}

/** The position of an existing element (negative counts from the end), or the reason there is none. */
function existingIndex(arr: unknown[], token: string): number | string {
  const idx = parseIndex(token);
  if (idx === undefined) return `"${token}" is not an array index`;
  const real = idx < 0 ? idx + arr.length : idx;
  if (real < 0 || real >= arr.length) return `index ${idx} is out of range for an array of ${arr.length}`;
  return real;
}

/** The value at a location; `found` is false for an absent object member. Throws for a bad index. */
function read(loc: Location, op: string, pointer: string): { found: boolean; value: unknown } {
  if (Array.isArray(loc.container)) {
    const idx = existingIndex(loc.container, loc.key);
    if (typeof idx === "string") throw patchNotApplicable(`${op} operation does not apply: ${idx}`, pointer);
    return { found: true, value: loc.container[idx] };
  }
  return { found: hasKey(loc.container, loc.key), value: getKey(loc.container, loc.key) };
}

function insert(loc: Location, value: unknown, op: string, pointer: string): void {
  const { container, key } = loc;
  if (!Array.isArray(container)) {
    setKey(container, key, value);
    return;
  }
  if (key === "-") {
    container.push(value);
    return;
  }
  const idx = parseIndex(key);
  if (idx === undefined) throw patchNotApplicable(`${op} operation does not apply: "${key}" is not a proper array index`, pointer);
  const size = container.length + 1;
  if (idx >= size || idx < -size) {
    throw patchNotApplicable(`${op} operation does not apply: index ${idx} is out of range for an array of ${container.length}`, pointer);
  }
  container.splice(idx < 0 ? idx + size : idx, 0, value);
}

function take(loc: Location, op: string, pointer: string): unknown {
  const { container, key } = loc;
  if (Array.isArray(container)) {
    const idx = existingIndex(container, key);
    if (typeof idx === "string") throw patchNotApplicable(`${op} operation does not apply: ${idx}`, pointer);
    return container.splice(idx, 1)[0];
  }
  if (!hasKey(container, key)) throw patchNotApplicable(`${op} operation does not apply: there is no member "${key}" to remove`, pointer);
  const value = container[key];
  deleteKey(container, key);
  return value;
}

function missingPath(op: string, pointer: string, what = "path"): never {
  throw patchNotApplicable(`${op} operation does not apply: doc is missing ${what}: "${pointer}"`, pointer);
}

function addOp(state: PatchState, op: JsonPatchOperation): void {
  const path = requirePath(op, "path");
  const loc = locate(state.root, path) ?? missingPath("add", path);
  insert(loc, cloneJson(op.value), "add", path);
}

function removeOp(state: PatchState, op: JsonPatchOperation): void {
  const path = requirePath(op, "path");
  const loc = locate(state.root, path) ?? missingPath("remove", path);
  take(loc, "remove", path);
}

function replaceOp(state: PatchState, op: JsonPatchOperation): void {
  const path = requirePath(op, "path");
  if (path === "") {
    if (!Array.isArray(op.value) && !isObject(op.value)) {
      throw patchNotApplicable("replace operation value must be object or array", path);
    }
    state.root = cloneJson(op.value);
    return;
  }
  const loc = locate(state.root, path) ?? missingPath("replace", path);
  const value = cloneJson(op.value);
  if (Array.isArray(loc.container)) {
    const idx = existingIndex(loc.container, loc.key);
    if (typeof idx === "string") throw patchNotApplicable(`replace operation does not apply: doc is missing key: ${path}: ${idx}`, path);
    loc.container[idx] = value;
  } else {
    // As upstream: replacing an absent member of an existing object adds it.
    setKey(loc.container, loc.key, value);
  }
}

function moveOp(state: PatchState, op: JsonPatchOperation): void {
  const from = requirePath(op, "from");
  const fromLoc = locate(state.root, from) ?? missingPath("move", from, "from path");
  const value = take(fromLoc, "move", from);
  const path = requirePath(op, "path");
  const loc = locate(state.root, path) ?? missingPath("move", path, "destination path");
  insert(loc, value, "move", path);
}

function copyOp(state: PatchState, op: JsonPatchOperation): void {
  const from = requirePath(op, "from");
  const fromLoc = locate(state.root, from) ?? missingPath("copy", from, "from path");
  const source = read(fromLoc, "copy", from);
  if (!source.found) missingPath("copy", from, "from path");
  const path = requirePath(op, "path");
  const loc = locate(state.root, path) ?? missingPath("copy", path, "destination path");
  const size = Buffer.byteLength(JSON.stringify(source.value ?? null));
  state.copiedBytes += size;
  if (state.copiedBytes > state.maxCopyBytes) {
    throw patchNotApplicable(
      `Unable to complete the copy, the accumulated size increase of copy is ${state.copiedBytes}, exceeding the limit ${state.maxCopyBytes}`,
      path,
    );
  }
  insert(loc, cloneJson(source.value ?? null), "copy", path);
}

function testOp(state: PatchState, op: JsonPatchOperation): void {
  const path = requirePath(op, "path");
  let actual: unknown;
  if (path === "") {
    actual = state.root;
  } else {
    const loc = locate(state.root, path);
    if (!loc) throw patchNotApplicable(`test operation does not apply: is missing path: "${path}"`, path);
    actual = read(loc, "test", path).value;
  }
  // As upstream, an absent member and a null one both match a test for null (or one without a value).
  const matches =
    actual === null || actual === undefined ? !op.hasValue || op.value === null : op.hasValue && deepEqual(actual, op.value);
  if (!matches) {
    // The stored value stays out of the message: a caller may patch objects it cannot read.
    throw patchNotApplicable(`testing value ${path} failed: test failed`, path);
  }
}
