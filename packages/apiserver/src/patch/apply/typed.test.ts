// Book 11.2 and 12.3: tests for schema-aware walking — which fields an object sets, how two
// versions differ, how a configuration merges in, and how fields are taken out again.
import { describe, expect, it } from "vitest";
import { compare } from "./compare.js";
import { fieldPE as f, formatPath, keyPE } from "./fieldpath.js";
import { FieldSet } from "./fieldset.js";
import { TypedError } from "./list-items.js";
import { merge } from "./merge.js";
import { ensureNamedFieldsAreMembers, removeItems } from "./remove.js";
import type { TypeRef } from "./schema-shape.js";
import { deployment, deploymentSchema, resolver, widgetSchema, withContainers } from "./test-fixtures.js";
import { toFieldSet } from "./to-fieldset.js";

const root: TypeRef = { schema: deploymentSchema, resolver, root: true };
const untyped: TypeRef = { schema: undefined, resolver, root: true };
const widget: TypeRef = { schema: widgetSchema, resolver, root: true };
const paths = (s: FieldSet) => s.paths().map(formatPath);
const spec = (obj: unknown) => (obj as { spec: Record<string, unknown> }).spec;
const containers = (obj: unknown) =>
  ((spec(obj).template as { spec: { containers: Record<string, unknown>[] } }).spec.containers);

describe("toFieldSet", () => {
  it("owns leaves and keyed elements; struct fields only through their children", () => {
    const s = toFieldSet(withContainers([{ name: "nginx", image: "nginx:1.25" }], { replicas: 2 }), root);
    expect(s.toFieldsV1()).toEqual({
      "f:apiVersion": {},
      "f:kind": {},
      "f:metadata": { "f:name": {}, "f:namespace": {} },
      "f:spec": {
        "f:replicas": {},
        "f:template": {
          "f:metadata": { "f:labels": { "f:app": {} } },
          "f:spec": { "f:containers": { 'k:{"name":"nginx"}': { ".": {}, "f:image": {}, "f:name": {} } } },
        },
      },
    });
  });

  it("keys ports by containerPort and protocol, filling the protocol default", () => {
    const s = toFieldSet(withContainers([{ name: "c", ports: [{ containerPort: 80 }, { containerPort: 53, protocol: "UDP" }] }]), root);
    expect(paths(s).filter((p) => p.includes("ports"))).toEqual([
      '.spec.template.spec.containers[name="c"].ports[containerPort=53,protocol="UDP"]',
      '.spec.template.spec.containers[name="c"].ports[containerPort=80,protocol="TCP"]',
      '.spec.template.spec.containers[name="c"].ports[containerPort=53,protocol="UDP"].containerPort',
      '.spec.template.spec.containers[name="c"].ports[containerPort=53,protocol="UDP"].protocol',
      '.spec.template.spec.containers[name="c"].ports[containerPort=80,protocol="TCP"].containerPort',
    ]);
  });

  it("treats a list with only a patch merge key as keyed by it", () => {
    const obj = deployment({ template: { spec: { volumes: [{ name: "data", emptyDir: {} }] } } });
    expect(paths(toFieldSet(obj, root))).toContain('.spec.template.spec.volumes[name="data"].emptyDir');
  });

  it("owns atomic lists and atomic maps whole", () => {
    const obj = deployment({
      selector: { matchLabels: { app: "web" } },
      template: { spec: { nodeSelector: { disk: "ssd" }, containers: [{ name: "c", args: ["-v", "-x"] }] } },
    });
    const p = paths(toFieldSet(obj, root));
    expect(p).toContain(".spec.selector");
    expect(p).toContain(".spec.template.spec.nodeSelector");
    expect(p).toContain('.spec.template.spec.containers[name="c"].args');
    expect(p.some((x) => x.includes("matchLabels") || x.includes("disk") || x.includes("args["))).toBe(false);
  });

  it("treats lists with no list type as atomic", () => {
    const obj = deployment({ template: { spec: { tolerations: [{ key: "a", operator: "Exists" }] } } });
    expect(paths(toFieldSet(obj, root)).filter((p) => p.includes("tolerations"))).toEqual([".spec.template.spec.tolerations"]);
  });

  it("without a schema: maps are granular (every key owned), lists atomic, metadata still ObjectMeta", () => {
    const obj = { apiVersion: "v1", kind: "Thing", metadata: { name: "x", labels: { a: "1" } }, data: { k: { deep: 1 } }, items: [1, 2] };
    expect(toFieldSet(obj, untyped).toFieldsV1()).toEqual({
      "f:apiVersion": {},
      "f:data": { ".": {}, "f:k": { ".": {}, "f:deep": {} } },
      "f:items": {},
      "f:kind": {},
      "f:metadata": { ".": {}, "f:labels": { "f:a": {} }, "f:name": {} },
    });
  });

  it("uses set semantics and deduces free-form parts of a custom resource", () => {
    const obj = { apiVersion: "example.com/v1", kind: "Widget", metadata: { name: "w" }, spec: { tags: ["a", "b"], config: { x: { y: 1 } } } };
    const fv = toFieldSet(obj, widget).toFieldsV1() as { "f:spec": unknown };
    expect(fv["f:spec"]).toEqual({
      "f:config": { "f:x": { ".": {}, "f:y": {} } },
      "f:tags": { 'v:"a"': {}, 'v:"b"': {} },
    });
  });

  it("rejects elements a keyed list cannot name, and duplicate keys", () => {
    expect(() => toFieldSet(withContainers([{ image: "x" }]), root)).toThrow(/omits all key fields \["name"\]/);
    expect(() => toFieldSet(withContainers([{ name: "a" }, { name: "a" }]), root)).toThrow(
      /\.spec\.template\.spec\.containers: duplicate entries for key \[name="a"\]/,
    );
    expect(() => toFieldSet(withContainers(["nope"]), root)).toThrow(TypedError);
    const setWithObject = { apiVersion: "example.com/v1", kind: "Widget", metadata: {}, spec: { tags: [{ a: 1 }] } };
    expect(() => toFieldSet(setWithObject, widget)).toThrow(/without keys has an element that's a map type/);
  });

  it("owns a duplicated live element as a whole when duplicates are allowed", () => {
    const s = toFieldSet(withContainers([{ name: "a", image: "1" }, { name: "a", image: "2" }]), root, true);
    expect(paths(s).filter((p) => p.includes("containers"))).toEqual(['.spec.template.spec.containers[name="a"]']);
  });
});

describe("compare", () => {
  it("reports modified, added and removed fields, matching list elements by key", () => {
    const before = withContainers([{ name: "a", image: "1" }, { name: "b", image: "1" }], { replicas: 1 });
    const after = withContainers([{ name: "b", image: "2" }, { name: "c", image: "1" }], { replicas: 1 });
    const c = compare(before, after, root);
    const item = (n: string) => `.spec.template.spec.containers[name="${n}"]`;
    expect(paths(c.modified)).toEqual([`${item("b")}.image`]);
    expect(paths(c.added)).toEqual([item("c"), `${item("c")}.image`, `${item("c")}.name`]);
    expect(paths(c.removed)).toEqual([item("a"), `${item("a")}.image`, `${item("a")}.name`]);
  });

  it("does not count a struct that appears or vanishes under an existing parent, but does count maps", () => {
    const c = compare({ apiVersion: "apps/v1", kind: "Deployment", metadata: {} }, deployment({ replicas: 1 }, { labels: { a: "b" } }), root);
    expect(paths(c.added)).toEqual([
      ".metadata.labels",
      ".metadata.name",
      ".metadata.namespace",
      ".metadata.labels.a",
      ".spec.replicas",
    ]);
  });

  it("sees an atomic list change as one modified field", () => {
    const c = compare(withContainers([{ name: "a", args: ["1"] }]), withContainers([{ name: "a", args: ["1", "2"] }]), root);
    expect(paths(c.modified)).toEqual(['.spec.template.spec.containers[name="a"].args']);
  });

  it("finds nothing between equal objects", () => {
    const obj = withContainers([{ name: "a", image: "1", ports: [{ containerPort: 80 }] }]);
    const c = compare(obj, structuredClone(obj), root);
    expect(c.added.isEmpty() && c.modified.isEmpty() && c.removed.isEmpty()).toBe(true);
  });
});

describe("merge", () => {
  it("merges keyed elements field by field and keeps live-only elements and fields", () => {
    const live = withContainers([{ name: "a", image: "1", env: [{ name: "X", value: "1" }] }, { name: "side", image: "s" }], { replicas: 3 });
    const config = withContainers([{ name: "a", image: "2", env: [{ name: "Y", value: "2" }] }]);
    const out = merge(live, config, root);
    expect(spec(out).replicas).toBe(3);
    expect(containers(out)).toEqual([
      { name: "a", image: "2", env: [{ name: "X", value: "1" }, { name: "Y", value: "2" }] },
      { name: "side", image: "s" },
    ]);
  });

  it("merges ports by [containerPort, protocol]", () => {
    const live = withContainers([{ name: "a", ports: [{ containerPort: 80, protocol: "TCP", name: "http" }, { containerPort: 80, protocol: "UDP" }] }]);
    const config = withContainers([{ name: "a", ports: [{ containerPort: 80, name: "web" }] }]);
    expect(containers(merge(live, config, root))[0]!.ports).toEqual([
      { containerPort: 80, protocol: "TCP", name: "web" },
      { containerPort: 80, protocol: "UDP" },
    ]);
  });

  it("replaces atomic lists and maps whole, and unions sets", () => {
    const live = deployment({ selector: { matchLabels: { a: "1", b: "2" } }, template: { spec: { containers: [{ name: "c", args: ["1", "2"] }] } } });
    const config = deployment({ selector: { matchLabels: { a: "1" } }, template: { spec: { containers: [{ name: "c", args: ["3"] }] } } });
    const out = merge(live, config, root);
    expect(spec(out).selector).toEqual({ matchLabels: { a: "1" } });
    expect(containers(out)[0]!.args).toEqual(["3"]);
    const w = (tags: string[]) => ({ apiVersion: "example.com/v1", kind: "Widget", metadata: {}, spec: { tags } });
    expect(spec(merge(w(["a", "b"]), w(["c", "a"]), widget)).tags).toEqual(["c", "a", "b"]);
  });

  it("puts configured elements in configuration order, live-only ones keeping their place", () => {
    const names = (o: unknown) => containers(o).map((c) => c.name);
    const live = withContainers([{ name: "a" }, { name: "b" }, { name: "c" }]);
    expect(names(merge(live, withContainers([{ name: "c" }, { name: "a" }]), root))).toEqual(["b", "c", "a"]);
    expect(names(merge(live, withContainers([{ name: "x" }, { name: "b" }]), root))).toEqual(["a", "x", "b", "c"]);
  });

  it("drops a field the configuration sets to null", () => {
    const out = merge(deployment({ replicas: 3, paused: true }), deployment({ replicas: null }), root);
    expect(spec(out)).toEqual({ paused: true });
  });
});

describe("removeItems", () => {
  it("removes members with everything below them and drops containers left empty", () => {
    const obj = withContainers([{ name: "a", image: "1" }, { name: "b", image: "2" }], { replicas: 1 });
    const item = keyPE([["name", "a"]]);
    const tpl = [f("spec"), f("template")];
    const out = removeItems(
      obj,
      FieldSet.of([f("spec"), f("replicas")], [...tpl, f("spec"), f("containers"), item], [...tpl, f("metadata"), f("labels"), f("app")]),
      root,
    );
    expect(spec(out)).toEqual({ template: { spec: { containers: [{ name: "b", image: "2" }] } } });
  });

  it("ensureNamedFieldsAreMembers marks struct parents, not map keys or list elements", () => {
    const s = FieldSet.of([f("spec"), f("template"), f("metadata"), f("labels"), f("app")]);
    expect(paths(ensureNamedFieldsAreMembers(s, root))).toEqual([
      ".spec",
      ".spec.template",
      ".spec.template.metadata",
      ".spec.template.metadata.labels",
      ".spec.template.metadata.labels.app",
    ]);
  });
});
