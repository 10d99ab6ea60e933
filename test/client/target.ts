// Test support (Book 12.10): which server the client and kvctl suites run against — Debian's etcd by
// default, or `corekube kv` with KV_TEST_TARGET=corekube, since one client must work on both.
import { type EtcdCluster, etcdAvailable, startEtcdCluster } from "../support/etcd-cluster.js";

export const TARGET = process.env.KV_TEST_TARGET === "corekube" ? "corekube" : "etcd";

export function targetAvailable(): boolean {
  return TARGET === "corekube" || etcdAvailable();
}

/** One member of the chosen server on loopback, with a temporary data dir that stop() removes. */
export async function startTarget(): Promise<EtcdCluster> {
  if (TARGET === "etcd") return startEtcdCluster({ members: 1 });
  const { startKv } = await import("../support/kv-process.js");
  const kv = await startKv({ members: 1 });
  return { endpoints: kv.endpoints, pids: kv.pids, stop: () => kv.stop() };
}
