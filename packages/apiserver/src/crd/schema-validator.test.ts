// Book 11.2: tests that custom objects are checked against their schema with ajv and that the
// findings read like kube-apiserver's (`spec.replicas in body must be of type integer: "string"`).
import { fieldErrorMessage, invalid } from "@corekube/api";
import { describe, expect, it } from "vitest";
import { widgetCRD } from "./fixtures.js";
import { cachedValidator, compileSchema, toAjvSchema } from "./schema-validator.js";
import type { JSONSchemaProps } from "./types.js";

const schema = widgetCRD().spec.versions[0]!.schema!.openAPIV3Schema!;
const validator = compileSchema(schema, { resourceRoot: true });

function widget(spec: Record<string, unknown>, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { apiVersion: "example.corekube.io/v1", kind: "Widget", metadata: { name: "w1" }, spec: { image: "nginx", ...spec }, ...extra };
}

function messages(obj: unknown): string[] {
  return validator.validate(obj).map(fieldErrorMessage);
}

describe("validation against the CRD schema", () => {
  it("accepts a valid object", () => {
    expect(messages(widget({ replicas: 3, color: "red", startAt: "2024-05-01T10:00:00Z", port: 8080 }))).toEqual([]);
  });

  it("reports a wrong type the way kube-apiserver does", () => {
    const errs = validator.validate(widget({ replicas: "three" }));
    expect(errs).toEqual([
      {
        type: "FieldValueTypeInvalid",
        field: "spec.replicas",
        badValue: "string",
        detail: 'spec.replicas in body must be of type integer: "string"',
      },
    ]);
    expect(fieldErrorMessage(errs[0]!)).toBe('spec.replicas: Invalid value: "string": spec.replicas in body must be of type integer: "string"');
    const status = invalid({ group: "example.corekube.io", kind: "Widget" }, "w1", errs).status;
    expect(status.code).toBe(422);
    expect(status.message).toBe(
      'Widget.example.corekube.io "w1" is invalid: spec.replicas: Invalid value: "string": spec.replicas in body must be of type integer: "string"',
    );
    expect(status.details?.causes).toEqual([
      {
        reason: "FieldValueTypeInvalid",
        field: "spec.replicas",
        message: 'Invalid value: "string": spec.replicas in body must be of type integer: "string"',
      },
    ]);
  });

  it("calls a fractional number a number, and integers integers", () => {
    expect(messages(widget({ replicas: 1.5 }))).toEqual([
      'spec.replicas: Invalid value: "number": spec.replicas in body must be of type integer: "number"',
    ]);
  });

  it("reports missing required fields, enums, bounds and patterns", () => {
    expect(messages({ ...widget({}), spec: { replicas: 101, color: "pink", schedule: "every minute", image: "" } })).toEqual([
      'spec.image: Invalid value: "": spec.image in body should be at least 1 chars long',
      "spec.replicas: Invalid value: 101: spec.replicas in body should be less than or equal to 100",
      'spec.color: Unsupported value: "pink": supported values: "red", "green", "blue"',
      `spec.schedule: Invalid value: "every minute": spec.schedule in body should match '${String(
        (schema.properties!.spec!.properties!.schedule as JSONSchemaProps).pattern,
      )}'`,
    ]);
    expect(messages({ ...widget({}), spec: {} })).toEqual(["spec.image: Required value"]);
  });

  it("names array elements by index", () => {
    expect(messages(widget({ ports: [{ name: "http", port: 80 }, { name: 7 }] }))).toEqual([
      'spec.ports[1].name: Invalid value: "integer": spec.ports[1].name in body must be of type string: "integer"',
    ]);
  });

  it("takes x-kubernetes-int-or-string as integer or string", () => {
    expect(messages(widget({ port: 80 }))).toEqual([]);
    expect(messages(widget({ port: "http" }))).toEqual([]);
    expect(messages(widget({ port: 1.5 }))).toEqual([
      'spec.port: Invalid value: "number": spec.port in body must be of type integer,string: "number"',
    ]);
    expect(messages(widget({ port: true }))).toEqual([
      'spec.port: Invalid value: "boolean": spec.port in body must be of type integer,string: "boolean"',
    ]);
  });

  it("lets nullable fields be null and no others", () => {
    expect(messages(widget({ note: null }))).toEqual([]);
    expect(messages(widget({ color: null }))).toEqual([
      'spec.color: Invalid value: "null": spec.color in body must be of type string: "null"',
    ]);
  });

  it("checks string formats and reports them as type errors", () => {
    expect(messages(widget({ startAt: "yesterday" }))).toEqual([
      'spec.startAt: Invalid value: "yesterday": spec.startAt in body must be of type date-time: "yesterday"',
    ]);
  });

  it("requires apiVersion and kind in embedded resources", () => {
    expect(messages(widget({ template: { metadata: { labels: { app: "web" } } } }))).toEqual([
      "spec.template.apiVersion: Required value: must not be empty",
      "spec.template.kind: Required value: must not be empty",
    ]);
    expect(messages(widget({ template: { apiVersion: "v1", kind: "Pod", metadata: { labels: { app: "-bad-" } } } })).length).toBe(1);
    expect(messages(widget({ template: { apiVersion: "v1", kind: "Pod", spec: { anything: true } } }))).toEqual([]);
  });

  it("leaves root metadata to the generic ObjectMeta rules", () => {
    expect(messages(widget({}, { metadata: { name: "w1", labels: { a: "b" }, annotations: { x: "y" } } }))).toEqual([]);
  });

  it("understands RE2 patterns and quotes them as written", () => {
    const v = compileSchema({ type: "object", properties: { day: { type: "string", pattern: "^(?i)(mon|tues)day$" } } });
    expect(v.validate({ day: "MONDAY" })).toEqual([]);
    expect(v.validate({ day: "friday" }).map(fieldErrorMessage)).toEqual([
      `day: Invalid value: "friday": day in body should match '^(?i)(mon|tues)day$'`,
    ]);
  });

  it("keeps metadata.name rules declared in the schema", () => {
    const s: JSONSchemaProps = {
      type: "object",
      properties: { metadata: { type: "object", properties: { name: { type: "string", maxLength: 5 } } } },
    };
    expect(compileSchema(s, { resourceRoot: true }).validate({ metadata: { name: "far-too-long" } }).map(fieldErrorMessage)).toEqual([
      "metadata.name: Too long: may not be more than 5 bytes",
    ]);
  });

  it("prefixes paths when validating a value that sits inside something else", () => {
    const v = compileSchema({ type: "integer", minimum: 1 });
    expect(v.validate(0, "spec.x.default").map(fieldErrorMessage)).toEqual([
      "spec.x.default: Invalid value: 0: in body should be greater than or equal to 1",
    ]);
  });

  it("reports a failed anyOf once, not each branch", () => {
    const v = compileSchema({
      type: "object",
      properties: { size: { type: "string" } },
      anyOf: [{ required: ["size"] }, { properties: { size: { enum: ["S"] } } }],
    });
    expect(v.validate({}).map(fieldErrorMessage)).toEqual([]);
    const both = compileSchema({ type: "object", properties: { a: { type: "integer" } }, anyOf: [{ required: ["a"] }, { required: ["b"] }] });
    expect(both.validate({ a: 1 })).toEqual([]);
    expect(both.validate({}).map((e) => e.detail)).toEqual(["in body must validate at least one schema (anyOf)"]);
  });
});

describe("translation to JSON Schema", () => {
  it("drops formats Kubernetes does not check and rewrites draft-4 exclusive bounds", () => {
    expect(toAjvSchema({ type: "integer", format: "int32", minimum: 0, exclusiveMinimum: true })).toEqual({ type: "integer", exclusiveMinimum: 0 });
    expect(toAjvSchema({ type: "string", format: "date-time" })).toEqual({ type: "string", format: "date-time" });
    expect(toAjvSchema({ type: "string", nullable: true, enum: ["a"] })).toEqual({ type: ["string", "null"], enum: ["a", null] });
  });
});

describe("cachedValidator", () => {
  it("compiles once per CRD version and again only when the schema changes", () => {
    const s1: JSONSchemaProps = { type: "object", properties: { spec: { type: "object" } } };
    const a = cachedValidator("things.example.com/v1", s1);
    expect(cachedValidator("things.example.com/v1", structuredClone(s1))).toBe(a);
    const s2: JSONSchemaProps = { type: "object", properties: { spec: { type: "string" } } };
    const b = cachedValidator("things.example.com/v1", s2);
    expect(b).not.toBe(a);
    expect(b.validate({ spec: {} }).map((e) => e.field)).toEqual(["spec"]);
  });
});
