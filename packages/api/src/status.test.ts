// Book 1.6.1 and 11.2: tests for Kubernetes Status errors — reasons, codes, message wording
// and field causes, checked against the shapes upstream apimachinery produces.
import { describe, expect, it } from "vitest";
import {
  alreadyExists,
  badRequest,
  codeOf,
  conflict,
  field,
  fieldErrorMessage,
  fieldPath,
  forbidden,
  gone,
  internalError,
  invalid,
  isAlreadyExists,
  isConflict,
  isInvalid,
  isNotFound,
  isResourceExpired,
  isStatus,
  isStatusError,
  methodNotSupported,
  notAcceptable,
  notFound,
  reasonOf,
  requestEntityTooLarge,
  resourceExpired,
  serverTimeout,
  serviceUnavailable,
  statusOf,
  StatusError,
  timeout,
  tooManyRequests,
  tooOldResourceVersion,
  unauthorized,
  unsupportedMediaType,
} from "./status.js";

describe("constructors: code, reason, message", () => {
  const table: [string, StatusError, number, string, string][] = [
    ["notFound core", notFound("pods", "web"), 404, "NotFound", 'pods "web" not found'],
    ["notFound grouped", notFound({ group: "apps", resource: "deployments" }, "web"), 404, "NotFound", 'deployments.apps "web" not found'],
    ["notFound string group", notFound("deployments.apps", "web"), 404, "NotFound", 'deployments.apps "web" not found'],
    ["alreadyExists", alreadyExists("pods", "web"), 409, "AlreadyExists", 'pods "web" already exists'],
    [
      "conflict",
      conflict("pods", "web", new Error("the object has been modified; please apply your changes to the latest version and try again")),
      409,
      "Conflict",
      'Operation cannot be fulfilled on pods "web": the object has been modified; please apply your changes to the latest version and try again',
    ],
    ["badRequest", badRequest("the server rejected our request"), 400, "BadRequest", "the server rejected our request"],
    [
      "methodNotSupported",
      methodNotSupported("nodes/proxy", "create"),
      405,
      "MethodNotAllowed",
      'create is not supported on resources of kind "nodes/proxy"',
    ],
    [
      "forbidden named",
      forbidden("secrets", "db", 'User "bob" cannot get resource "secrets"'),
      403,
      "Forbidden",
      'secrets "db" is forbidden: User "bob" cannot get resource "secrets"',
    ],
    ["forbidden unnamed", forbidden("secrets", "", "no"), 403, "Forbidden", "secrets is forbidden: no"],
    ["forbidden bare", forbidden({ resource: "" }, "", "no"), 403, "Forbidden", "forbidden: no"],
    ["unauthorized default", unauthorized(), 401, "Unauthorized", "not authorized"],
    ["unauthorized", unauthorized("bad token"), 401, "Unauthorized", "bad token"],
    ["gone", gone("the resource is gone"), 410, "Gone", "the resource is gone"],
    ["resourceExpired", resourceExpired("expired"), 410, "Expired", "expired"],
    ["tooOldResourceVersion", tooOldResourceVersion(5, 10), 410, "Expired", "too old resource version: 5 (10)"],
    ["tooManyRequests", tooManyRequests("slow down", 2), 429, "TooManyRequests", "slow down"],
    ["internalError", internalError(new Error("disk full")), 500, "InternalError", "Internal error occurred: disk full"],
    [
      "serverTimeout",
      serverTimeout("pods", "list", 3),
      500,
      "ServerTimeout",
      "The list operation against pods could not be completed at this time, please try again.",
    ],
    ["timeout", timeout("request did not complete within 60s", 1), 504, "Timeout", "Timeout: request did not complete within 60s"],
    ["serviceUnavailable", serviceUnavailable("etcd is not ready"), 503, "ServiceUnavailable", "etcd is not ready"],
    [
      "requestEntityTooLarge",
      requestEntityTooLarge("limit is 3145728"),
      413,
      "RequestEntityTooLarge",
      "Request entity too large: limit is 3145728",
    ],
    [
      "unsupportedMediaType",
      unsupportedMediaType(["application/json", "application/yaml"]),
      415,
      "UnsupportedMediaType",
      "the body of the request was in an unknown format - accepted media types include: application/json, application/yaml",
    ],
    [
      "notAcceptable",
      notAcceptable(["application/json"]),
      406,
      "NotAcceptable",
      "only the following media types are accepted: application/json",
    ],
  ];

  it.each(table)("%s", (_name, err, code, reason, message) => {
    expect(err).toBeInstanceOf(StatusError);
    expect(err).toBeInstanceOf(Error);
    expect(err.name).toBe("StatusError");
    expect(err.code).toBe(code);
    expect(err.reason).toBe(reason);
    expect(err.message).toBe(message);
    expect(err.status).toMatchObject({ kind: "Status", apiVersion: "v1", metadata: {}, status: "Failure", code, reason, message });
    expect(isStatusError(err)).toBe(true);
    expect(isStatus(err.status)).toBe(true);
    expect(reasonOf(err)).toBe(reason);
    expect(codeOf(err)).toBe(code);
  });
});

describe("details", () => {
  it("notFound names the resource, group and object", () => {
    expect(notFound("deployments.apps", "web").status.details).toEqual({ group: "apps", kind: "deployments", name: "web" });
    expect(notFound("pods", "web").status.details).toEqual({ kind: "pods", name: "web" });
  });

  it("serializes like the API server's JSON (omitting empty fields)", () => {
    expect(JSON.parse(JSON.stringify(notFound("pods", "web")))).toEqual({
      kind: "Status",
      apiVersion: "v1",
      metadata: {},
      status: "Failure",
      message: 'pods "web" not found',
      reason: "NotFound",
      details: { name: "web", kind: "pods" },
      code: 404,
    });
    expect(badRequest("x").status.details).toBeUndefined();
  });

  it("carries retryAfterSeconds", () => {
    expect(tooManyRequests("slow down", 2).status.details).toEqual({ retryAfterSeconds: 2 });
    expect(timeout("t", 5).status.details).toEqual({ retryAfterSeconds: 5 });
    expect(tooManyRequests("slow down").status.details).toBeUndefined();
  });

  it("internalError keeps the message as a cause", () => {
    expect(internalError(new Error("boom")).status.details).toEqual({ causes: [{ message: "boom" }] });
  });
});

describe("invalid and field errors", () => {
  it("one error: message is the field error itself", () => {
    const err = invalid("Pod", "web", [field.required(fieldPath("spec", "containers"), "")]);
    expect(err.code).toBe(422);
    expect(err.reason).toBe("Invalid");
    expect(err.message).toBe('Pod "web" is invalid: spec.containers: Required value');
    expect(err.status.details).toEqual({
      kind: "Pod",
      name: "web",
      causes: [{ reason: "FieldValueRequired", message: "Required value", field: "spec.containers" }],
    });
  });

  it("several errors: bracketed, comma separated, with one cause each", () => {
    const image = fieldPath("spec", "containers").index(0).child("image");
    const err = invalid({ group: "apps", kind: "Deployment" }, "web", [
      field.invalid(fieldPath("spec", "replicas"), -1, "must be greater than or equal to 0"),
      field.required(image, ""),
    ]);
    expect(err.message).toBe(
      'Deployment.apps "web" is invalid: [spec.replicas: Invalid value: -1: must be greater than or equal to 0, spec.containers[0].image: Required value]',
    );
    expect(err.status.details?.group).toBe("apps");
    expect(err.status.details?.kind).toBe("Deployment");
    expect(err.status.details?.causes).toEqual([
      { reason: "FieldValueInvalid", message: "Invalid value: -1: must be greater than or equal to 0", field: "spec.replicas" },
      { reason: "FieldValueRequired", message: "Required value", field: "spec.containers[0].image" },
    ]);
  });

  it("duplicate messages collapse", () => {
    const e = field.required("metadata.name");
    expect(invalid("Pod", "x", [e, e]).message).toBe('Pod "x" is invalid: metadata.name: Required value');
  });

  it("no errors: no colon", () => {
    expect(invalid("Pod", "x", []).message).toBe('Pod "x" is invalid');
  });

  it.each([
    [field.required("metadata.name", "name or generateName is required"), "FieldValueRequired", "metadata.name: Required value: name or generateName is required"],
    [field.invalid("metadata.name", "Web", "a lowercase RFC 1123 subdomain"), "FieldValueInvalid", 'metadata.name: Invalid value: "Web": a lowercase RFC 1123 subdomain'],
    [field.invalid("spec.paused", true), "FieldValueInvalid", "spec.paused: Invalid value: true"],
    [
      field.notSupported("spec.restartPolicy", "Sometimes", ["Always", "OnFailure", "Never"]),
      "FieldValueNotSupported",
      'spec.restartPolicy: Unsupported value: "Sometimes": supported values: "Always", "OnFailure", "Never"',
    ],
    [field.duplicate(fieldPath("spec", "containers").index(1).child("name"), "app"), "FieldValueDuplicate", 'spec.containers[1].name: Duplicate value: "app"'],
    [field.notFound("spec.volumes", "data"), "FieldValueNotFound", 'spec.volumes: Not found: "data"'],
    [field.forbidden("spec.nodeName", "may not be changed"), "FieldValueForbidden", "spec.nodeName: Forbidden: may not be changed"],
    [field.tooLong("metadata.name", "x".repeat(300), 253), "FieldValueTooLong", "metadata.name: Too long: may not be more than 253 bytes"],
    [field.tooLong("metadata.name", "xx", 1), "FieldValueTooLong", "metadata.name: Too long: may not be more than 1 byte"],
    [field.tooMany("spec.containers", 5, 3), "FieldValueTooMany", "spec.containers: Too many: 5: must have at most 3 items"],
    [field.tooMany("spec.containers", -1, 1), "FieldValueTooMany", "spec.containers: Too many: must have at most 1 item"],
    [field.typeInvalid("spec.replicas", "three", "must be an integer"), "FieldValueTypeInvalid", 'spec.replicas: Invalid value: "three": must be an integer'],
    [field.internal("spec", new Error("oops")), "InternalError", "spec: Internal error: oops"],
    [field.invalid(fieldPath("metadata", "labels").key("app"), null), "FieldValueInvalid", "metadata.labels[app]: Invalid value: null"],
  ] as const)("%j", (e, type, message) => {
    expect(e.type).toBe(type);
    expect(fieldErrorMessage(e)).toBe(message);
  });
});

describe("statusOf, reasonOf and predicates", () => {
  it("passes StatusErrors through (as a copy)", () => {
    const err = notFound("pods", "web");
    const s = statusOf(err);
    expect(s).toEqual(err.status);
    expect(s).not.toBe(err.status);
  });

  it("turns anything else into a 500 without the stack", () => {
    const e = new TypeError("cannot read properties of undefined");
    const s = statusOf(e);
    expect(s.code).toBe(500);
    expect(s.reason).toBe("InternalError");
    expect(s.message).toBe("Internal error occurred: cannot read properties of undefined");
    expect(JSON.stringify(s)).not.toContain("at ");
    expect(JSON.stringify(s)).not.toContain(String(e.stack).split("\n")[1]);
    expect(statusOf("plain string").message).toBe("Internal error occurred: plain string");
    expect(statusOf({ weird: true }).message).toBe("Internal error occurred: unknown error");
    expect(statusOf(undefined).code).toBe(500);
  });

  it("reasonOf/codeOf on non-status values", () => {
    expect(reasonOf(new Error("x"))).toBe("");
    expect(reasonOf(undefined)).toBe("");
    expect(codeOf(new Error("x"))).toBe(500);
    expect(isStatusError(new Error("x"))).toBe(false);
    expect(isStatus({ kind: "Pod" })).toBe(false);
    expect(isStatus(null)).toBe(false);
  });

  it("predicates", () => {
    expect(isNotFound(notFound("pods", "a"))).toBe(true);
    expect(isNotFound(alreadyExists("pods", "a"))).toBe(false);
    expect(isAlreadyExists(alreadyExists("pods", "a"))).toBe(true);
    expect(isConflict(conflict("pods", "a", "stale"))).toBe(true);
    expect(isInvalid(invalid("Pod", "a", []))).toBe(true);
    expect(isResourceExpired(tooOldResourceVersion("1", "2"))).toBe(true);
    expect(isNotFound("not an error")).toBe(false);
  });

  it("can be thrown and caught", () => {
    const f = (): never => {
      throw notFound("pods", "gone");
    };
    expect(f).toThrow('pods "gone" not found');
    try {
      f();
    } catch (e) {
      expect(statusOf(e).code).toBe(404);
    }
  });
});
