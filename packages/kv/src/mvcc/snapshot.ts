// Book 12.2: the MVCC store as plain JSON data (every retained version and the two revision counters),
// so a Raft snapshot can carry it to a member that fell behind and restore the exact same store.
import type { KeyValue } from "../types.js";
import type { Version } from "./key-history.js";
import { MvccStore } from "./store.js";

/** A live version: [main, sub, createRevision, version, value, lease]; a tombstone: [main, sub]. */
type VersionData = [number, number, number, number, string, string] | [number, number];

export interface StoreData {
  rev: number;
  compactRev: number;
  keys: [string, VersionData[]][];
}

export function dumpStore(s: MvccStore): StoreData {
  const keys: [string, VersionData[]][] = [];
  for (const [k, versions] of s.entries()) {
    keys.push([k, versions.map((v): VersionData =>
      v.tomb ? [v.main, v.sub] : [v.main, v.sub, v.kv.createRevision, v.kv.version, v.kv.value, v.kv.lease])]);
  }
  return { rev: s.rev, compactRev: s.firstRev, keys };
}

export function loadStore(d: StoreData): MvccStore {
  const keys = d.keys.map(([key, vs]): [string, Version[]] => [key, vs.map((v): Version => {
    const [main, sub] = v;
    const kv: KeyValue = v.length === 2
      ? { key, createRevision: 0, modRevision: main, version: 0, value: "", lease: "0" }
      : { key, createRevision: v[2], modRevision: main, version: v[3], value: v[4], lease: v[5] };
    return { main, sub, kv, tomb: v.length === 2 };
  })]);
  return MvccStore.fromParts(d.rev, d.compactRev, keys);
}
