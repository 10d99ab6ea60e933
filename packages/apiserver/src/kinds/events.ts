// Book 2.3 and 9.3: Events in both API shapes (core/v1 and events.k8s.io/v1), the conversion between
// them, `kubectl get events` columns and the field selectors `kubectl describe` uses.
import { field, type FieldError } from "@corekube/api";
import type { KubeObject, ResourceDef, TableConvertor } from "../registry/types.js";
import { ageOf } from "./age.js";
import { get, obj, s, type JsonObject } from "./json.js";
import { validateImmutable } from "./meta.js";
import { col, nameColumn, nameOf } from "./tables.js";
import { validateQualifiedName, validateSubdomain } from "./validation.js";

const REPORTING_INSTANCE_LIMIT = 128;
const ACTION_LIMIT = 128;
const REASON_LIMIT = 128;
const NOTE_LIMIT = 1024;

/** core/v1 field ↔ events.k8s.io/v1 field. */
const RENAMES: Array<[string, string]> = [
  ["involvedObject", "regarding"],
  ["message", "note"],
  ["reportingComponent", "reportingController"],
  ["source", "deprecatedSource"],
  ["firstTimestamp", "deprecatedFirstTimestamp"],
  ["lastTimestamp", "deprecatedLastTimestamp"],
  ["count", "deprecatedCount"],
];
const SHARED = ["metadata", "eventTime", "series", "reportingInstance", "action", "reason", "related", "type"];

function copyFields(from: KubeObject, pairs: Array<[string, string]>): KubeObject {
  const out: JsonObject = { metadata: {} };
  for (const k of SHARED) if (from[k] !== undefined) out[k] = from[k];
  for (const [a, b] of pairs) if (from[a] !== undefined) out[b] = from[a];
  return out as KubeObject;
}

/** A core/v1 Event in the events.k8s.io/v1 shape. */
export function coreEventToEventsV1(e: KubeObject): KubeObject {
  const out = copyFields(e, RENAMES);
  return { ...out, apiVersion: "events.k8s.io/v1", kind: "Event" };
}

/** An events.k8s.io/v1 Event in the core/v1 shape. */
export function eventsV1ToCoreEvent(e: KubeObject): KubeObject {
  const out = copyFields(
    e,
    RENAMES.map(([a, b]) => [b, a]),
  );
  return { ...out, apiVersion: "v1", kind: "Event" };
}

const tooLong = (v: unknown, limit: number): boolean => typeof v === "string" && v.length > limit;

/**
 * Checks every Event passes in either API. Old-style events (no eventTime) need only the
 * namespace agreement; new-style ones also need reportingController, reportingInstance, action
 * and reason.
 */
function validateCoreShape(e: KubeObject, names: { involved: string; controller: string; message: string }): FieldError[] {
  const errs: FieldError[] = [];
  const ns = s(e.metadata?.namespace);
  const involvedNs = s(get(e, names.involved, "namespace"));
  const nsPath = `${names.involved}.namespace`;
  if (s(e.eventTime) === "") {
    if (involvedNs === "") {
      if (ns !== "" && ns !== "default") errs.push(field.invalid(nsPath, involvedNs, "does not match event.namespace"));
    } else if (ns !== involvedNs) {
      errs.push(field.invalid(nsPath, involvedNs, "does not match event.namespace"));
    }
  } else {
    if (involvedNs === "" && ns !== "default" && ns !== "kube-system") errs.push(field.invalid(nsPath, involvedNs, "does not match event.namespace"));
    const controller = e[names.controller];
    if (s(controller) === "") errs.push(field.required(names.controller, ""));
    else errs.push(...validateQualifiedName(controller, names.controller));
    if (s(e.reportingInstance) === "") errs.push(field.required("reportingInstance", ""));
    if (tooLong(e.reportingInstance, REPORTING_INSTANCE_LIMIT)) errs.push(field.invalid("reportingInstance", "", `can have at most ${REPORTING_INSTANCE_LIMIT} characters`));
    if (s(e.action) === "") errs.push(field.required("action", ""));
    if (tooLong(e.action, ACTION_LIMIT)) errs.push(field.invalid("action", "", `can have at most ${ACTION_LIMIT} characters`));
    if (s(e.reason) === "") errs.push(field.required("reason", ""));
    if (tooLong(e.reason, REASON_LIMIT)) errs.push(field.invalid("reason", "", `can have at most ${REASON_LIMIT} characters`));
    if (tooLong(e[names.message], NOTE_LIMIT)) errs.push(field.invalid(names.message, "", `can have at most ${NOTE_LIMIT} characters`));
  }
  if (ns !== "") errs.push(...validateSubdomain(ns, "metadata.namespace"));
  return errs;
}

// ---------------------------------------------------------------------------------------------
// Table (the same for both shapes, computed on the core/v1 form).

/** "kubelet, node-1": the reporting component, then the host when there is one. */
function eventSource(e: KubeObject): string {
  const source = obj(e.source) ?? {};
  const component = s(source.component) || s(e.reportingComponent);
  const host = s(source.host) || s(e.reportingInstance);
  return host === "" ? component : `${component}, ${host}`;
}

export function coreEventCells(e: KubeObject, now: Date): unknown[] {
  // New-style events carry eventTime (and a series) instead of first/last timestamps and count.
  const first = ageOf(s(e.firstTimestamp) !== "" ? e.firstTimestamp : e.eventTime, now);
  let last = s(e.lastTimestamp) !== "" ? ageOf(e.lastTimestamp, now) : first;
  let count = typeof e.count === "number" ? e.count : 0;
  const series = obj(e.series);
  if (series) {
    last = ageOf(series.lastObservedTime, now);
    count = typeof series.count === "number" ? series.count : 0;
  } else if (count === 0) {
    count = 1; // a single new-style event carries no count
  }
  const involved = obj(e.involvedObject) ?? {};
  const kind = s(involved.kind).toLowerCase();
  const target = s(involved.name) !== "" ? `${kind}/${s(involved.name)}` : kind;
  return [last, s(e.type), s(e.reason), target, s(involved.fieldPath), eventSource(e), s(e.message).trim(), first, count, nameOf(e)];
}

const eventColumns = [
  col("Last Seen", "string", "How long ago the event was last observed."),
  col("Type", "string", "Normal or Warning."),
  col("Reason", "string", "A short machine-readable reason for the event."),
  col("Object", "string", "The object the event is about, as kind/name."),
  col("Subobject", "string", "The part of the object concerned, e.g. a container.", 1),
  col("Source", "string", "The component (and host) that reported the event.", 1),
  col("Message", "string", "A human-readable description."),
  col("First Seen", "string", "How long ago the event was first observed.", 1),
  col("Count", "string", "How many times the event has occurred.", 1),
  nameColumn(1),
];

// ---------------------------------------------------------------------------------------------
// core/v1 Event.

export function coreEventFields(e: KubeObject): Record<string, string> {
  const involved = obj(e.involvedObject) ?? {};
  const source = s(get(e, "source", "component")) || s(e.reportingComponent);
  return {
    "involvedObject.kind": s(involved.kind),
    "involvedObject.namespace": s(involved.namespace),
    "involvedObject.name": s(involved.name),
    "involvedObject.uid": s(involved.uid),
    "involvedObject.apiVersion": s(involved.apiVersion),
    "involvedObject.resourceVersion": s(involved.resourceVersion),
    "involvedObject.fieldPath": s(involved.fieldPath),
    reason: s(e.reason),
    reportingComponent: s(e.reportingComponent),
    source,
    type: s(e.type),
  };
}

function validateCoreEvent(e: KubeObject): FieldError[] {
  const errs = validateCoreShape(e, { involved: "involvedObject", controller: "reportingComponent", message: "message" });
  // An event about nothing cannot be listed or described: the object it concerns must be named.
  if (!obj(e.involvedObject)) errs.unshift(field.required("involvedObject", ""));
  return errs;
}

export const coreEvents: ResourceDef = {
  group: "",
  version: "v1",
  resource: "events",
  kind: "Event",
  listKind: "EventList",
  singular: "event",
  namespaced: true,
  shortNames: ["ev"],
  schemaName: "io.k8s.api.core.v1.Event",
  strategy: {
    validate: validateCoreEvent,
    allowCreateOnUpdate: true,
  },
  table: { columns: eventColumns, cells: coreEventCells },
  fields: coreEventFields,
};

// ---------------------------------------------------------------------------------------------
// events.k8s.io/v1 Event.

function validateEventsV1(e: KubeObject): FieldError[] {
  const errs = validateCoreShape(e, { involved: "regarding", controller: "reportingController", message: "note" });
  if (s(e.eventTime) === "") errs.push(field.required("eventTime", ""));
  if (e.type !== "Normal" && e.type !== "Warning") errs.push(field.invalid("type", "", `has invalid value: ${s(e.type)}`));
  for (const k of ["deprecatedFirstTimestamp", "deprecatedLastTimestamp"]) if (s(e[k]) !== "") errs.push(field.invalid(k, "", "needs to be unset"));
  if (typeof e.deprecatedCount === "number" && e.deprecatedCount !== 0) errs.push(field.invalid("deprecatedCount", "", "needs to be unset"));
  const source = obj(e.deprecatedSource);
  if (source && (s(source.component) !== "" || s(source.host) !== "")) errs.push(field.invalid("deprecatedSource", "", "needs to be unset"));
  const series = obj(e.series);
  if (series) {
    if (typeof series.count !== "number" || series.count < 2) errs.push(field.invalid("series.count", "", "should be at least 2"));
    if (s(series.lastObservedTime) === "") errs.push(field.required("series.lastObservedTime", ""));
  }
  return errs;
}

function validateEventsV1Update(e: KubeObject, old: KubeObject): FieldError[] {
  const errs: FieldError[] = [];
  for (const k of ["regarding", "reason", "note", "type", "action", "related", "reportingController", "reportingInstance", "eventTime", "deprecatedSource"]) {
    errs.push(...validateImmutable(e[k], old[k], k));
  }
  return errs;
}

const eventsV1Table: TableConvertor = {
  columns: eventColumns,
  cells: (e, now) => coreEventCells(eventsV1ToCoreEvent(e), now),
};

export const eventsV1: ResourceDef = {
  group: "events.k8s.io",
  version: "v1",
  resource: "events",
  kind: "Event",
  listKind: "EventList",
  singular: "event",
  namespaced: true,
  shortNames: ["ev"],
  schemaName: "io.k8s.api.events.v1.Event",
  // One storage with core/v1 Events: an Event written through either API shows in both.
  storedAs: { group: "", resource: "events", toStorage: eventsV1ToCoreEvent, fromStorage: coreEventToEventsV1 },
  strategy: {
    validate: validateEventsV1,
    validateUpdate: validateEventsV1Update,
    allowCreateOnUpdate: true,
  },
  table: eventsV1Table,
  // Selectable under events.k8s.io names (Kubernetes maps them onto the core fields).
  fields(e) {
    const regarding = obj(e.regarding) ?? {};
    return {
      "regarding.kind": s(regarding.kind),
      "regarding.namespace": s(regarding.namespace),
      "regarding.name": s(regarding.name),
      "regarding.uid": s(regarding.uid),
      "regarding.apiVersion": s(regarding.apiVersion),
      "regarding.resourceVersion": s(regarding.resourceVersion),
      "regarding.fieldPath": s(regarding.fieldPath),
      reason: s(e.reason),
      reportingController: s(e.reportingController),
      type: s(e.type),
    };
  },
};
