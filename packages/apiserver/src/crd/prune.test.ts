// Book 11.2: tests for pruning unknown fields and for defaulting from a CRD schema.
import { describe, expect, it } from "vitest";
import { applyDefaults, hasDefaults } from "./defaulting.js";
import { widgetCRD } from "./fixtures.js";
import { pruneUnknownFields } from "./prune.js";
import type { JSONSchemaProps } from "./types.js";

const schema = widgetCRD().spec.versions[0]!.schema!.openAPIV3Schema!;

describe("pruneUnknownFields", () => {
  it("drops fields the schema does not know and says which", () => {
    const obj = {
      apiVersion: "example.corekube.io/v1",
      kind: "Widget",
      metadata: { name: "w1", whatever: 1 },
      spec: { image: "nginx", imgae: "typo", ports: [{ name: "http", port: 80, proto: "TCP" }], selector: { matchLabels: { a: "b" }, extra: 1 } },
      status: { replicas: 1, phase: "Running" },
      topLevel: true,
    };
    const pruned = pruneUnknownFields(obj, schema, { resourceRoot: true });
    expect(pruned).toEqual(["spec.imgae", "spec.ports[0].proto", "spec.selector.extra", "status.phase", "topLevel"]);
    expect(obj).toEqual({
      apiVersion: "example.corekube.io/v1",
      kind: "Widget",
      metadata: { name: "w1", whatever: 1 },
      spec: { image: "nginx", ports: [{ name: "http", port: 80 }], selector: { matchLabels: { a: "b" } } },
      status: { replicas: 1 },
    });
  });

  it("keeps everything under x-kubernetes-preserve-unknown-fields and embedded resources' TypeMeta", () => {
    const obj = {
      spec: {
        image: "x",
        config: { any: { deep: ["thing"] } },
        template: { apiVersion: "v1", kind: "Pod", metadata: { name: "p" }, spec: { containers: [] } },
      },
    };
    expect(pruneUnknownFields(obj, schema, { resourceRoot: true })).toEqual([]);
    expect(obj.spec.config).toEqual({ any: { deep: ["thing"] } });
    expect(obj.spec.template.spec).toEqual({ containers: [] });
  });

  it("still prunes below known fields of a preserving object", () => {
    const s: JSONSchemaProps = {
      type: "object",
      "x-kubernetes-preserve-unknown-fields": true,
      properties: { known: { type: "object", properties: { a: { type: "string" } } } },
    };
    const obj = { free: 1, known: { a: "x", b: "y" } };
    expect(pruneUnknownFields(obj, s)).toEqual(["known.b"]);
    expect(obj).toEqual({ free: 1, known: { a: "x" } });
  });

  it("prunes apiVersion/kind/metadata only when not at a resource root", () => {
    const s: JSONSchemaProps = { type: "object", properties: { spec: { type: "object" } } };
    expect(pruneUnknownFields({ apiVersion: "v1", kind: "X", metadata: {}, spec: {} }, s)).toEqual(["apiVersion", "kind", "metadata"]);
    expect(pruneUnknownFields({ apiVersion: "v1", kind: "X", metadata: {}, spec: {} }, s, { resourceRoot: true })).toEqual([]);
  });

  it("recurses into additionalProperties maps", () => {
    const s: JSONSchemaProps = {
      type: "object",
      additionalProperties: { type: "object", properties: { size: { type: "integer" } } },
    };
    const obj = { small: { size: 1, colour: "red" }, big: { size: 9 } };
    expect(pruneUnknownFields(obj, s)).toEqual(["small.colour"]);
  });
});

describe("applyDefaults", () => {
  it("fills missing fields, inside lists too", () => {
    const obj: Record<string, unknown> = { spec: { image: "nginx", ports: [{ name: "http" }, { name: "admin", port: 9000 }] } };
    applyDefaults(obj, schema);
    expect(obj.spec).toEqual({
      image: "nginx",
      replicas: 1,
      color: "blue",
      ports: [
        { name: "http", port: 80 },
        { name: "admin", port: 9000 },
      ],
    });
  });

  it("never overrides a given value, and replaces null only where null is not allowed", () => {
    const s: JSONSchemaProps = {
      type: "object",
      properties: {
        a: { type: "string", default: "x" },
        b: { type: "string", nullable: true, default: "y" },
        c: { type: "string", default: "z" },
      },
    };
    const obj = { a: null, b: null, c: "given" };
    applyDefaults(obj, s);
    expect(obj).toEqual({ a: "x", b: null, c: "given" });
  });

  it("defaults inside a default it has just set, and copies defaults", () => {
    const s: JSONSchemaProps = {
      type: "object",
      properties: {
        outer: { type: "object", default: {}, properties: { inner: { type: "integer", default: 5 } } },
        list: { type: "array", items: { type: "string" }, default: ["a"] },
      },
    };
    const one: Record<string, unknown> = {};
    const two: Record<string, unknown> = {};
    applyDefaults(one, s);
    applyDefaults(two, s);
    expect(one).toEqual({ outer: { inner: 5 }, list: ["a"] });
    (one.list as string[]).push("b");
    expect(two.list).toEqual(["a"]);
    expect(s.properties!.outer!.default).toEqual({});
  });

  it("knows whether a schema has defaults at all", () => {
    expect(hasDefaults(schema)).toBe(true);
    expect(hasDefaults({ type: "object", properties: { a: { type: "string" } } })).toBe(false);
  });
});
