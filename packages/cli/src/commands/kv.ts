// Book 12.1 and 12.9: `corekube kv`, the Raft-replicated store, started with etcd's own flag names.
import { startKv } from "@corekube/kv/server/run";
import { type FlagSpec, flagDurationMs, flagInt, flagList, flagValue, parseFlags, usage, UsageError } from "../flags.js";

export const kvFlags: FlagSpec[] = [
  { name: "name", help: "this member's name, as it appears in --initial-cluster and member lists", default: "default" },
  { name: "data-dir", help: "where this member keeps its log and snapshots (default <name>.etcd)" },
  { name: "listen-client-urls", help: "addresses the client API (etcd's v3 JSON) is served on", default: "http://localhost:2379", list: true },
  { name: "advertise-client-urls", help: "addresses other members and clients are told to use for this member (default: the listen URLs)", list: true },
  { name: "listen-peer-urls", help: "addresses Raft messages from other members arrive on", list: true },
  { name: "initial-advertise-peer-urls", help: "the peer addresses other members should send Raft messages to", default: "http://localhost:2380", list: true },
  { name: "initial-cluster", help: "every member of a new cluster as name=peer-url,... (default <name>=<initial-advertise-peer-urls>)" },
  { name: "initial-cluster-state", help: "new (bootstrap a new cluster) or existing (join one, after `kvctl member add`)", default: "new" },
  { name: "initial-cluster-token", help: "a word mixed into member and cluster ids, so two clusters never share them", default: "etcd-cluster" },
  { name: "snapshot-count", help: "how many applied entries between snapshots (the log before a snapshot is then trimmed); etcd 3.4 uses the same default", default: "100000" },
  { name: "heartbeat-interval", help: "how often a leader tells followers it is alive (one Raft tick)", default: "100ms" },
  { name: "election-timeout", help: "how long a follower waits without hearing a leader before it campaigns", default: "1000ms" },
  { name: "max-request-bytes", help: "the biggest client request (in bytes) this member accepts", default: String(1.5 * 1024 * 1024) },
  { name: "experimental-watch-progress-notify-interval", help: "how often watchers that asked for progress notifications get one", default: "10m" },
];

const SUMMARY = `Runs one member of corekube's key-value store: Raft-replicated, MVCC, and speaking etcd's v3
JSON API (POST /v3/kv/range, /v3/kv/put, /v3/kv/txn, /v3/watch, /v3/lease/*, ...), so the API
server can use it or a real etcd. With only --name, --data-dir and --listen-client-urls it is a
one-member cluster.`;

const EXAMPLE = `Examples:
  corekube kv --name solo --data-dir /tmp/solo --listen-client-urls http://127.0.0.1:2379
  corekube kv --name n1 --data-dir /tmp/n1 --listen-client-urls http://127.0.0.1:2379 \\
     --listen-peer-urls http://127.0.0.1:2380 --initial-advertise-peer-urls http://127.0.0.1:2380 \\
     --initial-cluster n1=http://127.0.0.1:2380,n2=http://127.0.0.1:12380,n3=http://127.0.0.1:22380`;

export async function kvCommand(argv: string[]): Promise<number> {
  if (argv.includes("--help") || argv.includes("-h")) {
    process.stdout.write(usage("kv", SUMMARY, kvFlags, EXAMPLE));
    return 0;
  }
  const p = parseFlags(argv, kvFlags);
  if (p.positionals.length > 0) throw new UsageError(`unexpected argument "${p.positionals[0]}"`);
  const name = flagValue(p, kvFlags, "name");
  const listenClientUrls = flagList(p, kvFlags, "listen-client-urls");
  const advertise = flagList(p, kvFlags, "advertise-client-urls");
  const peerAdvertise = p.flags.has("initial-advertise-peer-urls") ? flagList(p, kvFlags, "initial-advertise-peer-urls") : p.flags.has("listen-peer-urls") ? flagList(p, kvFlags, "listen-peer-urls") : flagList(p, kvFlags, "initial-advertise-peer-urls");
  const state = flagValue(p, kvFlags, "initial-cluster-state");
  if (state !== "new" && state !== "existing") throw new UsageError(`--initial-cluster-state must be "new" or "existing", got "${state}"`);
  for (const u of [...listenClientUrls, ...peerAdvertise]) {
    try {
      new URL(u);
    } catch {
      throw new UsageError(`"${u}" is not a URL (expected e.g. http://127.0.0.1:2379)`);
    }
  }
  let removed = () => {};
  const running = await startKv({
    name,
    dataDir: flagValue(p, kvFlags, "data-dir") || `${name}.etcd`,
    listenClientUrls,
    advertiseClientUrls: advertise.length > 0 ? advertise : listenClientUrls,
    listenPeerUrls: flagList(p, kvFlags, "listen-peer-urls"),
    initialAdvertisePeerUrls: peerAdvertise,
    initialCluster: flagValue(p, kvFlags, "initial-cluster") || peerAdvertise.map((u) => `${name}=${u}`).join(","),
    initialClusterState: state,
    initialClusterToken: flagValue(p, kvFlags, "initial-cluster-token"),
    snapshotCount: flagInt(p, kvFlags, "snapshot-count"),
    heartbeatIntervalMs: flagDurationMs(p, kvFlags, "heartbeat-interval"),
    electionTimeoutMs: flagDurationMs(p, kvFlags, "election-timeout"),
    maxRequestBytes: flagInt(p, kvFlags, "max-request-bytes"),
    progressNotifyIntervalMs: flagDurationMs(p, kvFlags, "experimental-watch-progress-notify-interval"),
    logger: (line) => process.stderr.write(`${new Date().toISOString()} kv ${line}\n`),
    onRemoved: () => removed(),
  });
  await new Promise<void>((resolve) => {
    const stop = () => resolve();
    removed = stop;
    process.once("SIGTERM", stop);
    process.once("SIGINT", stop);
  });
  await running.close();
  return 0;
}
