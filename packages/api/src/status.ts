// Book 1.6.1 and 11.2: Kubernetes API errors as data — the metav1 `Status` object an API
// server returns on failure, its reasons and HTTP codes, and field-level validation causes.

/** Why a request failed, as carried in `Status.reason`. "" means unknown (upstream's StatusReasonUnknown). */
export type StatusReason =
  | ""
  | "Unauthorized"
  | "Forbidden"
  | "NotFound"
  | "AlreadyExists"
  | "Conflict"
  | "Gone"
  | "Invalid"
  | "ServerTimeout"
  | "Timeout"
  | "TooManyRequests"
  | "BadRequest"
  | "MethodNotAllowed"
  | "NotAcceptable"
  | "RequestEntityTooLarge"
  | "UnsupportedMediaType"
  | "InternalError"
  | "Expired"
  | "ServiceUnavailable";

/** The machine-readable kind of one field problem (`StatusCause.reason`). */
export type CauseType =
  | "FieldValueNotFound"
  | "FieldValueRequired"
  | "FieldValueDuplicate"
  | "FieldValueInvalid"
  | "FieldValueNotSupported"
  | "FieldValueForbidden"
  | "FieldValueTooLong"
  | "FieldValueTooMany"
  | "FieldValueTypeInvalid"
  | "InternalError";

/** One reason a request failed; every key is optional on the wire (omitempty). */
export interface StatusCause {
  reason?: CauseType | (string & {});
  message?: string;
  field?: string;
}

export interface StatusDetails {
  name?: string;
  group?: string;
  /** For resource errors this holds the resource (e.g. "pods"); for Invalid, the Kind. */
  kind?: string;
  uid?: string;
  causes?: StatusCause[];
  retryAfterSeconds?: number;
}

/** metav1.Status, as serialized by the API server. */
export interface Status {
  kind: "Status";
  apiVersion: "v1";
  metadata: { resourceVersion?: string; continue?: string };
  status: "Success" | "Failure";
  message: string;
  reason: StatusReason;
  details?: StatusDetails;
  code: number;
}

/** An Error whose payload is a Kubernetes Status; throw it anywhere, serialize `.status`. */
export class StatusError extends Error {
  readonly status: Status;

  constructor(status: Status) {
    super(status.message);
    this.name = "StatusError";
    this.status = status;
  }

  get code(): number {
    return this.status.code;
  }

  get reason(): StatusReason {
    return this.status.reason;
  }

  toJSON(): Status {
    return this.status;
  }
}

/** A resource name qualified by its API group: { group: "apps", resource: "deployments" }. */
export interface GroupResource {
  group?: string;
  resource: string;
}

/** A kind qualified by its API group: { group: "apps", kind: "Deployment" }. */
export interface GroupKind {
  group?: string;
  kind: string;
}

function splitQualified(s: string): [string, string] {
  const dot = s.indexOf(".");
  return dot < 0 ? [s, ""] : [s.slice(0, dot), s.slice(dot + 1)];
}

/** Accepts `{group, resource}` or the string form "deployments.apps" / "pods". */
export function groupResource(gr: GroupResource | string): Required<GroupResource> {
  if (typeof gr === "string") {
    const [resource, group] = splitQualified(gr);
    return { group, resource };
  }
  return { group: gr.group ?? "", resource: gr.resource };
}

/** Accepts `{group, kind}` or the string form "Deployment.apps" / "Pod". */
export function groupKind(gk: GroupKind | string): Required<GroupKind> {
  if (typeof gk === "string") {
    const [kind, group] = splitQualified(gk);
    return { group, kind };
  }
  return { group: gk.group ?? "", kind: gk.kind };
}

function qualified(name: string, group: string): string {
  return group === "" ? name : `${name}.${group}`;
}

function quote(s: string): string {
  return JSON.stringify(s);
}

function messageOf(err: unknown): string {
  if (err instanceof Error) return err.message;
  if (typeof err === "string") return err;
  return "unknown error";
}

/** Build a failure Status. Empty/undefined detail keys are dropped, as upstream's omitempty does. */
export function failure(
  code: number,
  reason: StatusReason,
  message: string,
  details?: StatusDetails,
): StatusError {
  const status: Status = {
    kind: "Status",
    apiVersion: "v1",
    metadata: {},
    status: "Failure",
    message,
    reason,
    code,
  };
  if (details) {
    const d: StatusDetails = {};
    if (details.name) d.name = details.name;
    if (details.group) d.group = details.group;
    if (details.kind) d.kind = details.kind;
    if (details.uid) d.uid = details.uid;
    if (details.causes && details.causes.length > 0) d.causes = details.causes;
    if (details.retryAfterSeconds) d.retryAfterSeconds = details.retryAfterSeconds;
    if (Object.keys(d).length > 0) status.details = d;
  }
  return new StatusError(status);
}

function resourceDetails(gr: Required<GroupResource>, name?: string): StatusDetails {
  return { group: gr.group, kind: gr.resource, name: name ?? "" };
}

/** 404: `pods "web" not found`, `deployments.apps "web" not found`. */
export function notFound(resource: GroupResource | string, name: string): StatusError {
  const gr = groupResource(resource);
  return failure(404, "NotFound", `${qualified(gr.resource, gr.group)} ${quote(name)} not found`, resourceDetails(gr, name));
}

/** 409: `pods "web" already exists`. */
export function alreadyExists(resource: GroupResource | string, name: string): StatusError {
  const gr = groupResource(resource);
  return failure(409, "AlreadyExists", `${qualified(gr.resource, gr.group)} ${quote(name)} already exists`, resourceDetails(gr, name));
}

/** 409: an optimistic-concurrency failure, e.g. a stale resourceVersion on update. */
export function conflict(resource: GroupResource | string, name: string, reason: unknown): StatusError {
  const gr = groupResource(resource);
  return failure(
    409,
    "Conflict",
    `Operation cannot be fulfilled on ${qualified(gr.resource, gr.group)} ${quote(name)}: ${messageOf(reason)}`,
    resourceDetails(gr, name),
  );
}

/** 422: the object failed validation; each field error becomes a cause. */
export function invalid(kind: GroupKind | string, name: string, errs: readonly FieldError[]): StatusError {
  const gk = groupKind(kind);
  const causes: StatusCause[] = errs.map((e) => ({ reason: e.type, message: fieldErrorBody(e), field: e.field }));
  const summary = aggregateMessage(errs.map(fieldErrorMessage));
  const head = `${qualified(gk.kind, gk.group)} ${quote(name)} is invalid`;
  return failure(422, "Invalid", summary === "" ? head : `${head}: ${summary}`, {
    group: gk.group,
    kind: gk.kind,
    name,
    causes,
  });
}

/** 400: the request itself is malformed. */
export function badRequest(message: string): StatusError {
  return failure(400, "BadRequest", message);
}

/** 405: `create is not supported on resources of kind "nodes/proxy"`. */
export function methodNotSupported(resource: GroupResource | string, action: string): StatusError {
  const gr = groupResource(resource);
  return failure(
    405,
    "MethodNotAllowed",
    `${action} is not supported on resources of kind ${quote(qualified(gr.resource, gr.group))}`,
    { group: gr.group, kind: gr.resource },
  );
}

/** 403: authorization refused. An empty resource or name shortens the message. */
export function forbidden(resource: GroupResource | string, name: string, reason: unknown): StatusError {
  const gr = groupResource(resource);
  const what = qualified(gr.resource, gr.group);
  const why = messageOf(reason);
  let message: string;
  if (gr.resource === "" && gr.group === "") message = `forbidden: ${why}`;
  else if (name === "") message = `${what} is forbidden: ${why}`;
  else message = `${what} ${quote(name)} is forbidden: ${why}`;
  return failure(403, "Forbidden", message, resourceDetails(gr, name));
}

/** 401: no or bad credentials. */
export function unauthorized(message = ""): StatusError {
  return failure(401, "Unauthorized", message === "" ? "not authorized" : message);
}

/** 410 Gone: the resource existed once and is now permanently unavailable. */
export function gone(message: string): StatusError {
  return failure(410, "Gone", message);
}

/** 410 Expired: e.g. a watch or list asked for a resourceVersion already compacted away. */
export function resourceExpired(message: string): StatusError {
  return failure(410, "Expired", message);
}

/** 410 Expired with the watch cache's wording: `too old resource version: 5 (10)`. */
export function tooOldResourceVersion(requested: string | number | bigint, current: string | number | bigint): StatusError {
  return resourceExpired(`too old resource version: ${requested} (${current})`);
}

/** 429: throttled; clients should wait `retryAfterSeconds` before retrying. */
export function tooManyRequests(message: string, retryAfterSeconds = 0): StatusError {
  return failure(429, "TooManyRequests", message, { retryAfterSeconds });
}

/** 500 InternalError: `Internal error occurred: <message>`. Only the message travels, never the stack. */
export function internalError(err: unknown): StatusError {
  const message = messageOf(err);
  return failure(500, "InternalError", `Internal error occurred: ${message}`, { causes: [{ message }] });
}

/** 500 ServerTimeout: the server could not finish in time, the client may retry. */
export function serverTimeout(resource: GroupResource | string, operation: string, retryAfterSeconds = 0): StatusError {
  const gr = groupResource(resource);
  return failure(
    500,
    "ServerTimeout",
    `The ${operation} operation against ${qualified(gr.resource, gr.group)} could not be completed at this time, please try again.`,
    { group: gr.group, kind: gr.resource, name: operation, retryAfterSeconds },
  );
}

/** 504 Timeout: `Timeout: <message>`. */
export function timeout(message: string, retryAfterSeconds = 0): StatusError {
  return failure(504, "Timeout", `Timeout: ${message}`, { retryAfterSeconds });
}

/** 503: the server (or a backend such as etcd) is not ready. */
export function serviceUnavailable(message: string): StatusError {
  return failure(503, "ServiceUnavailable", message);
}

/** 413: `Request entity too large: <message>`. */
export function requestEntityTooLarge(message: string): StatusError {
  return failure(413, "RequestEntityTooLarge", `Request entity too large: ${message}`);
}

/** 415: the request body's Content-Type is not one the server decodes. */
export function unsupportedMediaType(accepted: readonly string[]): StatusError {
  return failure(
    415,
    "UnsupportedMediaType",
    `the body of the request was in an unknown format - accepted media types include: ${accepted.join(", ")}`,
  );
}

/** 406: nothing in the Accept header is a media type the server can produce. */
export function notAcceptable(accepted: readonly string[]): StatusError {
  return failure(406, "NotAcceptable", `only the following media types are accepted: ${accepted.join(", ")}`);
}

export function isStatusError(err: unknown): err is StatusError {
  return err instanceof StatusError;
}

/** True for any object shaped like a metav1.Status (e.g. decoded from a response body). */
export function isStatus(value: unknown): value is Status {
  if (typeof value !== "object" || value === null) return false;
  const v = value as Record<string, unknown>;
  return v.kind === "Status" && typeof v.code === "number";
}

/** The reason carried by a StatusError; "" (unknown) for anything else. */
export function reasonOf(err: unknown): StatusReason {
  return err instanceof StatusError ? err.status.reason : "";
}

/** The HTTP code a thrown value should produce: its Status code, else 500. */
export function codeOf(err: unknown): number {
  return err instanceof StatusError ? err.status.code : 500;
}

/** Turn any thrown value into a Status to send: StatusErrors as they are, anything else as a 500. */
export function statusOf(err: unknown): Status {
  if (err instanceof StatusError) return structuredClone(err.status);
  return internalError(err).status;
}

export const isNotFound = (err: unknown): boolean => reasonOf(err) === "NotFound";
export const isAlreadyExists = (err: unknown): boolean => reasonOf(err) === "AlreadyExists";
export const isConflict = (err: unknown): boolean => reasonOf(err) === "Conflict";
export const isInvalid = (err: unknown): boolean => reasonOf(err) === "Invalid";
export const isForbidden = (err: unknown): boolean => reasonOf(err) === "Forbidden";
export const isResourceExpired = (err: unknown): boolean => reasonOf(err) === "Expired";

// ---------------------------------------------------------------------------------------------
// Field errors (upstream: apimachinery/pkg/util/validation/field).

/** A path into an object: `spec.containers[0].image`, `metadata.labels[app]`. */
export class FieldPath {
  private constructor(private readonly text: string) {}

  static root(name: string, ...more: string[]): FieldPath {
    return new FieldPath(name).child(...more);
  }

  child(...names: string[]): FieldPath {
    let text = this.text;
    for (const n of names) text = text === "" ? n : `${text}.${n}`;
    return new FieldPath(text);
  }

  index(i: number): FieldPath {
    return new FieldPath(`${this.text}[${i}]`);
  }

  key(k: string): FieldPath {
    return new FieldPath(`${this.text}[${k}]`);
  }

  toString(): string {
    return this.text;
  }
}

/** Start a field path: `fieldPath("spec", "containers").index(0).child("image")`. */
export function fieldPath(root: string, ...more: string[]): FieldPath {
  return FieldPath.root(root, ...more);
}

/** Marks a field error that has no value worth showing. */
const NO_VALUE: unique symbol = Symbol("no value");

export interface FieldError {
  type: CauseType;
  field: string;
  /** The offending value; absent when the message should not show one. */
  badValue?: unknown;
  detail: string;
}

const typeLabel: Record<CauseType, string> = {
  FieldValueNotFound: "Not found",
  FieldValueRequired: "Required value",
  FieldValueDuplicate: "Duplicate value",
  FieldValueInvalid: "Invalid value",
  FieldValueNotSupported: "Unsupported value",
  FieldValueForbidden: "Forbidden",
  FieldValueTooLong: "Too long",
  FieldValueTooMany: "Too many",
  FieldValueTypeInvalid: "Invalid value",
  InternalError: "Internal error",
};

/** Types whose message never includes the bad value. */
const valueless = new Set<CauseType>(["FieldValueRequired", "FieldValueForbidden", "FieldValueTooLong", "InternalError"]);

function showValue(v: unknown): string {
  if (typeof v === "string") return JSON.stringify(v);
  if (typeof v === "number" || typeof v === "boolean" || typeof v === "bigint") return String(v);
  if (v === null || v === undefined) return "null";
  try {
    return JSON.stringify(v) ?? String(v);
  } catch {
    return String(v);
  }
}

/** The message of one field error without its path: `Invalid value: "x": must be lowercase`. */
export function fieldErrorBody(e: FieldError): string {
  let s = typeLabel[e.type];
  if (!valueless.has(e.type) && "badValue" in e && e.badValue !== NO_VALUE) s += `: ${showValue(e.badValue)}`;
  if (e.detail !== "") s += `: ${e.detail}`;
  return s;
}

/** `spec.replicas: Invalid value: -1: must be greater than or equal to 0`. */
export function fieldErrorMessage(e: FieldError): string {
  return `${e.field}: ${fieldErrorBody(e)}`;
}

/** Join messages the way an aggregate error prints: one as is, several deduplicated in brackets. */
function aggregateMessage(messages: readonly string[]): string {
  if (messages.length === 0) return "";
  if (messages.length === 1) return messages[0]!;
  const seen = [...new Set(messages)];
  return seen.length === 1 ? seen[0]! : `[${seen.join(", ")}]`;
}

type PathLike = FieldPath | string;

function make(type: CauseType, path: PathLike, detail: string, badValue?: unknown): FieldError {
  const e: FieldError = { type, field: String(path), detail };
  if (arguments.length > 3 && badValue !== NO_VALUE) e.badValue = badValue;
  return e;
}

/** Constructors mirroring upstream's field.Required, field.Invalid, ... */
export const field = {
  required(path: PathLike, detail = ""): FieldError {
    return make("FieldValueRequired", path, detail);
  },
  invalid(path: PathLike, value: unknown, detail = ""): FieldError {
    return make("FieldValueInvalid", path, detail, value);
  },
  notSupported(path: PathLike, value: unknown, validValues: readonly string[] = []): FieldError {
    const detail = validValues.length > 0 ? `supported values: ${validValues.map((v) => JSON.stringify(v)).join(", ")}` : "";
    return make("FieldValueNotSupported", path, detail, value);
  },
  duplicate(path: PathLike, value: unknown): FieldError {
    return make("FieldValueDuplicate", path, "", value);
  },
  notFound(path: PathLike, value: unknown): FieldError {
    return make("FieldValueNotFound", path, "", value);
  },
  forbidden(path: PathLike, detail = ""): FieldError {
    return make("FieldValueForbidden", path, detail);
  },
  tooLong(path: PathLike, value: unknown, maxLength: number): FieldError {
    const detail = maxLength >= 0 ? `may not be more than ${maxLength} ${maxLength === 1 ? "byte" : "bytes"}` : "value is too long";
    return make("FieldValueTooLong", path, detail, value);
  },
  tooMany(path: PathLike, actual: number, max: number): FieldError {
    const detail = max >= 0 ? `must have at most ${max} ${max === 1 ? "item" : "items"}` : "has too many items";
    return make("FieldValueTooMany", path, detail, actual >= 0 ? actual : NO_VALUE);
  },
  typeInvalid(path: PathLike, value: unknown, detail = ""): FieldError {
    return make("FieldValueTypeInvalid", path, detail, value);
  },
  internal(path: PathLike, err: unknown): FieldError {
    return make("InternalError", path, messageOf(err));
  },
};
