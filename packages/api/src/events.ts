// Book 2.3.1 and 11.2: Events — the short notes components leave on objects ("Scheduled",
// "Pulled", "BackOff") that `kubectl describe` shows. Pure builders for core/v1 Events, with the
// repeat-counting other components use so one recurring problem stays one Event.
import { randomBytes } from "node:crypto";

export interface ObjectReference {
  kind?: string;
  namespace?: string;
  name?: string;
  uid?: string;
  apiVersion?: string;
  resourceVersion?: string;
  fieldPath?: string;
}

export type EventType = "Normal" | "Warning";

export interface CoreEvent {
  apiVersion: "v1";
  kind: "Event";
  metadata: { name: string; namespace: string; resourceVersion?: string };
  involvedObject: ObjectReference;
  reason: string;
  message: string;
  type: EventType;
  source: { component: string; host?: string };
  firstTimestamp: string;
  lastTimestamp: string;
  count: number;
  reportingComponent: string;
  reportingInstance: string;
  eventTime: null;
}

interface ObjectLike {
  apiVersion?: string;
  kind?: string;
  metadata?: { name?: string; namespace?: string; uid?: string; resourceVersion?: string };
}

/** A reference to an object, as Events and owner references carry it. */
export function referenceTo(obj: ObjectLike, fieldPath?: string): ObjectReference {
  const ref: ObjectReference = {
    kind: obj.kind,
    namespace: obj.metadata?.namespace,
    name: obj.metadata?.name,
    uid: obj.metadata?.uid,
    apiVersion: obj.apiVersion,
    resourceVersion: obj.metadata?.resourceVersion,
  };
  if (fieldPath) ref.fieldPath = fieldPath;
  return ref;
}

const seconds = (d: Date) => d.toISOString().replace(/\.\d{3}Z$/, "Z");

export interface NewEventOptions {
  involved: ObjectReference;
  type: EventType;
  reason: string;
  message: string;
  /** e.g. "default-scheduler", "kubelet". */
  component: string;
  host?: string;
  now: Date;
}

/**
 * A new Event about `involved`, named `<object name>.<16 hex digits>` as client-go's recorder
 * names them, in the object's namespace ("default" for cluster-scoped objects).
 */
export function newEvent(o: NewEventOptions): CoreEvent {
  const ts = seconds(o.now);
  const suffix = randomBytes(8).toString("hex");
  return {
    apiVersion: "v1",
    kind: "Event",
    metadata: { name: `${o.involved.name ?? "unknown"}.${suffix}`, namespace: o.involved.namespace || "default" },
    involvedObject: o.involved,
    reason: o.reason,
    message: o.message.length > 1024 ? `${o.message.slice(0, 1021)}...` : o.message,
    type: o.type,
    source: o.host ? { component: o.component, host: o.host } : { component: o.component },
    firstTimestamp: ts,
    lastTimestamp: ts,
    count: 1,
    reportingComponent: o.component,
    reportingInstance: o.host ?? "",
    eventTime: null,
  };
}

/** Events that say the same thing about the same object share this key (and are counted, not repeated). */
export function eventKey(e: Pick<CoreEvent, "involvedObject" | "type" | "reason" | "message" | "source">): string {
  const r = e.involvedObject;
  return [e.source.component, e.source.host ?? "", r.kind, r.namespace, r.name, r.uid, r.fieldPath ?? "", e.type, e.reason, e.message].join("\u0000");
}

/** The same Event seen again: one more in `count`, a new `lastTimestamp`. */
export function repeatEvent<E extends Pick<CoreEvent, "count" | "lastTimestamp">>(existing: E, now: Date): E {
  return { ...existing, count: (existing.count ?? 1) + 1, lastTimestamp: seconds(now) };
}
