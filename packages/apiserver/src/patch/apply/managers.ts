// Book 11.2 and 12.3: metadata.managedFields in memory — one field set per (manager, operation,
// apiVersion for updates, subresource) — decoded, validated, capped and written back in order.
import type { ManagedFieldsEntry } from "../../registry/types.js";
import { FieldSet, FieldsV1Error } from "./fieldset.js";
import { compareStrings, isObject } from "./value.js";

export interface ManagerEntry {
  readonly manager: string;
  readonly operation: "Apply" | "Update";
  /** For Apply entries the version last applied with; for Update entries part of the identity. */
  readonly apiVersion: string;
  readonly subresource: string;
  readonly time?: string;
  readonly set: FieldSet;
}

/** Entries by identity (see managerId). */
export type Managers = Map<string, ManagerEntry>;

/**
 * The identity of an entry, spelled as Kubernetes spells it (JSON of the entry without fields and
 * time; appliers without apiVersion, so re-applying with another version reuses the entry).
 */
export function managerId(e: { manager: string; operation: "Apply" | "Update"; apiVersion: string; subresource: string }): string {
  const id: Record<string, string> = { manager: e.manager, operation: e.operation };
  if (e.operation === "Update" && e.apiVersion !== "") id.apiVersion = e.apiVersion;
  if (e.subresource !== "") id.subresource = e.subresource;
  return JSON.stringify(id);
}

export class ManagedFieldsError extends Error {}

/** Reads metadata.managedFields; throws ManagedFieldsError with upstream's wording on a bad entry. */
export function decodeManagedFields(entries: unknown): Managers {
  const out: Managers = new Map();
  if (entries === undefined || entries === null) return out;
  if (!Array.isArray(entries)) throw new ManagedFieldsError("managedFields must be a list");
  entries.forEach((raw, i) => {
    if (!isObject(raw)) throw new ManagedFieldsError(`managed fields entry ${i} must be an object`);
    const operation = raw.operation;
    if (operation !== "Apply" && operation !== "Update") throw new ManagedFieldsError("operation must be `Apply` or `Update`");
    if (typeof raw.apiVersion !== "string" || raw.apiVersion === "") throw new ManagedFieldsError("apiVersion must not be empty");
    if (raw.fieldsType === undefined || raw.fieldsType === "") throw new ManagedFieldsError(`missing fieldsType in managed fields entry ${i}`);
    if (raw.fieldsType !== "FieldsV1") throw new ManagedFieldsError(`invalid fieldsType ${JSON.stringify(raw.fieldsType)} in managed fields entry ${i}`);
    for (const k of ["manager", "subresource", "time"] as const) {
      if (raw[k] !== undefined && raw[k] !== null && typeof raw[k] !== "string") {
        throw new ManagedFieldsError(`${k} of managed fields entry ${i} must be a string`);
      }
    }
    let set: FieldSet;
    try {
      set = raw.fieldsV1 === undefined || raw.fieldsV1 === null ? new FieldSet() : readFieldsV1(raw.fieldsV1);
    } catch (e) {
      if (e instanceof FieldsV1Error) throw new ManagedFieldsError(`error decoding versioned set from entry ${i}: ${e.message}`);
      throw e;
    }
    const entry: ManagerEntry = {
      manager: (raw.manager as string | undefined) ?? "",
      operation,
      apiVersion: raw.apiVersion,
      subresource: (raw.subresource as string | undefined) ?? "",
      ...(typeof raw.time === "string" ? { time: raw.time } : {}),
      set,
    };
    out.set(managerId(entry), entry);
  });
  return out;
}

/**
 * Decoded FieldsV1, by their JSON text. Objects written by the same client usually carry the
 * same field sets (every pod of a ReplicaSet, say), and a FieldSet is never changed once built,
 * so one decoded set can serve them all; the JSON text costs far less than decoding again.
 */
const decoded = new Map<string, FieldSet>();
const MAX_DECODED = 512;

function readFieldsV1(fields: unknown): FieldSet {
  const text = JSON.stringify(fields);
  let set = decoded.get(text);
  if (set === undefined) {
    set = FieldSet.fromFieldsV1(fields);
    if (decoded.size >= MAX_DECODED) decoded.clear();
    decoded.set(text, set);
  }
  return set;
}

function seconds(time: string | undefined): number {
  if (time === undefined) return 0;
  const ms = Date.parse(time);
  return Number.isNaN(ms) ? 0 : Math.floor(ms / 1000);
}

const cmp = (a: string, b: string) => compareStrings(a, b);

/** Writes entries in Kubernetes' order: Apply before Update, then oldest first, then by name, version, subresource. */
export function encodeManagedFields(managers: Managers): ManagedFieldsEntry[] {
  const entries = [...managers.values()].filter((e) => !e.set.isEmpty());
  entries.sort(
    (p, q) =>
      cmp(p.operation, q.operation) ||
      seconds(p.time) - seconds(q.time) ||
      cmp(p.manager, q.manager) ||
      cmp(p.apiVersion, q.apiVersion) ||
      cmp(p.subresource, q.subresource),
  );
  return entries.map((e) => {
    const out: ManagedFieldsEntry = { manager: e.manager, operation: e.operation, apiVersion: e.apiVersion };
    if (e.time !== undefined) out.time = e.time;
    out.fieldsType = "FieldsV1";
    out.fieldsV1 = e.set.toFieldsV1();
    if (e.subresource !== "") out.subresource = e.subresource;
    return out;
  });
}

/** metav1.Time's wire form: RFC 3339 in UTC, whole seconds. */
export function formatTime(d: Date): string {
  return d.toISOString().replace(/\.\d+Z$/, "Z");
}

/** How many Update entries an object keeps before the oldest are folded together. */
export const MAX_UPDATE_MANAGERS = 10;
export const ANCIENT_CHANGES = "ancient-changes";

/**
 * Folds the oldest Update entries into one "ancient-changes" entry per apiVersion until at most
 * `max` Update entries remain (the first entry seen for a version only becomes a bucket when a
 * second one joins it). Returns a new map.
 */
export function capUpdateManagers(managers: Managers, max = MAX_UPDATE_MANAGERS): Managers {
  const out: Managers = new Map(managers);
  const updaters = [...out.entries()].filter(([, e]) => e.operation === "Update");
  if (updaters.length <= max) return out;
  updaters.sort(([ia, a], [ib, b]) => seconds(a.time) - seconds(b.time) || cmp(ia, ib));
  const firstForVersion = new Map<string, string>();
  let count = updaters.length;
  for (let i = 0; i < updaters.length && count > max; i++) {
    const [id, entry] = updaters[i]!;
    const version = entry.apiVersion;
    const bucketId = managerId({ manager: ANCIENT_CHANGES, operation: "Update", apiVersion: version, subresource: "" });
    const first = firstForVersion.get(version);
    if (first === undefined) {
      firstForVersion.set(version, id);
      continue;
    }
    let bucket = out.get(bucketId);
    if (!bucket) {
      const seed = out.get(first)!;
      out.delete(first);
      bucket = { manager: ANCIENT_CHANGES, operation: "Update", apiVersion: version, subresource: "", set: seed.set };
    }
    out.delete(id);
    out.set(bucketId, {
      ...bucket,
      set: entry.set.union(bucket.set),
      ...(entry.time !== undefined ? { time: entry.time } : {}),
    });
    count--;
  }
  return out;
}
