// Test support (Book 12.10): the servers the conformance suite runs against (etcd 3.4, `corekube kv`),
// one process per test file and target, and expected shapes that tolerate ids and terms.
import { afterAll, beforeAll, describe, expect } from "vitest";
import { etcdAvailable, startEtcd } from "./etcd-process.js";
import { startKv } from "./kv-process.js";

export interface Running {
  endpoint: string;
  stop(): Promise<void>;
}

export interface Target {
  name: string;
  start(): Promise<Running>;
}

const ALL: Record<string, Target> = {
  etcd: {
    name: "etcd",
    async start() {
      const e = await startEtcd();
      return { endpoint: e.endpoints[0]!, stop: e.stop };
    },
  },
  corekube: {
    name: "corekube",
    async start() {
      const k = await startKv();
      return { endpoint: k.endpoints[0]!, stop: () => k.stop() };
    },
  },
};

/** Which targets run: CONFORMANCE_TARGETS=etcd,corekube (default below). */
const DEFAULT_TARGETS = "etcd,corekube";

export const targets: Target[] = (process.env.CONFORMANCE_TARGETS ?? DEFAULT_TARGETS)
  .split(",")
  .map((n) => n.trim())
  .filter((n) => n !== "")
  .map((n) => {
    const t = ALL[n];
    if (!t) throw new Error(`unknown conformance target "${n}" (known: ${Object.keys(ALL).join(", ")})`);
    return t;
  })
  .filter((t) => {
    if (t.name !== "etcd" || etcdAvailable()) return true;
    // CI must compare with the real thing; by hand, a machine without etcd runs corekube alone.
    if (process.env.CI) throw new Error("etcd is not installed: scripts/setup.sh --test installs Debian's etcd-server");
    return false;
  });

/** describe(title) once per target, each with its own server process, started before and stopped
 * after (also when tests fail). `fn` gets a getter for the endpoint. */
export function forEachTarget(title: string, fn: (server: { readonly ep: string; readonly target: string }) => void): void {
  if (targets.length === 0) {
    describe.skip(`${title} (no target: install etcd or set CONFORMANCE_TARGETS)`, () => {});
    return;
  }
  describe.each(targets)(`$name: ${title}`, (t) => {
    let running: Running | undefined;
    beforeAll(async () => {
      running = await t.start();
    }, 60_000);
    afterAll(async () => {
      await running?.stop();
    });
    fn({
      get ep() {
        if (!running) throw new Error(`${t.name} did not start`);
        return running.endpoint;
      },
      target: t.name,
    });
  });
}

let seq = 0;
/** A key prefix no other test uses. */
export const uniq = (name: string) => `/conf/${name}/${process.pid}.${++seq}/`;

const digits = () => expect.stringMatching(/^\d+$/);

/** A full response header at `rev` (ids and term only need to be numbers). */
export function header(rev?: number): object {
  return { cluster_id: digits(), member_id: digits(), revision: rev === undefined ? digits() : String(rev), raft_term: digits() };
}

/** The cluster and maintenance services' header: no revision. */
export function clusterHeader(): object {
  return { cluster_id: digits(), member_id: digits(), raft_term: digits() };
}

/** A KeyValue as etcd writes it: zero fields left out. */
export function kv(key: string, value: string, f: { create: number; mod: number; version: number; lease?: string }): object {
  const o: Record<string, string> = { key: Buffer.from(key, "latin1").toString("base64"), create_revision: String(f.create), mod_revision: String(f.mod), version: String(f.version) };
  if (value !== "") o.value = Buffer.from(value, "latin1").toString("base64");
  if (f.lease && f.lease !== "0") o.lease = f.lease;
  return o;
}

/** etcd's unary error body. */
export function etcdError(code: number, message: string): object {
  return { error: message, message, code };
}
