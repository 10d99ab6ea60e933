// Book 12.1 and 12.9: `corekube kv` as a process — etcd's flags, a client listener speaking the
// v3 JSON API, a peer listener for Raft, and a member whose data lives in --data-dir.
import { mkdirSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { join } from "node:path";
import { request } from "undici";
import { LevelLog } from "../storage/level-log.js";
import { realClock, type PeerInfo } from "./deps.js";
import { createKvHttpHandler } from "./http.js";
import { clusterIdFor, memberIdFor } from "./ids.js";
import { Member } from "./member.js";
import { createPeerHandler, leaseForwarder } from "./peer-http.js";
import { CLUSTER_PATH, HttpTransport } from "./peer-transport.js";

export interface KvOptions {
  name: string;
  dataDir: string;
  listenClientUrls: string[];
  advertiseClientUrls: string[];
  listenPeerUrls: string[];
  initialAdvertisePeerUrls: string[];
  /** "name=url,name=url" as etcd takes it. */
  initialCluster: string;
  initialClusterState: "new" | "existing";
  initialClusterToken: string;
  snapshotCount: number;
  heartbeatIntervalMs: number;
  electionTimeoutMs: number;
  maxRequestBytes: number;
  progressNotifyIntervalMs: number;
  logger: (line: string) => void;
  /** Called once this member has been removed from the cluster (etcd then exits). */
  onRemoved?: () => void;
}

export function parseInitialCluster(s: string): { name: string; url: string }[] {
  return s.split(",").filter(Boolean).map((part) => {
    const i = part.indexOf("=");
    if (i <= 0) throw new Error(`--initial-cluster: "${part}" is not name=peer-url`);
    return { name: part.slice(0, i), url: part.slice(i + 1) };
  });
}

function listen(server: Server, url: string): Promise<void> {
  const u = new URL(url);
  if (u.protocol !== "http:") throw new Error(`${url}: only http:// URLs are supported`);
  const host = u.hostname === "localhost" ? "127.0.0.1" : u.hostname.replace(/^\[|\]$/g, "");
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(Number(u.port || 80), host, () => {
      server.off("error", reject);
      resolve();
    });
  });
}

async function fetchCluster(peers: string[], timeoutMs: number): Promise<{ clusterId: string; members: PeerInfo[] }> {
  const deadline = Date.now() + timeoutMs;
  let last = "";
  while (Date.now() < deadline) {
    for (const url of peers) {
      try {
        const res = await request(new URL(CLUSTER_PATH, url), { headersTimeout: 2_000, bodyTimeout: 2_000 });
        if (res.statusCode === 200) return (await res.body.json()) as { clusterId: string; members: PeerInfo[] };
        await res.body.dump();
        last = `${url} answered ${res.statusCode}`;
      } catch (e) {
        last = `${url}: ${(e as Error).message}`;
      }
    }
    await new Promise((r) => setTimeout(r, 300));
  }
  throw new Error(`could not reach any existing member to join the cluster (${last})`);
}

export interface RunningKv {
  member: Member;
  close(): Promise<void>;
}

export async function startKv(o: KvOptions): Promise<RunningKv> {
  mkdirSync(o.dataDir, { recursive: true });
  const log = await LevelLog.open(join(o.dataDir, "member", "wal"), { observeSync: (s) => member?.metrics.walFsync.observe(s) });
  let member: Member | undefined;
  const servers: Server[] = [];
  const forwarder = leaseForwarder();
  try {
    const cluster = parseInitialCluster(o.initialCluster);
    const selfUrls = o.initialAdvertisePeerUrls;
    const initial: PeerInfo[] = cluster.map((c) => {
      const urls = cluster.filter((x) => x.name === c.name).map((x) => x.url);
      return { id: memberIdFor(urls, o.initialClusterToken), name: c.name, peerURLs: urls, clientURLs: c.name === o.name ? o.advertiseClientUrls : [] };
    }).filter((p, i, all) => all.findIndex((q) => q.id === p.id) === i);

    const meta = await log.readMeta();
    let memberId: string;
    let clusterId: string;
    let peers = initial;
    if (meta) {
      ({ memberId, clusterId } = meta);
    } else if (o.initialClusterState === "existing") {
      const others = initial.filter((p) => !p.peerURLs.some((u) => selfUrls.includes(u))).flatMap((p) => p.peerURLs);
      const found = await fetchCluster(others, 15_000);
      const me = found.members.find((m) => m.peerURLs.some((u) => selfUrls.includes(u)));
      if (!me) throw new Error(`this member's peer URLs (${selfUrls.join(",")}) are not in the cluster's member list: run "corekube kvctl member add ${o.name} --peer-urls ${selfUrls.join(",")}" first`);
      memberId = me.id;
      clusterId = found.clusterId;
      peers = found.members.map((m) => (m.id === memberId ? { ...m, name: o.name, clientURLs: o.advertiseClientUrls } : m));
    } else {
      const me = initial.find((p) => p.name === o.name);
      if (!me) throw new Error(`--initial-cluster has no entry for --name ${o.name}`);
      if (!me.peerURLs.some((u) => selfUrls.includes(u))) throw new Error(`--initial-cluster gives ${o.name} the peer URLs ${me.peerURLs.join(",")} but --initial-advertise-peer-urls is ${selfUrls.join(",")}`);
      memberId = me.id;
      clusterId = clusterIdFor(initial.map((p) => p.id), o.initialClusterToken);
    }

    const tickMs = o.heartbeatIntervalMs;
    member = await Member.start(
      {
        name: o.name,
        memberId,
        clusterId,
        initialCluster: peers,
        initialClusterState: meta ? "new" : o.initialClusterState,
        clusterToken: o.initialClusterToken,
        tickMs,
        electionTicks: Math.max(2, Math.round(o.electionTimeoutMs / tickMs)),
        heartbeatTicks: 1,
        snapshotCount: o.snapshotCount,
        snapshotCatchUpEntries: Math.min(5_000, Math.max(10, Math.floor(o.snapshotCount / 2))),
        maxRequestBytes: o.maxRequestBytes,
        progressNotifyIntervalMs: o.progressNotifyIntervalMs,
      },
      {
        log,
        transport: (cb) => new HttpTransport(memberId, () => clusterId, cb),
        clock: realClock,
        random: Math.random,
        logger: o.logger,
        forwardToLeader: (leader, path, id) => forwarder.call(leader, path, id),
        onRemoved: () => {
          o.logger("removed from the cluster; stopping");
          o.onRemoved?.();
        },
      },
    );
    const m = member;

    const multi = peers.length > 1 || o.initialClusterState === "existing";
    if (multi || o.listenPeerUrls.length > 0) {
      const peerHandler = createPeerHandler(() => m, () => clusterId, () => m.peerList());
      for (const url of o.listenPeerUrls) {
        const s = createServer((req, res) => void peerHandler(req, res));
        s.keepAliveTimeout = 60_000;
        await listen(s, url);
        servers.push(s);
      }
    }
    const handler = createKvHttpHandler(m, {
      maxRequestBytes: o.maxRequestBytes,
      metrics: async () => {
        m.updateGauges();
        return m.metrics.registry.metrics();
      },
    });
    for (const url of o.listenClientUrls) {
      // requestTimeout 0: a watch or keep-alive stream keeps its request body open for hours.
      const s = createServer({ requestTimeout: 0 }, handler);
      s.keepAliveTimeout = 60_000;
      await listen(s, url);
      servers.push(s);
    }
    void publishLoop(m, o.name, o.advertiseClientUrls);
    o.logger(`member ${o.name} (${BigInt(memberId).toString(16)}) of cluster ${BigInt(clusterId).toString(16)} serving clients on ${o.listenClientUrls.join(",")}`);
    return {
      member: m,
      async close() {
        for (const s of servers) {
          s.closeAllConnections();
          await new Promise<void>((r) => s.close(() => r()));
        }
        await m.stop();
        await forwarder.close();
      },
    };
  } catch (e) {
    for (const s of servers) s.close();
    if (member) await member.stop().catch(() => {});
    else await log.close().catch(() => {});
    await forwarder.close();
    throw e;
  }
}

/** Publishes name and client URLs through the log once there is a leader (retrying), so every
 * member lists them; etcd's members do the same each time they start. */
async function publishLoop(m: Member, name: string, clientURLs: string[]): Promise<void> {
  for (let attempt = 0; attempt < 100 && !m.isStopped; attempt++) {
    try {
      await m.publish(name, clientURLs);
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 500));
    }
  }
}
