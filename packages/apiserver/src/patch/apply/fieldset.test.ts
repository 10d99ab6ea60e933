// Book 11.2 and 12.3: tests for field sets — the FieldsV1 text Kubernetes stores in managedFields,
// read and written back, and the set algebra ownership is computed with.
import { describe, expect, it } from "vitest";
import { fieldPE as f, formatPath, indexPE, keyPE, parsePE, serializePE, valuePE, type Path } from "./fieldpath.js";
import { FieldSet, FieldsV1Error } from "./fieldset.js";

const nginx = keyPE([["name", "nginx"]]);
const paths = (s: FieldSet) => s.paths().map(formatPath);

describe("FieldsV1 encoding", () => {
  it("writes the shape Kubernetes stores, with '.' where an element is owned and has owned fields", () => {
    const s = FieldSet.of(
      [f("metadata"), f("labels"), f("app")],
      [f("spec"), f("containers"), nginx],
      [f("spec"), f("containers"), nginx, f("image")],
    );
    expect(JSON.stringify(s.toFieldsV1())).toBe(
      '{"f:metadata":{"f:labels":{"f:app":{}}},"f:spec":{"f:containers":{"k:{\\"name\\":\\"nginx\\"}":{".":{},"f:image":{}}}}}',
    );
  });

  it("reads FieldsV1 back into the same set", () => {
    const json = {
      "f:metadata": { "f:labels": { ".": {}, "f:app": {} } },
      "f:spec": { "f:containers": { 'k:{"name":"nginx"}': { ".": {}, "f:image": {}, "f:name": {} } }, "f:replicas": {} },
    };
    const s = FieldSet.fromFieldsV1(json);
    expect(paths(s)).toEqual([
      ".metadata.labels",
      ".metadata.labels.app",
      ".spec.replicas",
      '.spec.containers[name="nginx"]',
      '.spec.containers[name="nginx"].image',
      '.spec.containers[name="nginx"].name',
    ]);
    expect(s.toFieldsV1()).toEqual(json);
  });

  it("sorts key fields by name and writes them as compact JSON", () => {
    const port = keyPE([
      ["protocol", "TCP"],
      ["containerPort", 80],
    ]);
    expect(serializePE(port)).toBe('k:{"containerPort":80,"protocol":"TCP"}');
    expect(formatPath([f("ports"), port])).toBe('.ports[containerPort=80,protocol="TCP"]');
    expect(parsePE('k:{"protocol":"TCP","containerPort":80}')).toEqual(port);
  });

  it("encodes set members as v:<json> and positions as i:<n>", () => {
    const s = FieldSet.of([f("finalizers"), valuePE("example.com/a")], [f("args"), indexPE(2)]);
    expect(s.toFieldsV1()).toEqual({ "f:args": { "i:2": {} }, "f:finalizers": { 'v:"example.com/a"': {} } });
    expect(formatPath([f("finalizers"), valuePE("x")])).toBe('.finalizers[="x"]');
    expect(formatPath([f("args"), indexPE(2)])).toBe(".args[2]");
  });

  it("orders a node's keys: fields, then keys, then values, then indexes; fields by name", () => {
    const s = FieldSet.of([indexPE(0)], [valuePE(1)], [keyPE([["a", 1]])], [f("b")], [f("a")]);
    expect(Object.keys(s.toFieldsV1())).toEqual(["f:a", "f:b", 'k:{"a":1}', "v:1", "i:0"]);
  });

  it("escapes <, > and & inside JSON keys as Go does", () => {
    expect(serializePE(valuePE("a<b>&"))).toBe('v:"a\\u003cb\\u003e\\u0026"');
    expect(parsePE('v:"a\\u003cb"')).toEqual(valuePE("a<b"));
  });

  it("skips keys with an unknown prefix and rejects malformed ones", () => {
    expect(paths(FieldSet.fromFieldsV1({ "x:future": {}, "f:a": {} }))).toEqual([".a"]);
    expect(() => FieldSet.fromFieldsV1({ "k:{not json": {} })).toThrow(FieldsV1Error);
    expect(() => FieldSet.fromFieldsV1({ "f:a": "yes" })).toThrow(/must be a JSON object/);
    expect(() => FieldSet.fromFieldsV1({ a: {} })).toThrow(FieldsV1Error);
    expect(() => FieldSet.fromFieldsV1([])).toThrow(FieldsV1Error);
  });
});

describe("set algebra", () => {
  const a: Path = [f("spec"), f("replicas")];
  const b: Path = [f("spec"), f("paused")];
  const c: Path = [f("metadata"), f("labels"), f("app")];

  it("union, intersection and difference work path by path", () => {
    const x = FieldSet.of(a, b);
    const y = FieldSet.of(b, c);
    expect(paths(x.union(y))).toEqual([".metadata.labels.app", ".spec.paused", ".spec.replicas"]);
    expect(paths(x.intersection(y))).toEqual([".spec.paused"]);
    expect(paths(x.difference(y))).toEqual([".spec.replicas"]);
    expect(paths(y.difference(x))).toEqual([".metadata.labels.app"]);
    // Inputs are not changed.
    expect(paths(x)).toEqual([".spec.paused", ".spec.replicas"]);
  });

  it("difference by a parent keeps the children; recursive difference drops them", () => {
    const item: Path = [f("spec"), f("containers"), nginx];
    const image: Path = [...item, f("image")];
    const s = FieldSet.of(item, image);
    expect(paths(s.difference(FieldSet.of(item)))).toEqual(['.spec.containers[name="nginx"].image']);
    expect(s.recursiveDifference(FieldSet.of(item)).isEmpty()).toBe(true);
    expect(FieldSet.of(a, b).recursiveDifference(FieldSet.of([f("spec")])).isEmpty()).toBe(true);
  });

  it("leaves keeps only members with nothing owned below them", () => {
    const item: Path = [f("spec"), f("containers"), nginx];
    const s = FieldSet.of(item, [...item, f("image")], a);
    expect(paths(s.leaves())).toEqual([".spec.replicas", '.spec.containers[name="nginx"].image']);
  });

  it("has, size, isEmpty and equals", () => {
    const s = FieldSet.of(a, c);
    expect(s.has(a)).toBe(true);
    expect(s.has([f("spec")])).toBe(false);
    expect(s.size).toBe(2);
    expect(new FieldSet().isEmpty()).toBe(true);
    expect(s.equals(FieldSet.of(c, a))).toBe(true);
    expect(s.equals(FieldSet.of(a))).toBe(false);
  });
});
