// Book 11.2: field selectors — parsing the `fieldSelector` grammar and its escapes, matching truth
// tables, the canonical string, and rejecting field names a resource does not support.
import { describe, expect, it } from "vitest";
import {
  assertSupportedFields,
  escapeFieldValue,
  fieldSelectorFields,
  formatFieldSelector,
  isEmptyFieldSelector,
  matchesFields,
  parseFieldSelector,
  requiresExactFieldMatch,
  unescapeFieldValue,
} from "./fields.js";
import { SelectorError } from "./labels.js";

const reqs = (s: string) => [...parseFieldSelector(s).requirements];

function parseError(s: string): string {
  try {
    parseFieldSelector(s);
  } catch (e) {
    expect(e).toBeInstanceOf(SelectorError);
    return (e as Error).message;
  }
  throw new Error(`expected ${JSON.stringify(s)} to be rejected`);
}

describe("parseFieldSelector: accepted forms", () => {
  it.each([
    ["metadata.name=foo", [{ field: "metadata.name", operator: "=", value: "foo" }]],
    ["metadata.name==foo", [{ field: "metadata.name", operator: "==", value: "foo" }]],
    ["status.phase!=Running", [{ field: "status.phase", operator: "!=", value: "Running" }]],
    ["spec.nodeName=", [{ field: "spec.nodeName", operator: "=", value: "" }]],
    ["a!=", [{ field: "a", operator: "!=", value: "" }]],
    ["a=b!c", [{ field: "a", operator: "=", value: "b!c" }]],
    ["a=b\\,c", [{ field: "a", operator: "=", value: "b,c" }]],
    ["a=b\\=c", [{ field: "a", operator: "=", value: "b=c" }]],
    ["a=b\\\\c", [{ field: "a", operator: "=", value: "b\\c" }]],
    ["a=\\\\", [{ field: "a", operator: "=", value: "\\" }]],
    ["a=x y", [{ field: "a", operator: "=", value: "x y" }]],
    // The field name is taken as written, escapes included.
    ["a\\,b=c", [{ field: "a\\,b", operator: "=", value: "c" }]],
  ])("%j", (input, want) => {
    expect(reqs(input)).toEqual(want);
  });

  it("the first operator wins; at one position != and == beat =", () => {
    expect(reqs("a!=b")[0]!.operator).toBe("!=");
    expect(reqs("a==b")[0]!.operator).toBe("==");
    expect(reqs("a!b!=c")).toEqual([{ field: "a!b", operator: "!=", value: "c" }]);
    expect(reqs("!=a")).toEqual([{ field: "", operator: "!=", value: "a" }]);
  });

  it("commas separate terms; empty terms are skipped; terms are sorted by source text", () => {
    expect(reqs("b=2,a=1").map((r) => r.field)).toEqual(["a", "b"]);
    expect(reqs(",a=1,,b=2,").map((r) => r.field)).toEqual(["a", "b"]);
    expect(reqs("a=2,a!=1").map((r) => `${r.operator}${r.value}`)).toEqual(["!=1", "=2"]);
  });

  it("nothing, or only commas, selects everything", () => {
    for (const s of ["", ",", ",,"]) {
      const sel = parseFieldSelector(s);
      expect(isEmptyFieldSelector(sel)).toBe(true);
      expect(matchesFields(sel, { a: "b" })).toBe(true);
    }
  });

  it("whitespace is not trimmed", () => {
    expect(reqs(" a = b ")).toEqual([{ field: " a ", operator: "=", value: " b " }]);
    expect(parseError(" ")).toBe("invalid selector: ' '; can't understand ' '");
  });
});

describe("parseFieldSelector: rejected forms", () => {
  it.each([
    ["a", "invalid selector: 'a'; can't understand 'a'"],
    ["a=b,c", "invalid selector: 'a=b,c'; can't understand 'c'"],
    ["a!b", "invalid selector: 'a!b'; can't understand 'a!b'"],
    ["a in (b)", "invalid selector: 'a in (b)'; can't understand 'a in (b)'"],
    ["a=b=c", "invalid field selector: unescaped character in value: '='"],
    ["a==b=c", "invalid field selector: unescaped character in value: '='"],
    ["a===b", "invalid field selector: unescaped character in value: '='"],
    ["a=\\x", "invalid field selector: invalid escape sequence: \\x"],
    ["a=b\\", "invalid field selector: invalid escape sequence: \\"],
    ["a=\\n", "invalid field selector: invalid escape sequence: \\n"],
    // An escaped '=' in the name does not hide it from the operator search.
    ["a\\=b=c", "invalid field selector: unescaped character in value: '='"],
  ])("%j", (input, message) => {
    expect(parseError(input)).toBe(message);
  });
});

describe("matchesFields", () => {
  const objects: Record<string, Record<string, string>> = {
    none: {},
    running: { "status.phase": "Running", "spec.nodeName": "n1" },
    pending: { "status.phase": "Pending", "spec.nodeName": "" },
    comma: { "metadata.name": "a,b" },
  };
  // Absent fields read as the empty string.
  const table: Array<[string, string[]]> = [
    ["", ["none", "running", "pending", "comma"]],
    ["status.phase=Running", ["running"]],
    ["status.phase==Running", ["running"]],
    ["status.phase!=Running", ["none", "pending", "comma"]],
    ["spec.nodeName=", ["none", "pending", "comma"]],
    ["spec.nodeName!=", ["running"]],
    ["spec.nodeName=n1,status.phase=Running", ["running"]],
    ["spec.nodeName=n1,status.phase!=Running", []],
    ["metadata.name=a\\,b", ["comma"]],
    ["metadata.name!=a\\,b", ["none", "running", "pending"]],
  ];

  it.each(table)("%j", (selector, selected) => {
    const sel = parseFieldSelector(selector);
    for (const [name, fields] of Object.entries(objects)) {
      expect([name, matchesFields(sel, fields)]).toEqual([name, selected.includes(name)]);
    }
  });

  it("inherited object properties are not fields", () => {
    expect(matchesFields(parseFieldSelector("toString="), {})).toBe(true);
  });
});

describe("escapes and formatting", () => {
  it.each([
    ["", ""],
    ["plain", "plain"],
    ["a,b", "a\\,b"],
    ["a=b", "a\\=b"],
    ["a\\b", "a\\\\b"],
    ["\\,=", "\\\\\\,\\="],
  ])("escape %j <-> %j", (raw, escaped) => {
    expect(escapeFieldValue(raw)).toBe(escaped);
    expect(unescapeFieldValue(escaped)).toBe(raw);
  });

  it("formats terms in order, with == written as = and values escaped", () => {
    expect(formatFieldSelector(parseFieldSelector("b==2,a!=x\\,y"))).toBe("a!=x\\,y,b=2");
    expect(formatFieldSelector(parseFieldSelector(""))).toBe("");
    const sel = parseFieldSelector("metadata.name=a\\=b\\\\c,status.phase!=");
    expect(parseFieldSelector(formatFieldSelector(sel))).toEqual(sel);
  });
});

describe("field names", () => {
  it("lists the distinct names used, sorted", () => {
    expect(fieldSelectorFields(parseFieldSelector("status.phase!=x,metadata.name=a,status.phase!=y"))).toEqual([
      "metadata.name",
      "status.phase",
    ]);
    expect(fieldSelectorFields(parseFieldSelector(""))).toEqual([]);
  });

  it("rejects a name the resource does not support, naming it and the supported ones", () => {
    const supported = ["metadata.name", "metadata.namespace", "spec.nodeName", "status.phase"];
    expect(() => assertSupportedFields(parseFieldSelector("spec.nodeName=n1,status.phase=Running"), supported, "pods")).not.toThrow();
    const bad = parseFieldSelector("spec.nodeName=n1,spec.bogus=x");
    expect(() => assertSupportedFields(bad, supported, "pods")).toThrow(SelectorError);
    expect(() => assertSupportedFields(bad, supported, "pods")).toThrow(
      "field label not supported: spec.bogus (pods supports: metadata.name, metadata.namespace, spec.nodeName, status.phase)",
    );
    expect(() => assertSupportedFields(bad, new Set(["spec.nodeName"]))).toThrow(
      "field label not supported: spec.bogus (supported: spec.nodeName)",
    );
    expect(() => assertSupportedFields(parseFieldSelector(" metadata.name=x"), supported)).toThrow(
      /field label not supported:  metadata\.name/,
    );
    expect(() => assertSupportedFields(parseFieldSelector("=x"), [], "secrets")).toThrow(
      "field label not supported:  (secrets supports: none)",
    );
  });

  it("requiresExactFieldMatch finds equality terms only", () => {
    const sel = parseFieldSelector("metadata.name==web,status.phase!=Failed");
    expect(requiresExactFieldMatch(sel, "metadata.name")).toBe("web");
    expect(requiresExactFieldMatch(sel, "status.phase")).toBeUndefined();
    expect(requiresExactFieldMatch(sel, "spec.nodeName")).toBeUndefined();
  });
});
