// Book 11.2: reading request bodies — JSON or YAML by Content-Type, and the 400/415 answers for what
// does not decode, including apiVersion and kind that are not strings.
import { describe, expect, it } from "vitest";
import { checkTypeMeta, decodeObjectBody, decodeOptionalBody, mediaType } from "./body.js";

const buf = (s: string) => Buffer.from(s, "utf8");
const statusOf = (f: () => unknown) => {
  try {
    f();
  } catch (e) {
    const s = (e as { status?: { code: number; reason: string; message: string } }).status;
    return s ? { code: s.code, reason: s.reason, message: s.message } : { thrown: String(e) };
  }
  return undefined;
};

describe("decodeObjectBody", () => {
  it("reads JSON by default and YAML when told", () => {
    expect(decodeObjectBody(buf('{"kind":"Pod"}'), undefined).value).toEqual({ kind: "Pod" });
    expect(decodeObjectBody(buf('{"kind":"Pod"}'), "application/json; charset=utf-8").value).toEqual({ kind: "Pod" });
    expect(decodeObjectBody(buf("kind: Pod\nmetadata:\n  name: x\n"), "application/yaml").value).toEqual({ kind: "Pod", metadata: { name: "x" } });
  });

  it("notes duplicate fields for strict validation", () => {
    expect(decodeObjectBody(buf('{"metadata":{"name":"a","name":"b"}}'), "application/json").duplicateFields).toEqual(["metadata.name"]);
  });

  it("400 for an empty or malformed body, 415 for another media type", () => {
    expect(statusOf(() => decodeObjectBody(buf("  "), "application/json"))).toMatchObject({ code: 400, reason: "BadRequest" });
    expect(statusOf(() => decodeObjectBody(undefined, "application/json"))).toMatchObject({ code: 400 });
    expect(statusOf(() => decodeObjectBody(buf("{x"), "application/json"))).toMatchObject({ code: 400, reason: "BadRequest" });
    expect(statusOf(() => decodeObjectBody(buf("a: [b"), "application/yaml"))).toMatchObject({ code: 400, reason: "BadRequest" });
    expect(statusOf(() => decodeObjectBody(buf("{}"), "text/plain"))).toMatchObject({ code: 415, reason: "UnsupportedMediaType" });
  });

  it("400 when apiVersion or kind is not a string, in kube-apiserver's words", () => {
    expect(statusOf(() => decodeObjectBody(buf('{"kind":{"toString":"x"}}'), "application/json"))).toEqual({
      code: 400,
      reason: "BadRequest",
      message: "couldn't get version/kind; json parse error: json: cannot unmarshal object into Go struct field .kind of type string",
    });
    expect(statusOf(() => decodeObjectBody(buf("apiVersion: [v1]\n"), "application/yaml"))?.message).toMatch(/cannot unmarshal array into Go struct field \.apiVersion of type string/);
    expect(statusOf(() => checkTypeMeta({ kind: 5 }))?.message).toMatch(/cannot unmarshal number/);
    expect(statusOf(() => checkTypeMeta({ kind: true }))?.message).toMatch(/cannot unmarshal bool/);
  });

  it("null, absent and non-object bodies pass the type check (later checks judge them)", () => {
    expect(() => checkTypeMeta({ apiVersion: null, kind: null })).not.toThrow();
    expect(() => checkTypeMeta({})).not.toThrow();
    expect(() => checkTypeMeta([1])).not.toThrow();
    expect(() => checkTypeMeta("x")).not.toThrow();
  });
});

describe("decodeOptionalBody and mediaType", () => {
  it("an empty optional body is undefined; parameters and case do not matter in media types", () => {
    expect(decodeOptionalBody(buf(""), "application/json")).toBeUndefined();
    expect(decodeOptionalBody(buf('{"a":1}'), undefined)).toEqual({ a: 1 });
    expect(mediaType("Application/JSON; charset=utf-8")).toBe("application/json");
    expect(mediaType(undefined)).toBe("");
  });
});
