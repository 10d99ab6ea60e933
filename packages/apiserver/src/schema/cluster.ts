// Book 9.3 and 11.1: cluster plumbing kinds — coordination.k8s.io Lease (leader election, node heartbeats),
// events.k8s.io Event and scheduling.k8s.io PriorityClass.
import type { Schema } from "./types.js";
import {
  bool,
  COORD,
  CORE,
  EVENTS,
  int32,
  listOf,
  META,
  METADATA_FIELD,
  obj,
  ref,
  root,
  SCHED,
  specField,
  str,
  strEnum,
} from "./dsl.js";

/** coordination/v1, events.k8s.io/v1 and scheduling.k8s.io/v1 schemas, keyed by component name. */
export const clusterSchemas: Record<string, Schema> = {
  [COORD + "Lease"]: root(
    "coordination.k8s.io", "v1", "Lease",
    "A lease, used for leader election and node heartbeats.",
    {
      metadata: METADATA_FIELD,
      spec: specField(COORD + "LeaseSpec"),
    },
  ),
  [EVENTS + "Event"]: root(
    "events.k8s.io", "v1", "Event",
    "A report of something that happened to an object (events.k8s.io form).",
    {
      metadata: METADATA_FIELD,
      eventTime: ref(META + "MicroTime", "When the event was first observed."),
      series: ref(EVENTS + "EventSeries", "Data about a series of repeated events."),
      reportingController: str("The controller that emitted the event."),
      reportingInstance: str("The instance of that controller."),
      action: str("What was done, or failed to be done."),
      reason: str("Why it was done."),
      regarding: ref(CORE + "ObjectReference", "The object the event is about."),
      related: ref(CORE + "ObjectReference", "A second object involved, if any."),
      note: str("A human-readable description, at most 1kB."),
      type: str("Normal or Warning."),
      deprecatedSource: ref(CORE + "EventSource", "The core/v1 source field, kept for compatibility."),
      deprecatedFirstTimestamp: ref(META + "Time", "The core/v1 firstTimestamp, kept for compatibility."),
      deprecatedLastTimestamp: ref(META + "Time", "The core/v1 lastTimestamp, kept for compatibility."),
      deprecatedCount: int32("The core/v1 count, kept for compatibility."),
    },
    { required: ["eventTime"] },
  ),
  [SCHED + "PriorityClass"]: root("scheduling.k8s.io", "v1", "PriorityClass", "A named pod priority.", {
    metadata: METADATA_FIELD,
    value: int32("The priority; higher is more important."),
    globalDefault: bool("Use this class for pods that name none."),
    description: str("When to use this class."),
    preemptionPolicy: strEnum("PreemptLowerPriority (the default) or Never.", ["Never", "PreemptLowerPriority"]),
  }),
  [COORD + "LeaseSpec"]: obj("The state of a lease.", {
    holderIdentity: str("Who holds the lease."),
    leaseDurationSeconds: int32("Seconds others must wait after the last renewal before taking the lease."),
    acquireTime: ref(META + "MicroTime", "When the current holder acquired the lease."),
    renewTime: ref(META + "MicroTime", "When the holder last renewed the lease."),
    leaseTransitions: int32("How many times the lease has changed hands."),
    strategy: str("The strategy for coordinated leader election."),
    preferredHolder: str("A better holder the current one should hand over to."),
  }),
  [EVENTS + "EventSeries"]: obj("A series of repeated events.", {
    count: int32("How many times the event has happened in the series."),
    lastObservedTime: ref(META + "MicroTime", "When it last happened."),
  }, { required: ["count", "lastObservedTime"] }),
  [COORD + "LeaseList"]: listOf("coordination.k8s.io", "v1", "Lease", COORD + "Lease"),
  [EVENTS + "EventList"]: listOf("events.k8s.io", "v1", "Event", EVENTS + "Event"),
  [SCHED + "PriorityClassList"]: listOf("scheduling.k8s.io", "v1", "PriorityClass", SCHED + "PriorityClass"),
};
