// Book 11.2: pieces of the API server's HTTP front — the Warning header, the 405 of the router, the
// validation of a write's options and the Status written for requests that are not HTTP at all.
import { describe, expect, it } from "vitest";
import { clientErrorResponse, methodNotAllowed, toStatusError, validateWriteOptions, warningHeader } from "./app.js";

const statusOf = (f: () => unknown) => {
  try {
    f();
  } catch (e) {
    return (e as { status?: unknown }).status;
  }
  return undefined;
};
const q = (s: string) => new URLSearchParams(s);

describe("warningHeader", () => {
  it("quotes each warning after the 299 code, once each", () => {
    expect(warningHeader([])).toBeUndefined();
    expect(warningHeader(['unknown field "x"', 'unknown field "x"', "b"])).toBe('299 - "unknown field \\"x\\"", 299 - "b"');
  });

  it("keeps the header writable: no control characters or non-ASCII, long texts cut, at most 4 KiB", () => {
    expect(warningHeader(["☃\u0007\\"])).toBe('299 - "\\u2603\\u0007\\\\"');
    const long = warningHeader(["x".repeat(5000)])!;
    expect(long.length).toBeLessThan(1100);
    expect(long.endsWith('..."')).toBe(true);
    const many = warningHeader(Array.from({ length: 100 }, (_, i) => `${i}`.padEnd(200, "y")))!;
    expect(many.length).toBeLessThanOrEqual(4096);
    expect(/^[\x20-\x7e]*$/.test(many)).toBe(true);
  });
});

describe("methodNotAllowed and toStatusError", () => {
  it("405 with the router's words and empty details", () => {
    expect(methodNotAllowed().status).toEqual({
      kind: "Status",
      apiVersion: "v1",
      metadata: {},
      status: "Failure",
      message: "the server does not allow this method on the requested resource",
      reason: "MethodNotAllowed",
      details: {},
      code: 405,
    });
  });

  it("fastify's own errors become Statuses: 413 with kube's limit message, 4xx as BadRequest, the rest 500", () => {
    expect(toStatusError({ code: "FST_ERR_CTP_BODY_TOO_LARGE", statusCode: 413 }).status).toMatchObject({ code: 413, reason: "RequestEntityTooLarge", message: "Request entity too large: limit is 3145728" });
    expect(toStatusError({ statusCode: 400, message: "bad" }).status).toMatchObject({ code: 400, reason: "BadRequest" });
    expect(toStatusError(new Error("boom")).status).toMatchObject({ code: 500, reason: "InternalError" });
  });
});

describe("validateWriteOptions", () => {
  it("accepts what kubectl sends", () => {
    expect(() => validateWriteOptions("POST", q("fieldManager=kubectl-client-side-apply&fieldValidation=Strict"), "application/json")).not.toThrow();
    expect(() => validateWriteOptions("PATCH", q("fieldManager=kubectl&force=true"), "application/apply-patch+yaml")).not.toThrow();
    expect(() => validateWriteOptions("DELETE", q("dryRun=All&propagationPolicy=Background"), undefined)).not.toThrow();
    expect(() => validateWriteOptions("GET", q("dryRun=x"), undefined)).not.toThrow();
    expect(() => validateWriteOptions("POST", q("fieldManager=m%C3%BCller"), "application/json")).not.toThrow();
  });

  it("422 Invalid naming the options kind, one cause per bad field", () => {
    expect(statusOf(() => validateWriteOptions("POST", q("dryRun=All&dryRun=x"), "application/json"))).toMatchObject({
      code: 422,
      reason: "Invalid",
      message: 'CreateOptions.meta.k8s.io "" is invalid: dryRun: Unsupported value: ["All","x"]: supported values: "All"',
      details: { group: "meta.k8s.io", kind: "CreateOptions", causes: [{ field: "dryRun", reason: "FieldValueNotSupported" }] },
    });
    const s = statusOf(() => validateWriteOptions("PUT", q(`fieldValidation=Loud&fieldManager=${"m".repeat(129)}`), "application/json")) as { message: string; details: { causes: { field: string }[] } };
    expect(s.message).toMatch(/^UpdateOptions\.meta\.k8s\.io "" is invalid: \[/);
    expect(s.details.causes.map((c) => c.field)).toEqual(["fieldManager", "fieldValidation"]);
    expect(statusOf(() => validateWriteOptions("POST", q("fieldManager=a%07b"), "application/json"))).toMatchObject({ message: /invalid character U\+0007 \(at position 1\)/ });
  });

  it("patches: force only with apply, and apply needs a field manager", () => {
    expect(statusOf(() => validateWriteOptions("PATCH", q("force=false"), "application/merge-patch+json"))).toMatchObject({ message: 'PatchOptions.meta.k8s.io "" is invalid: force: Forbidden: may not be specified for non-apply patch' });
    expect(statusOf(() => validateWriteOptions("PATCH", q(""), "application/apply-patch+yaml"))).toMatchObject({ message: 'PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required value: is required for apply patch' });
  });

  it("deletes: the propagation policy is one of three", () => {
    expect(statusOf(() => validateWriteOptions("DELETE", q("propagationPolicy=Sideways"), undefined))).toMatchObject({ code: 422, details: { kind: "DeleteOptions" } });
  });
});

describe("clientErrorResponse", () => {
  it("a whole HTTP response carrying a Status, closing the connection", () => {
    const r = clientErrorResponse({ code: "HPE_INVALID_METHOD" });
    const [head, body] = r.split("\r\n\r\n") as [string, string];
    expect(head).toMatch(/^HTTP\/1\.1 400 Bad Request\r\n/);
    expect(head).toContain("Connection: close");
    expect(head).toContain(`Content-Length: ${Buffer.byteLength(body)}`);
    expect(JSON.parse(body)).toMatchObject({ kind: "Status", code: 400, reason: "BadRequest" });
    expect(JSON.parse(clientErrorResponse({ code: "HPE_HEADER_OVERFLOW" }).split("\r\n\r\n")[1]!)).toMatchObject({ code: 431 });
  });
});
