// Test support: the handful of raw etcd v3 JSON calls the process tests make (on undici, with a
// timeout), written out by hand so the tests exercise the wire format itself.
import { Pool } from "undici";
import { b64, prefixEnd, unb64 } from "./wire-client.js";

export class RawEtcd {
  private pools = new Map<string, Pool>();

  private pool(ep: string): Pool {
    let p = this.pools.get(ep);
    if (!p) this.pools.set(ep, (p = new Pool(ep, { connections: 8 })));
    return p;
  }

  async call<T = Record<string, unknown>>(ep: string, path: string, body: unknown, timeoutMs = 5_000): Promise<{ status: number; body: T }> {
    const res = await this.pool(ep).request({ path, method: "POST", body: JSON.stringify(body), headersTimeout: timeoutMs, bodyTimeout: timeoutMs, headers: { "content-type": "application/json" } });
    const text = await res.body.text();
    return { status: res.statusCode, body: (text ? JSON.parse(text) : {}) as T };
  }

  async put(ep: string, key: string, value: string, timeoutMs?: number): Promise<number> {
    const r = await this.call<{ header?: { revision?: string }; message?: string }>(ep, "/v3/kv/put", { key: b64(key), value: b64(value) }, timeoutMs);
    if (r.status !== 200) throw new Error(`put ${key}: ${r.status} ${r.body.message}`);
    return Number(r.body.header?.revision ?? 0);
  }

  async get(ep: string, key: string, opts: { serializable?: boolean; timeoutMs?: number } = {}): Promise<{ value?: string; modRevision: number; createRevision: number; version: number; lease: string; revision: number }> {
    type Kv = { value?: string; mod_revision?: string; create_revision?: string; version?: string; lease?: string };
    const r = await this.call<{ header?: { revision?: string }; kvs?: Kv[]; message?: string }>(ep, "/v3/kv/range", { key: b64(key), ...(opts.serializable ? { serializable: true } : {}) }, opts.timeoutMs);
    if (r.status !== 200) throw new Error(`get ${key}: ${r.status} ${r.body.message}`);
    const kv = r.body.kvs?.[0];
    return {
      value: kv ? unb64(kv.value) : undefined,
      modRevision: Number(kv?.mod_revision ?? 0),
      createRevision: Number(kv?.create_revision ?? 0),
      version: Number(kv?.version ?? 0),
      lease: kv?.lease ?? "0",
      revision: Number(r.body.header?.revision ?? 0),
    };
  }

  async prefix(ep: string, prefix: string, serializable = false): Promise<{ kvs: Map<string, string>; revision: number }> {
    const end = prefixEnd(prefix);
    const r = await this.call<{ header?: { revision?: string }; kvs?: { key: string; value?: string }[]; message?: string }>(ep, "/v3/kv/range", { key: b64(prefix), range_end: b64(end), ...(serializable ? { serializable: true } : {}) }, 10_000);
    if (r.status !== 200) throw new Error(`range ${prefix}: ${r.status} ${r.body.message}`);
    return { kvs: new Map((r.body.kvs ?? []).map((kv) => [unb64(kv.key), unb64(kv.value)])), revision: Number(r.body.header?.revision ?? 0) };
  }

  async status(ep: string): Promise<{ leader: string; memberId: string; raftTerm: number }> {
    const r = await this.call<{ leader?: string; header?: { member_id?: string }; raftTerm?: string }>(ep, "/v3/maintenance/status", {}, 2_000);
    return { leader: r.body.leader ?? "0", memberId: r.body.header?.member_id ?? "0", raftTerm: Number(r.body.raftTerm ?? 0) };
  }

  /** Every PUT event under `prefix` from `fromRev` through `toRev`, read from a watch stream. */
  async history(ep: string, prefix: string, fromRev: number, toRev: number, timeoutMs = 20_000): Promise<{ key: string; value: string; modRevision: number }[]> {
    const end = prefixEnd(prefix);
    const ac = new AbortController();
    const timer = setTimeout(() => ac.abort(), timeoutMs);
    const events: { key: string; value: string; modRevision: number }[] = [];
    try {
      const res = await this.pool(ep).request({ path: "/v3/watch", method: "POST", signal: ac.signal, body: JSON.stringify({ create_request: { key: b64(prefix), range_end: b64(end), start_revision: String(fromRev) } }) });
      let buf = "";
      for await (const chunk of res.body) {
        buf += chunk.toString();
        let nl: number;
        while ((nl = buf.indexOf("\n")) >= 0) {
          const line = buf.slice(0, nl).trim();
          buf = buf.slice(nl + 1);
          if (!line) continue;
          const msg = JSON.parse(line) as { result?: { events?: { type?: string; kv: { key: string; value?: string; mod_revision: string } }[] } };
          for (const e of msg.result?.events ?? []) {
            if (e.type !== "DELETE") events.push({ key: unb64(e.kv.key), value: unb64(e.kv.value), modRevision: Number(e.kv.mod_revision) });
          }
          if ((events.at(-1)?.modRevision ?? 0) >= toRev) return events;
        }
      }
      return events;
    } finally {
      clearTimeout(timer);
      ac.abort();
    }
  }

  async close(): Promise<void> {
    await Promise.all([...this.pools.values()].map((p) => p.destroy()));
    this.pools.clear();
  }
}
