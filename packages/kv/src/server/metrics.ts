// Book 12.1: the Prometheus view of a kv member, under etcd's metric names where the meaning is
// the same, so dashboards and alerts written for etcd read ours too.
import { Counter, Gauge, Histogram, Registry } from "prom-client";

export class MemberMetrics {
  readonly registry = new Registry();
  readonly hasLeader = new Gauge({ name: "etcd_server_has_leader", help: "Whether or not a leader exists. 1 is existence, 0 is not.", registers: [this.registry] });
  readonly isLeader = new Gauge({ name: "etcd_server_is_leader", help: "Whether or not this member is a leader. 1 if is, 0 otherwise.", registers: [this.registry] });
  readonly leaderChanges = new Counter({ name: "etcd_server_leader_changes_seen_total", help: "The number of leader changes seen.", registers: [this.registry] });
  readonly proposalsCommitted = new Gauge({ name: "etcd_server_proposals_committed_total", help: "The total number of consensus proposals committed.", registers: [this.registry] });
  readonly proposalsApplied = new Gauge({ name: "etcd_server_proposals_applied_total", help: "The total number of consensus proposals applied.", registers: [this.registry] });
  readonly proposalsPending = new Gauge({ name: "etcd_server_proposals_pending", help: "The current number of pending proposals to commit.", registers: [this.registry] });
  readonly proposalsFailed = new Counter({ name: "etcd_server_proposals_failed_total", help: "The total number of failed proposals seen.", registers: [this.registry] });
  readonly readIndexFailed = new Counter({ name: "etcd_server_read_indexes_failed_total", help: "The total number of failed read indexes seen.", registers: [this.registry] });
  readonly walFsync = new Histogram({
    name: "etcd_disk_wal_fsync_duration_seconds",
    help: "The latency distributions of fsync called by WAL.",
    buckets: [0.001, 0.002, 0.004, 0.008, 0.016, 0.032, 0.064, 0.128, 0.256, 0.512, 1.024, 2.048, 4.096, 8.192],
    registers: [this.registry],
  });
  readonly snapshotSave = new Histogram({
    name: "etcd_debugging_snap_save_total_duration_seconds",
    help: "The total latency distributions of save called by snapshot.",
    buckets: [0.001, 0.002, 0.004, 0.008, 0.016, 0.032, 0.064, 0.128, 0.256, 0.512, 1.024, 2.048, 4.096, 8.192],
    registers: [this.registry],
  });
  readonly dbSize = new Gauge({ name: "etcd_mvcc_db_total_size_in_bytes", help: "Total size of the underlying database physically allocated in bytes.", registers: [this.registry] });
  readonly peerSendFailures = new Counter({ name: "etcd_network_peer_sent_failures_total", help: "The total number of send failures from peers.", labelNames: ["To"], registers: [this.registry] });
  readonly watchers = new Gauge({ name: "etcd_debugging_mvcc_watcher_total", help: "Total number of watchers.", registers: [this.registry] });
  readonly watchStreams = new Gauge({ name: "etcd_debugging_mvcc_watch_stream_total", help: "Total number of watch streams.", registers: [this.registry] });
  readonly revision = new Gauge({ name: "etcd_debugging_mvcc_current_revision", help: "The current revision of store.", registers: [this.registry] });
  readonly compactRevision = new Gauge({ name: "etcd_debugging_mvcc_compact_revision", help: "The revision of the last compaction in store.", registers: [this.registry] });
  readonly leases = new Gauge({ name: "etcd_debugging_lease_total", help: "The number of leases.", registers: [this.registry] });
}
