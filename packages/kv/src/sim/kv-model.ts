// Book 12.5: an executable model of the KV that the linearizability checker replays histories
// against. Besides values it checks revisions: a write's revision is above every revision of the
// key before it, a read returns the mod_revision its write produced, and a read's header revision
// is never older than the last write it must have seen. Unknown revisions (a write whose outcome
// the client never learned) are bound the first time a read sees them.
import type { KvInput, KvOutput, KvView } from "./history.js";

export interface KeyState {
  /** exists */
  e: boolean;
  v: string;
  ver: number;
  lease: string;
  /** mod_revision; 0 = unknown, then it is known only to be > modMin */
  mod: number;
  modMin: number;
  /** create_revision; 0 = unknown, then > crMin */
  cr: number;
  crMin: number;
  /** the newest known revision of a write to this key: later writes must be above it, later
   * reads' header revisions at or above it */
  fl: number;
}

export interface KvState {
  keys: Record<string, KeyState>;
  /** leases revoked so far (sorted) */
  dead: string[];
}

/** A model for the checker: step returns every state the operation may lead to ([] = the
 * output is impossible from this state). `output` undefined = the outcome is unknown. */
export interface Model<S, I, O> {
  init(): S;
  step(state: S, input: I, output: O | undefined): S[];
  hash(state: S): string;
  describe(state: S): string;
}

const ABSENT: KeyState = { e: false, v: "", ver: 0, lease: "0", mod: 0, modMin: 0, cr: 0, crMin: 0, fl: 0 };

function absent(fl: number): KeyState {
  return { ...ABSENT, fl };
}

/** Checks what a read saw against the key's state; returns the state with any unknown revision
 * bound, or null if the read is impossible. */
export function readKey(k: KeyState, view: KvView | null, rev: number): KeyState | null {
  if (rev < k.fl) return null; // stale: the read missed a write linearized before it
  if (view === null) return k.e ? null : k;
  if (!k.e || view.value !== k.v || view.version !== k.ver || view.lease !== k.lease) return null;
  if (view.modRev > rev || view.createRev > view.modRev) return null;
  let n = k;
  if (k.mod === 0) {
    if (view.modRev <= k.modMin) return null;
    n = { ...n, mod: view.modRev, modMin: 0, fl: Math.max(n.fl, view.modRev) };
  } else if (k.mod !== view.modRev) return null;
  if (k.cr === 0) {
    if (view.createRev <= k.crMin) return null;
    n = { ...n, cr: view.createRev, crMin: 0 };
  } else if (k.cr !== view.createRev) return null;
  return n;
}

/** `after`: an unknown revision is known to be above it (see KvInput). */
function putKey(k: KeyState, value: string, lease: string, rev: number | undefined, after = 0): KeyState | null {
  const ver = k.e ? k.ver + 1 : 1;
  if (rev !== undefined) {
    if (rev <= k.fl) return null;
    return { e: true, v: value, ver, lease, mod: rev, modMin: 0, cr: k.e ? k.cr : rev, crMin: k.e ? k.crMin : 0, fl: rev };
  }
  const fl = Math.max(k.fl, after);
  return { e: true, v: value, ver, lease, mod: 0, modMin: fl, cr: k.e ? k.cr : 0, crMin: k.e ? k.crMin : fl, fl };
}

function deleteKey(k: KeyState, rev: number | undefined): KeyState | null {
  if (rev === undefined) return absent(k.fl);
  if (rev <= k.fl) return null;
  return absent(rev);
}

/** The possible results of `If mod_revision(key) == expect`, each with the state it implies. */
function compareMod(k: KeyState, expect: number): { ok: boolean; k: KeyState }[] {
  if (!k.e) return [{ ok: expect === 0, k }];
  if (expect === 0) return [{ ok: false, k }];
  if (k.mod !== 0) return [{ ok: k.mod === expect, k }];
  const outs = [{ ok: false, k }];
  if (expect > k.modMin) outs.push({ ok: true, k: { ...k, mod: expect, modMin: 0, fl: Math.max(k.fl, expect) } });
  return outs;
}

function withKey(s: KvState, key: string, k: KeyState): KvState {
  return { keys: { ...s.keys, [key]: k }, dead: s.dead };
}

function keyOf(s: KvState, key: string): KeyState {
  return s.keys[key] ?? ABSENT;
}

const LEASE_NOT_FOUND = 5;

export function stepKv(s: KvState, input: KvInput, out: KvOutput | undefined): KvState[] {
  const one = (key: string, k: KeyState | null): KvState[] => (k ? [withKey(s, key, k)] : []);
  switch (input.type) {
    case "get": {
      if (!out) return [s];
      if (out.type !== "get") return [];
      return one(input.key, readKey(keyOf(s, input.key), out.kv, out.rev));
    }
    case "range": {
      if (!out) return [s];
      if (out.type !== "range") return [];
      let n = s;
      for (const key of input.keys) {
        const k = readKey(keyOf(n, key), out.kvs[key] ?? null, out.rev);
        if (!k) return [];
        n = withKey(n, key, k);
      }
      return [n];
    }
    case "put": {
      const k = keyOf(s, input.key);
      const lease = input.lease ?? "0";
      if (lease !== "0" && s.dead.includes(lease)) {
        // the lease is gone: the put must fail, with nothing written
        return !out || (out.type === "error" && out.code === LEASE_NOT_FOUND) ? [s] : [];
      }
      if (!out) return one(input.key, putKey(k, input.value, lease, undefined, input.after));
      if (out.type !== "write") return [];
      return one(input.key, putKey(k, input.value, lease, out.rev));
    }
    case "create":
    case "update":
    case "cdelete": {
      const expect = input.type === "create" ? 0 : input.expect;
      const res: KvState[] = [];
      for (const c of compareMod(keyOf(s, input.key), expect)) {
        // A delete of an absent key (If mod == 0 Then delete) succeeds without a new revision.
        const noop = input.type === "cdelete" && !c.k.e;
        if (!out) {
          if (!c.ok || noop) res.push(withKey(s, input.key, c.k));
          else {
            const n = input.type === "cdelete" ? deleteKey(c.k, undefined) : putKey(c.k, input.value, "0", undefined, input.after);
            if (n) res.push(withKey(s, input.key, n));
          }
          continue;
        }
        if (out.type !== "txn" || out.succeeded !== c.ok) continue;
        if (c.ok && noop) {
          if (out.rev >= c.k.fl && !out.deleted) res.push(s);
        } else if (c.ok) {
          if (input.type === "cdelete" && out.deleted === 0) continue;
          const n = input.type === "cdelete" ? deleteKey(c.k, out.rev) : putKey(c.k, input.value, "0", out.rev);
          if (n) res.push(withKey(s, input.key, n));
        } else {
          const n = out.kv === undefined ? (out.rev >= c.k.fl ? c.k : null) : readKey(c.k, out.kv, out.rev);
          if (n) res.push(withKey(s, input.key, n));
        }
      }
      return res;
    }
    case "delete": {
      const k = keyOf(s, input.key);
      if (!out) return one(input.key, k.e ? deleteKey(k, undefined) : k);
      if (out.type !== "delete") return [];
      if (out.deleted === 1) return k.e ? one(input.key, deleteKey(k, out.rev)) : [];
      if (out.deleted === 0) return !k.e && out.rev >= k.fl ? [s] : [];
      return [];
    }
    case "revoke": {
      const k = keyOf(s, input.key);
      if (s.dead.includes(input.lease)) {
        return !out || (out.type === "error" && out.code === LEASE_NOT_FOUND) ? [s] : [];
      }
      const dead = [...s.dead, input.lease].sort();
      const attached = k.e && k.lease === input.lease;
      if (!out) {
        const n = attached ? deleteKey(k, undefined) : k;
        return n ? [{ keys: { ...s.keys, [input.key]: n }, dead }] : [];
      }
      if (out.type !== "write") return [];
      // A revoke's header is the store's revision when the reply was made (as in etcd), so
      // it only bounds the deletion's revision from above: fl < deletion <= out.rev.
      if (out.rev < k.fl || (attached && out.rev <= k.fl)) return [];
      const n = attached ? absent(k.fl + 1) : k;
      return [{ keys: { ...s.keys, [input.key]: n }, dead }];
    }
    case "grant":
    case "compact":
      return [s];
  }
}

function hashKey(k: KeyState): string {
  return k.e
    ? `${k.v}|${k.ver}|${k.lease}|${k.mod}|${k.modMin}|${k.cr}|${k.crMin}|${k.fl}`
    : `-|${k.fl}`;
}

export const kvModel: Model<KvState, KvInput, KvOutput> = {
  init: () => ({ keys: {}, dead: [] }),
  step: stepKv,
  hash(s) {
    const keys = Object.keys(s.keys).sort();
    let h = s.dead.join(",");
    for (const key of keys) h += `;${key}=${hashKey(s.keys[key]!)}`;
    return h;
  },
  describe(s) {
    const parts = Object.keys(s.keys).sort().map((key) => {
      const k = s.keys[key]!;
      if (!k.e) return `${key}: absent (last write rev ${k.fl})`;
      const mod = k.mod ? `${k.mod}` : `?>${k.modMin}`;
      const cr = k.cr ? `${k.cr}` : `?>${k.crMin}`;
      return `${key}: ${k.v} mod ${mod} create ${cr} v${k.ver}${k.lease !== "0" ? ` lease ${k.lease}` : ""}`;
    });
    return parts.join("; ") || "empty";
  },
};
