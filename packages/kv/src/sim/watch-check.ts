// Book 12.2: checks every recorded watch against etcd's six watch guarantees: Ordered, Unique,
// Atomic, Bookmarkable (per watch), Reliable and Resumable (against the history merged from all
// watches), plus the shape of each event (its key in range, revisions, and prev_kv).
import type { KvView } from "./history.js";

export interface WatchEventRecord {
  type: "PUT" | "DELETE";
  key: string;
  /** The event's revision (kv.mod_revision). */
  rev: number;
  value: string;
  createRev: number;
  version: number;
  lease: string;
  /** undefined: the server sent none; null is never sent (etcd omits prev_kv when none). */
  prev?: KvView;
}

export interface WatchResponseRecord {
  /** Virtual time, and position in the global order of client events (see HistoryOp.call). */
  at: number;
  seq: number;
  /** header.revision */
  revision: number;
  events: WatchEventRecord[];
  created?: boolean;
  canceled?: boolean;
  compactRevision?: number;
  /** An empty response that is not created/canceled: a progress notification (bookmark). */
  progress: boolean;
}

export interface WatchRecord {
  id: number;
  client: number;
  member: string;
  key: string;
  /** "" = just key; "\0" = every key >= key */
  rangeEnd: string;
  startRevision: number;
  prevKv: boolean;
  responses: WatchResponseRecord[];
  /** Still open when the run ended (and then given time to catch up). */
  openAtEnd: boolean;
  /** The range holds every key anyone writes: since a revision only exists when something
   * changed, such a watch must see every revision, without gaps. */
  coversAll?: boolean;
}

export interface WatchViolation {
  guarantee: "ordered" | "unique" | "atomic" | "bookmarkable" | "reliable" | "resumable" | "event" | "merge" | "delivered";
  watch?: number;
  message: string;
}

export function inRange(key: string, start: string, end: string): boolean {
  if (end === "") return key === start;
  if (end === "\0") return key >= start;
  return key >= start && key < end;
}

const sameEvent = (a: WatchEventRecord, b: WatchEventRecord): boolean =>
  a.type === b.type && a.key === b.key && a.rev === b.rev && a.value === b.value &&
  a.createRev === b.createRev && a.version === b.version && a.lease === b.lease;

export const showEvent = (e: WatchEventRecord): string =>
  e.type === "PUT" ? `PUT ${e.key}=${e.value}@${e.rev}(v${e.version})` : `DELETE ${e.key}@${e.rev}`;

function eventsOf(w: WatchRecord): WatchEventRecord[] {
  return w.responses.flatMap((r) => r.events);
}

/** Checks of one watch alone. */
export function checkWatchAlone(w: WatchRecord): WatchViolation[] {
  const out: WatchViolation[] = [];
  const v = (guarantee: WatchViolation["guarantee"], message: string): void => {
    if (out.length < 20) out.push({ guarantee, watch: w.id, message: `watch ${w.id} (c${w.client}@${w.member}): ${message}` });
  };
  let lastRev = 0;
  let lastRespLastRev = 0;
  let bookmark = 0;
  const seen = new Set<string>();
  for (const r of w.responses) {
    if (r.events.length > 0) {
      if (r.events[0]!.rev === lastRespLastRev) v("atomic", `revision ${lastRespLastRev} was split across two responses`);
      lastRespLastRev = r.events[r.events.length - 1]!.rev;
    }
    for (const e of r.events) {
      if (e.rev < lastRev) v("ordered", `event ${showEvent(e)} after an event at revision ${lastRev}`);
      lastRev = Math.max(lastRev, e.rev);
      const id = `${e.rev}/${e.key}`;
      if (seen.has(id)) v("unique", `event ${showEvent(e)} delivered twice`);
      seen.add(id);
      if (e.rev <= bookmark) v("bookmarkable", `event ${showEvent(e)} after a progress notification at revision ${bookmark}`);
      if (!inRange(e.key, w.key, w.rangeEnd)) v("event", `event ${showEvent(e)} outside the watched range`);
      if (w.startRevision > 0 && e.rev < w.startRevision) v("event", `event ${showEvent(e)} before the start revision ${w.startRevision}`);
      if (e.type === "PUT" && (e.version < 1 || e.createRev > e.rev || e.createRev < 1)) v("event", `malformed PUT ${showEvent(e)} create ${e.createRev}`);
      if (e.rev > r.revision) v("event", `event ${showEvent(e)} newer than its response header revision ${r.revision}`);
      if (w.prevKv && e.prev === undefined && (e.type === "DELETE" || e.version > 1)) v("event", `event ${showEvent(e)} is missing prev_kv`);
      if (e.prev && (e.prev.modRev >= e.rev || (e.type === "PUT" && e.version > 1 && e.prev.version !== e.version - 1))) {
        v("event", `event ${showEvent(e)} has an impossible prev_kv ${e.prev.value}@${e.prev.modRev}(v${e.prev.version})`);
      }
    }
    if (r.progress) {
      if (r.revision < bookmark) v("bookmarkable", `progress notification went back from ${bookmark} to ${r.revision}`);
      bookmark = Math.max(bookmark, r.revision);
    }
  }
  if (w.coversAll) checkNoGaps(w, v);
  return out;
}

/** A watch over every key sees every revision: no revision skipped, from its start on. */
function checkNoGaps(w: WatchRecord, v: (g: WatchViolation["guarantee"], m: string) => void): void {
  const got = eventsOf(w);
  if (got.length === 0 || w.responses.some((r) => r.canceled && (r.compactRevision ?? 0) > 0)) return;
  const created = w.responses.find((r) => r.created);
  const start = w.startRevision > 0 ? Math.max(w.startRevision, 2) : created ? created.revision + 1 : 0;
  if (start > 0 && got[0]!.rev !== start) {
    v("reliable", `watch from revision ${start} began with ${showEvent(got[0]!)}: revisions ${start}..${got[0]!.rev - 1} are missing`);
    return;
  }
  for (let i = 1; i < got.length; i++) {
    const a = got[i - 1]!.rev;
    const b = got[i]!.rev;
    if (b > a + 1) {
      v("reliable", `revisions ${a + 1}..${b - 1} are missing between ${showEvent(got[i - 1]!)} and ${showEvent(got[i]!)}`);
      return;
    }
  }
}

export interface MergedHistory {
  /** Every event seen by any watch, by revision then order inside the revision. */
  events: WatchEventRecord[];
  byRev: Map<number, WatchEventRecord[]>;
  /** Highest revision r such that every revision in [1, r] has at least one event. */
  completeUpTo: number;
}

/** Merges all watches' events; two watches disagreeing about one (revision, key) is a violation. */
export function mergeWatchHistory(watches: WatchRecord[], out: WatchViolation[] = []): MergedHistory {
  const byRev = new Map<number, WatchEventRecord[]>();
  for (const w of watches) {
    for (const e of eventsOf(w)) {
      let list = byRev.get(e.rev);
      if (!list) byRev.set(e.rev, (list = []));
      const other = list.find((x) => x.key === e.key);
      if (!other) list.push(e);
      else if (!sameEvent(other, e)) {
        out.push({ guarantee: "merge", watch: w.id, message: `watch ${w.id}: ${showEvent(e)} but another watch saw ${showEvent(other)} at the same revision` });
      }
    }
  }
  const revs = [...byRev.keys()].sort((a, b) => a - b);
  const events = revs.flatMap((r) => byRev.get(r)!);
  let completeUpTo = 0;
  // Revision 1 is the empty store; the first write is revision 2.
  for (const r of revs) {
    if (r === completeUpTo + 1 || (completeUpTo === 0 && r === 2)) completeUpTo = r;
    else if (r > completeUpTo + 1) break;
  }
  return { events, byRev, completeUpTo };
}

/** Reliable, Resumable and "delivered" against the merged history, plus prev_kv correctness.
 * `deliveredUpTo`: a watch still open at the end must have every event up to this revision. */
export function checkWatchAgainstHistory(w: WatchRecord, h: MergedHistory, deliveredUpTo = Infinity): WatchViolation[] {
  const out: WatchViolation[] = [];
  const v = (guarantee: WatchViolation["guarantee"], message: string): void => {
    if (out.length < 10) out.push({ guarantee, watch: w.id, message: `watch ${w.id} (c${w.client}@${w.member}): ${message}` });
  };
  const got = eventsOf(w);
  const matching = h.events.filter((e) => inRange(e.key, w.key, w.rangeEnd));
  const created = w.responses.find((r) => r.created);
  const compacted = w.responses.some((r) => r.canceled && (r.compactRevision ?? 0) > 0);
  const start = w.startRevision > 0 ? w.startRevision : created ? created.revision + 1 : 0;

  if (got.length > 0) {
    // Reliable: between its first and last event the watch saw every matching event.
    const first = got[0]!.rev;
    const last = got[got.length - 1]!.rev;
    const want = matching.filter((e) => e.rev >= first && e.rev <= last);
    const have = new Set(got.map((e) => `${e.rev}/${e.key}`));
    for (const e of want) {
      if (!have.has(`${e.rev}/${e.key}`)) {
        v("reliable", `missed ${showEvent(e)} between revisions ${first} and ${last}`);
        break;
      }
    }
    // Resumable: the first event is the first matching one at or after the start.
    if (start > 0 && !compacted) {
      const expected = matching.find((e) => e.rev >= start);
      if (expected && (expected.rev !== got[0]!.rev || expected.key !== got[0]!.key)) {
        v("resumable", `started at ${start} but first got ${showEvent(got[0]!)}; expected ${showEvent(expected)}`);
      }
    }
  }
  // Delivered: a watch still open at the end has every matching event since its start.
  if (w.openAtEnd && start > 0 && !compacted) {
    const have = new Set(got.map((e) => `${e.rev}/${e.key}`));
    const missing = matching.find((e) => e.rev >= start && e.rev <= deliveredUpTo && !have.has(`${e.rev}/${e.key}`));
    if (missing) v("delivered", `open at the end but never got ${showEvent(missing)}`);
  }
  // prev_kv: the previous event on the key, where the merged history is complete.
  for (const e of got) {
    if (!e.prev || e.prev.modRev > h.completeUpTo || e.rev > h.completeUpTo) continue;
    const before = (h.byRev.get(e.prev.modRev) ?? []).find((x) => x.key === e.key);
    if (!before || before.type !== "PUT" || before.value !== e.prev.value || before.version !== e.prev.version) {
      v("event", `${showEvent(e)} has prev_kv ${e.prev.value}@${e.prev.modRev}, which is not the event at that revision`);
      continue;
    }
    for (let r = e.prev.modRev + 1; r < e.rev; r++) {
      if ((h.byRev.get(r) ?? []).some((x) => x.key === e.key)) {
        v("event", `${showEvent(e)} has prev_kv from revision ${e.prev.modRev} but the key changed at ${r}`);
        break;
      }
    }
  }
  return out;
}

export interface WatchCheckResult {
  violations: WatchViolation[];
  merged: MergedHistory;
  events: number;
}

export function checkWatches(watches: WatchRecord[], deliveredUpTo = Infinity): WatchCheckResult {
  const violations: WatchViolation[] = [];
  for (const w of watches) violations.push(...checkWatchAlone(w));
  const merged = mergeWatchHistory(watches, violations);
  for (const w of watches) violations.push(...checkWatchAgainstHistory(w, merged, deliveredUpTo));
  return { violations, merged, events: merged.events.length };
}
