// Book 12.1: the Prometheus view of a kv member, under etcd's metric names where the meaning is
// the same, so dashboards and alerts written for etcd read ours too.
import { Counter, Gauge, Histogram, Registry } from "prom-client";

export class MemberMetrics {
  readonly registry = new Registry();
  readonly hasLeader = new Gauge({ name: "etcd_server_has_leader", help: "1 while this member knows a leader, else 0.", registers: [this.registry] });
  readonly isLeader = new Gauge({ name: "etcd_server_is_leader", help: "1 while this member leads, else 0.", registers: [this.registry] });
  readonly leaderChanges = new Counter({ name: "etcd_server_leader_changes_seen_total", help: "How many times this member saw the leader change.", registers: [this.registry] });
  readonly proposalsCommitted = new Gauge({ name: "etcd_server_proposals_committed_total", help: "Index of the last log entry known to be committed.", registers: [this.registry] });
  readonly proposalsApplied = new Gauge({ name: "etcd_server_proposals_applied_total", help: "Index of the last log entry applied to the state machine.", registers: [this.registry] });
  readonly proposalsPending = new Gauge({ name: "etcd_server_proposals_pending", help: "Client writes proposed here and still waiting to be applied.", registers: [this.registry] });
  readonly proposalsFailed = new Counter({ name: "etcd_server_proposals_failed_total", help: "Client writes proposed here that failed or timed out.", registers: [this.registry] });
  readonly readIndexFailed = new Counter({ name: "etcd_server_read_indexes_failed_total", help: "ReadIndex rounds (linearizable reads) that got no answer in time.", registers: [this.registry] });
  readonly walFsync = new Histogram({
    name: "etcd_disk_wal_fsync_duration_seconds",
    help: "Seconds each synced write of the write-ahead log took.",
    buckets: [0.001, 0.002, 0.004, 0.008, 0.016, 0.032, 0.064, 0.128, 0.256, 0.512, 1.024, 2.048, 4.096, 8.192],
    registers: [this.registry],
  });
  readonly snapshotSave = new Histogram({
    name: "etcd_debugging_snap_save_total_duration_seconds",
    help: "Seconds taken to make and save one snapshot.",
    buckets: [0.001, 0.002, 0.004, 0.008, 0.016, 0.032, 0.064, 0.128, 0.256, 0.512, 1.024, 2.048, 4.096, 8.192],
    registers: [this.registry],
  });
  readonly dbSize = new Gauge({ name: "etcd_mvcc_db_total_size_in_bytes", help: "Bytes the member's data takes on disk.", registers: [this.registry] });
  readonly peerSendFailures = new Counter({ name: "etcd_network_peer_sent_failures_total", help: "Raft messages that could not be delivered, by peer.", labelNames: ["To"], registers: [this.registry] });
  readonly watchers = new Gauge({ name: "etcd_debugging_mvcc_watcher_total", help: "Watchers open on this member.", registers: [this.registry] });
  readonly watchStreams = new Gauge({ name: "etcd_debugging_mvcc_watch_stream_total", help: "Watch streams (connections) open on this member.", registers: [this.registry] });
  readonly revision = new Gauge({ name: "etcd_debugging_mvcc_current_revision", help: "The store's current revision.", registers: [this.registry] });
  readonly compactRevision = new Gauge({ name: "etcd_debugging_mvcc_compact_revision", help: "The revision the store was last compacted at.", registers: [this.registry] });
  readonly leases = new Gauge({ name: "etcd_debugging_lease_total", help: "Leases alive in the store.", registers: [this.registry] });
}
