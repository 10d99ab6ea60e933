// Book 11.2: tests for the JSONPath subset of printer columns and scale paths.
import { describe, expect, it } from "vitest";
import { JsonPathError, findAll, findFirst, formatValue, isFieldPath, jsonPathProblem, parseJsonPath } from "./jsonpath.js";

const widget = {
  metadata: { name: "w1", labels: { app: "web", "app.kubernetes.io/name": "widget" } },
  spec: { replicas: 3, items: [{ name: "a", size: 1 }, { name: "b", size: 5 }, { name: "c" }] },
  status: {
    conditions: [
      { type: "Progressing", status: "True" },
      { type: "Ready", status: "False" },
    ],
  },
};

describe("parseJsonPath", () => {
  it("reads dotted field paths", () => {
    expect(parseJsonPath(".spec.replicas").steps).toEqual([
      { kind: "field", name: "spec" },
      { kind: "field", name: "replicas" },
    ]);
    expect(isFieldPath(parseJsonPath(".spec.replicas"))).toBe(true);
    expect(isFieldPath(parseJsonPath(".spec.items[0]"))).toBe(false);
  });

  it("accepts the braces and $ kubectl users write", () => {
    expect(parseJsonPath("{.spec.replicas}").steps).toEqual(parseJsonPath(".spec.replicas").steps);
    expect(parseJsonPath("$.spec").steps).toEqual([{ kind: "field", name: "spec" }]);
    expect(parseJsonPath(".").steps).toEqual([]);
  });

  it("parses indices, wildcards, slices, quoted keys and filters", () => {
    expect(parseJsonPath(".a[0].b[*].c[-1][1:3]['x.y']").steps).toEqual([
      { kind: "field", name: "a" },
      { kind: "index", index: 0 },
      { kind: "field", name: "b" },
      { kind: "wildcard" },
      { kind: "field", name: "c" },
      { kind: "index", index: -1 },
      { kind: "slice", start: 1, end: 3 },
      { kind: "field", name: "x.y" },
    ]);
    expect(parseJsonPath('.status.conditions[?(@.type=="Ready")].status').steps[2]).toEqual({
      kind: "filter",
      path: [{ kind: "field", name: "type" }],
      op: "==",
      value: "Ready",
    });
  });

  it("rejects what the subset does not support, with a clear reason", () => {
    expect(() => parseJsonPath("..spec")).toThrow(/recursive descent/);
    expect(() => parseJsonPath("spec.replicas")).toThrow(/must start with '\.'/);
    expect(() => parseJsonPath("{.a}{.b}")).toThrow(/templates/);
    expect(() => parseJsonPath("{range .items[*]}{.name}{end}")).toThrow(JsonPathError);
    expect(() => parseJsonPath(".items[?(@.a==1 && @.b==2)]")).toThrow(/&& and \|\|/);
    expect(() => parseJsonPath(".items[abc]")).toThrow(/unsupported subscript/);
    expect(() => parseJsonPath(".spec.")).toThrow(/may not end with '\.'/);
    expect(() => parseJsonPath(".items[0")).toThrow(/missing '\]'/);
    expect(() => parseJsonPath("")).toThrow(/must not be empty/);
    expect(jsonPathProblem(".spec[?(@.x =~ 1)]")).toMatch(/unsupported filter operator/);
    expect(jsonPathProblem(".spec.replicas")).toBeUndefined();
  });
});

describe("findAll / findFirst", () => {
  it("looks up fields, indices and escaped dots", () => {
    expect(findAll(".spec.replicas", widget)).toEqual([3]);
    expect(findAll(".metadata.labels.app", widget)).toEqual(["web"]);
    expect(findAll(".metadata.labels.app\\.kubernetes\\.io/name", widget)).toEqual(["widget"]);
    expect(findAll(".metadata.labels['app.kubernetes.io/name']", widget)).toEqual(["widget"]);
    expect(findAll(".status.conditions[0].type", widget)).toEqual(["Progressing"]);
    expect(findAll(".status.conditions[-1].type", widget)).toEqual(["Ready"]);
  });

  it("fans out over [*] and slices", () => {
    expect(findAll(".spec.items[*].name", widget)).toEqual(["a", "b", "c"]);
    expect(findAll(".spec.items[0:2].name", widget)).toEqual(["a", "b"]);
    expect(findAll(".spec.items[*].size", widget)).toEqual([1, 5]);
  });

  it("filters list elements", () => {
    expect(findAll('.status.conditions[?(@.type=="Ready")].status', widget)).toEqual(["False"]);
    expect(findAll(".spec.items[?(@.size>2)].name", widget)).toEqual(["b"]);
    expect(findAll(".spec.items[?(@.size)].name", widget)).toEqual(["a", "b"]);
    expect(findAll(".spec.items[?(@.name!='a')].name", widget)).toEqual(["b", "c"]);
  });

  it("finds nothing for missing keys and out-of-range indices", () => {
    expect(findFirst(".spec.missing", widget)).toEqual({ found: false, value: undefined });
    expect(findAll(".status.conditions[7].type", widget)).toEqual([]);
    expect(findAll(".spec.replicas.deeper", widget)).toEqual([]);
  });

  it("tells a present null from an absent field", () => {
    expect(findFirst(".a", { a: null })).toEqual({ found: true, value: null });
  });
});

describe("formatValue", () => {
  it("prints strings bare and structures as JSON", () => {
    expect(formatValue("x")).toBe("x");
    expect(formatValue(3)).toBe("3");
    expect(formatValue(true)).toBe("true");
    expect(formatValue({ a: [1, 2] })).toBe('{"a":[1,2]}');
  });
});
