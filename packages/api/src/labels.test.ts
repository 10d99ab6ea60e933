// Book 2.3 and 11.2: label selectors — parsing the `labelSelector` grammar, key/value validation,
// matching truth tables, metav1 LabelSelector conversion and the canonical string.
import { describe, expect, it } from "vitest";
import {
  SelectorError,
  everything,
  formatSelector,
  isDNS1123Subdomain,
  isEverything,
  isQualifiedName,
  isValidLabelValue,
  matches,
  newRequirement,
  nothing,
  parseSelector,
  requiresExactMatch,
  selectorFromLabelSelector,
  selectorFromSet,
  type LabelRequirement,
} from "./labels.js";

const reqs = (s: string): LabelRequirement[] => [...parseSelector(s).requirements];
const fmt = (s: string): string => formatSelector(parseSelector(s));

function parseError(s: string): string {
  try {
    parseSelector(s);
  } catch (e) {
    expect(e).toBeInstanceOf(SelectorError);
    return (e as Error).message;
  }
  throw new Error(`expected ${JSON.stringify(s)} to be rejected`);
}

describe("parseSelector: accepted forms", () => {
  it.each([
    ["a=b", { key: "a", operator: "=", values: ["b"] }],
    ["a==b", { key: "a", operator: "==", values: ["b"] }],
    ["a!=b", { key: "a", operator: "!=", values: ["b"] }],
    ["a in (x,y)", { key: "a", operator: "in", values: ["x", "y"] }],
    ["a notin (x)", { key: "a", operator: "notin", values: ["x"] }],
    ["a", { key: "a", operator: "exists", values: [] }],
    ["!a", { key: "a", operator: "!", values: [] }],
    ["a>5", { key: "a", operator: "gt", values: ["5"] }],
    ["a<5", { key: "a", operator: "lt", values: ["5"] }],
    ["a=", { key: "a", operator: "=", values: [""] }],
    ["a!=", { key: "a", operator: "!=", values: [""] }],
    ["a in ()", { key: "a", operator: "in", values: [""] }],
    ["a in (,)", { key: "a", operator: "in", values: [""] }],
    ["a in (,b)", { key: "a", operator: "in", values: ["", "b"] }],
    ["a in (b,)", { key: "a", operator: "in", values: ["", "b"] }],
    ["a in (b,,c)", { key: "a", operator: "in", values: ["", "b", "c"] }],
    ["a in (c,b,c,a)", { key: "a", operator: "in", values: ["a", "b", "c"] }],
    ["example.com/app=web", { key: "example.com/app", operator: "=", values: ["web"] }],
    ["app.kubernetes.io/name=My_App-1.0", { key: "app.kubernetes.io/name", operator: "=", values: ["My_App-1.0"] }],
  ])("%j", (input, want) => {
    expect(reqs(input)).toEqual([want]);
  });

  it("the empty string and whitespace alone are the everything selector", () => {
    for (const s of ["", " ", "\t\r\n "]) {
      const sel = parseSelector(s);
      expect(sel.requirements).toEqual([]);
      expect(isEverything(sel)).toBe(true);
      expect(matches(sel, {})).toBe(true);
      expect(matches(sel, { a: "b" })).toBe(true);
    }
  });

  it("whitespace may surround every token", () => {
    const want = reqs("a=b,c in (d,e),!f,g");
    expect(reqs("  a = b ,\tc in ( d , e ) , ! f , g  ")).toEqual(want);
    expect(reqs("a\n=\nb,c\r\nin\r\n(d,e),!f,g")).toEqual(want);
    expect(reqs("a==b")).toEqual(reqs("a == b"));
    expect(reqs("x in(a)")).toEqual(reqs("x in (a)"));
    expect(reqs("x notin(a)")).toEqual(reqs("x notin (a)"));
  });

  it("requirements are sorted by key, keeping duplicates", () => {
    expect(reqs("z=1,a=2,m,a!=3").map((r) => `${r.key}${r.operator}${r.values.join("|")}`)).toEqual([
      "a=2",
      "a!=3",
      "mexists",
      "z=1",
    ]);
  });

  it("in and notin are plain identifiers outside operator position", () => {
    expect(reqs("in")).toEqual([{ key: "in", operator: "exists", values: [] }]);
    expect(reqs("!notin")).toEqual([{ key: "notin", operator: "!", values: [] }]);
    expect(reqs("in in (in,notin)")).toEqual([{ key: "in", operator: "in", values: ["in", "notin"] }]);
    expect(reqs("notin=in")).toEqual([{ key: "notin", operator: "=", values: ["in"] }]);
    expect(reqs("a=notin,b")).toHaveLength(2);
  });

  it("the upstream documentation example", () => {
    expect(fmt("x in (foo,,baz),y,z notin ()")).toBe("x in (,baz,foo),y,z notin ()");
  });

  it("keys and values at the length limits", () => {
    const name63 = "a".repeat(63);
    const prefix253 = `${"b".repeat(63)}.${"c".repeat(63)}.${"d".repeat(63)}.${"e".repeat(61)}`;
    expect(prefix253).toHaveLength(253);
    expect(reqs(`${prefix253}/${name63}=${name63}`)[0]!.key).toBe(`${prefix253}/${name63}`);
  });
});

describe("parseSelector: rejected forms", () => {
  it.each([
    [",", "found ',', expected: !, identifier, or 'end of string'"],
    [",a", "found ',', expected: !, identifier, or 'end of string'"],
    ["=a", "found '=', expected: !, identifier, or 'end of string'"],
    ["(a)", "found '(', expected: !, identifier, or 'end of string'"],
    ["a,", "found '', expected: identifier after ','"],
    ["a,,b", "found ',', expected: identifier after ','"],
    ["a=b c", "found 'c', expected: ',' or 'end of string'"],
    ["a=b=c", "found '=', expected: ',' or 'end of string'"],
    ["!a=b", "found '=', expected: ',' or 'end of string'"],
    ["a b", "unable to parse requirement: found 'b', expected: in, notin, =, ==, !=, gt, lt"],
    ["a (b)", "unable to parse requirement: found '(', expected: in, notin, =, ==, !=, gt, lt"],
    ["a===b", "unable to parse requirement: found '=', expected: identifier"],
    ["a=(b)", "unable to parse requirement: found '(', expected: identifier"],
    ["!", "unable to parse requirement: found '', expected: identifier"],
    ["!!a", "unable to parse requirement: found '!', expected: identifier"],
    ["a in", "unable to parse requirement: found '' expected: '('"],
    ["a in b", "unable to parse requirement: found 'b' expected: '('"],
    ["a in (", "unable to parse requirement: found '', expected: ',', ')' or identifier"],
    ["a in (b", "unable to parse requirement: found '', expected: ',' or ')'"],
    ["a in (b c)", "unable to parse requirement: found 'c', expected: ',' or ')'"],
    ["a in (b,=)", "unable to parse requirement: found '=', expected: ',', or identifier"],
    ["a in ((b))", "unable to parse requirement: found '(', expected: ',', ')' or identifier"],
    ["a notin", "unable to parse requirement: found '' expected: '('"],
  ])("%j", (input, message) => {
    expect(parseError(input)).toBe(message);
  });

  it("invalid keys are named with the rule they break", () => {
    expect(parseError("-a=b")).toMatch(/^unable to parse requirement: key: Invalid value: "-a": name part must consist of alphanumeric/);
    expect(parseError("a-")).toMatch(/name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end/);
    expect(parseError(`${"a".repeat(64)}`)).toMatch(/name part must be no more than 63 characters/);
    expect(parseError("/a")).toMatch(/prefix part must be non-empty/);
    expect(parseError("a/")).toMatch(/name part must be non-empty/);
    expect(parseError("a/b/c")).toMatch(/a qualified name must consist of .* with an optional DNS subdomain prefix and '\/'/);
    expect(parseError("Example.com/a")).toMatch(/prefix part a lowercase RFC 1123 subdomain must consist of lower case/);
    expect(parseError(`${"a".repeat(254)}/b`)).toMatch(/prefix part must be no more than 253 characters/);
    expect(parseError("a:b=c")).toMatch(/Invalid value: "a:b"/);
    expect(parseError("é=b")).toMatch(/Invalid value: "é"/);
    expect(parseError("!-a")).toMatch(/Invalid value: "-a"/);
  });

  it("invalid values are named with their position and key", () => {
    expect(parseError("a=-b")).toMatch(
      /^unable to parse requirement: values\[0\]\[a\]: Invalid value: "-b": a valid label must be an empty string or consist of/,
    );
    expect(parseError(`a=${"v".repeat(64)}`)).toMatch(/must be no more than 63 characters/);
    // Set values are sorted before they are checked, so the index is the sorted position.
    expect(parseError("a in (z_,a)")).toMatch(/values\[1\]\[a\]: Invalid value: "z_"/);
    expect(parseError("a=b/c")).toMatch(/Invalid value: "b\/c"/);
  });

  it("gt and lt need an integer that is also a valid label value", () => {
    expect(reqs("a>0")[0]!.values).toEqual(["0"]);
    expect(reqs("a<9223372036854775807")[0]!.values).toEqual(["9223372036854775807"]);
    expect(parseError("a>x")).toMatch(/for 'Gt', 'Lt' operators, the value must be an integer/);
    expect(parseError("a>")).toMatch(/for 'Gt', 'Lt' operators, the value must be an integer/);
    expect(parseError("a>9223372036854775808")).toMatch(/the value must be an integer/);
    // A sign is an integer to strconv but not a label value.
    expect(parseError("a>-1")).toMatch(/a valid label must be/);
    expect(parseError("a>=1")).toBe("unable to parse requirement: found '=', expected: identifier");
  });

  it("several problems in one requirement are reported together", () => {
    expect(() => newRequirement("-k", "in", [])).toThrow(/^\[key: Invalid value: "-k": .*, values: Invalid value: \[\]: for 'in', 'notin' operators, values set can't be empty\]$/);
  });
});

describe("matches", () => {
  const objects: Record<string, Record<string, string>> = {
    none: {},
    web: { app: "web" },
    db: { app: "db" },
    empty: { app: "" },
    webProd: { app: "web", env: "prod" },
    num: { n: "10" },
    neg: { n: "-3" },
    notNum: { n: "ten" },
  };

  // Each row: selector, then the objects it selects (all others must not match).
  const table: Array<[string, string[]]> = [
    ["", Object.keys(objects)],
    ["app=web", ["web", "webProd"]],
    ["app==web", ["web", "webProd"]],
    ["app!=web", ["none", "db", "empty", "num", "neg", "notNum"]],
    ["app=", ["empty"]],
    ["app!=", ["none", "web", "db", "webProd", "num", "neg", "notNum"]],
    ["app in (web,db)", ["web", "db", "webProd"]],
    ["app in ()", ["empty"]],
    ["app notin (web)", ["none", "db", "empty", "num", "neg", "notNum"]],
    ["app notin (web,db,)", ["none", "num", "neg", "notNum"]],
    ["app", ["web", "db", "empty", "webProd"]],
    ["!app", ["none", "num", "neg", "notNum"]],
    ["app=web,env=prod", ["webProd"]],
    ["app=web,!env", ["web"]],
    ["app,app!=web", ["db", "empty"]],
    ["app=web,app=db", []],
    ["n>9", ["num"]],
    ["n>10", []],
    ["n<11", ["num", "neg"]],
    ["n<0", ["neg"]],
    ["!n", ["none", "web", "db", "empty", "webProd"]],
  ];

  it.each(table)("%j", (selector, selected) => {
    const sel = parseSelector(selector);
    for (const [name, labels] of Object.entries(objects)) {
      expect([name, matches(sel, labels)]).toEqual([name, selected.includes(name)]);
    }
  });

  it("undefined labels behave as no labels", () => {
    expect(matches(parseSelector("a"), undefined)).toBe(false);
    expect(matches(parseSelector("!a,b!=c,d notin (e)"), undefined)).toBe(true);
  });

  it("inherited object properties are not labels", () => {
    expect(matches(parseSelector("toString"), {})).toBe(false);
    expect(matches(parseSelector("constructor!=x"), {})).toBe(true);
  });

  it("everything and nothing", () => {
    expect(matches(everything(), { a: "b" })).toBe(true);
    expect(matches(nothing(), {})).toBe(false);
    expect(isEverything(nothing())).toBe(false);
  });
});

describe("formatSelector", () => {
  it.each([
    ["a=b", "a=b"],
    [" a == b ", "a==b"],
    ["a != b", "a!=b"],
    ["a in (y, x)", "a in (x,y)"],
    ["a notin(x)", "a notin (x)"],
    [" ! a ", "!a"],
    ["a", "a"],
    ["a>1", "a>1"],
    ["a<1", "a<1"],
    ["a=", "a="],
    ["c=1,b,a in (z,y)", "a in (y,z),b,c=1"],
    ["", ""],
  ])("%j -> %j", (input, want) => {
    expect(fmt(input)).toBe(want);
  });

  it("round-trips: parsing the canonical form gives the same selector", () => {
    for (const s of ["x in (foo,,baz),y,z notin ()", "a!=,!b,c==d,e>3", "k8s.io/x in (a,b),k8s.io/y"]) {
      const once = parseSelector(s);
      expect(parseSelector(formatSelector(once))).toEqual(once);
    }
  });

  it("sorts values it did not parse without changing the selector", () => {
    const sel = selectorFromLabelSelector({ matchExpressions: [{ key: "a", operator: "In", values: ["c", "b"] }] });
    expect(formatSelector(sel)).toBe("a in (b,c)");
    expect(sel.requirements[0]!.values).toEqual(["c", "b"]);
  });

  it("both everything and nothing print as the empty string", () => {
    expect(formatSelector(everything())).toBe("");
    expect(formatSelector(nothing())).toBe("");
  });
});

describe("selectorFromLabelSelector", () => {
  it("null and undefined select nothing; {} and empty lists select everything", () => {
    expect(matches(selectorFromLabelSelector(null), {})).toBe(false);
    expect(matches(selectorFromLabelSelector(undefined), { a: "b" })).toBe(false);
    expect(isEverything(selectorFromLabelSelector({}))).toBe(true);
    expect(isEverything(selectorFromLabelSelector({ matchLabels: {}, matchExpressions: [] }))).toBe(true);
  });

  it("matchLabels and matchExpressions are ANDed and sorted by key", () => {
    const sel = selectorFromLabelSelector({
      matchLabels: { tier: "fe", app: "web" },
      matchExpressions: [
        { key: "env", operator: "In", values: ["prod", "staging"] },
        { key: "track", operator: "NotIn", values: ["canary"] },
        { key: "owner", operator: "Exists" },
        { key: "legacy", operator: "DoesNotExist", values: [] },
      ],
    });
    expect(formatSelector(sel)).toBe("app=web,env in (prod,staging),!legacy,owner,tier=fe,track notin (canary)");
    expect(matches(sel, { app: "web", tier: "fe", env: "prod", owner: "me" })).toBe(true);
    expect(matches(sel, { app: "web", tier: "fe", env: "prod", owner: "me", track: "canary" })).toBe(false);
    expect(matches(sel, { app: "web", tier: "fe", env: "prod", owner: "me", legacy: "" })).toBe(false);
    expect(matches(sel, { app: "web", tier: "fe", env: "dev", owner: "me" })).toBe(false);
    expect(matches(sel, { app: "web", tier: "fe", env: "prod" })).toBe(false);
    expect(formatSelector(parseSelector(formatSelector(sel)))).toBe(formatSelector(sel));
  });

  it.each([
    [{ matchExpressions: [{ key: "a", operator: "In" as const }] }, /^matchExpressions\[0\]\.values: Invalid value: \[\]: for 'in', 'notin' operators, values set can't be empty$/],
    [{ matchExpressions: [{ key: "a", operator: "NotIn" as const, values: [] }] }, /values set can't be empty/],
    [{ matchExpressions: [{ key: "a", operator: "Exists" as const, values: ["x"] }] }, /^matchExpressions\[0\]\.values: Invalid value: \["x"\]: values set must be empty for exists and does not exist$/],
    [{ matchExpressions: [{ key: "a", operator: "DoesNotExist" as const, values: ["x"] }] }, /values set must be empty/],
    [{ matchExpressions: [{ key: "ok", operator: "In" as const, values: ["x"] }, { key: "a b", operator: "Exists" as const }] }, /^matchExpressions\[1\]\.key: Invalid value: "a b": name part/],
    [{ matchExpressions: [{ key: "a", operator: "In" as const, values: ["ok", "-bad"] }] }, /^matchExpressions\[0\]\.values\[1\]: Invalid value: "-bad": a valid label/],
    [{ matchLabels: { "bad key": "v" } }, /^matchLabels: Invalid value: "bad key": name part/],
    [{ matchLabels: { app: "bad value" } }, /^matchLabels\[app\]: Invalid value: "bad value": a valid label/],
  ])("rejects %j", (ls, message) => {
    expect(() => selectorFromLabelSelector(ls)).toThrow(SelectorError);
    expect(() => selectorFromLabelSelector(ls)).toThrow(message);
  });

  it("rejects an unknown operator", () => {
    const ls = { matchExpressions: [{ key: "a", operator: "Gt", values: ["1"] }] } as unknown as Parameters<typeof selectorFromLabelSelector>[0];
    expect(() => selectorFromLabelSelector(ls)).toThrow('"Gt" is not a valid label selector operator');
  });
});

describe("selectorFromSet and requiresExactMatch", () => {
  it("a label set becomes sorted equality requirements", () => {
    const sel = selectorFromSet({ b: "2", a: "1" });
    expect(formatSelector(sel)).toBe("a=1,b=2");
    expect(matches(sel, { a: "1", b: "2", c: "3" })).toBe(true);
    expect(matches(sel, { a: "1" })).toBe(false);
    expect(isEverything(selectorFromSet({}))).toBe(true);
    expect(() => selectorFromSet({ a: "-" })).toThrow(/labels\[a\]: Invalid value: "-"/);
  });

  it("reports a value only when the key is pinned to exactly one", () => {
    const sel = parseSelector("a=1,b==2,c in (3),d in (4,5),e!=6,f");
    expect(requiresExactMatch(sel, "a")).toBe("1");
    expect(requiresExactMatch(sel, "b")).toBe("2");
    expect(requiresExactMatch(sel, "c")).toBe("3");
    expect(requiresExactMatch(sel, "d")).toBeUndefined();
    expect(requiresExactMatch(sel, "e")).toBeUndefined();
    expect(requiresExactMatch(sel, "f")).toBeUndefined();
    expect(requiresExactMatch(sel, "zzz")).toBeUndefined();
  });
});

describe("validation helpers", () => {
  it.each([
    ["a", true],
    ["A", true],
    ["a.b_c-d", true],
    ["1", true],
    ["example.com/a", true],
    ["a.b-c.d/E_f", true],
    ["", false],
    ["_a", false],
    ["a_", false],
    ["a b", false],
    ["EXAMPLE.com/a", false],
    ["ex_ample.com/a", false],
    ["-example.com/a", false],
    ["a//b", false],
  ])("isQualifiedName(%j) valid=%s", (key, ok) => {
    expect(isQualifiedName(key).length === 0).toBe(ok);
  });

  it.each([
    ["", true],
    ["a", true],
    ["a-b_c.d", true],
    ["0", true],
    ["a".repeat(63), true],
    ["a".repeat(64), false],
    ["-a", false],
    ["a.", false],
    ["a/b", false],
    ["a b", false],
  ])("isValidLabelValue(%j) valid=%s", (value, ok) => {
    expect(isValidLabelValue(value).length === 0).toBe(ok);
  });

  it("isDNS1123Subdomain", () => {
    expect(isDNS1123Subdomain("example.com")).toEqual([]);
    expect(isDNS1123Subdomain("a")).toEqual([]);
    expect(isDNS1123Subdomain("a..b")).toHaveLength(1);
    expect(isDNS1123Subdomain("a.-b")).toHaveLength(1);
    expect(isDNS1123Subdomain("A")).toHaveLength(1);
    expect(isDNS1123Subdomain("a".repeat(254))).toEqual(["must be no more than 253 characters"]);
  });
});
