// Book 11.2: tests for reading CRD patterns (Go RE2 syntax) in JavaScript.
import { describe, expect, it } from "vitest";
import { PatternError, patternProblem, re2ToJs } from "./regex.js";

const matches = (pattern: string, s: string): boolean => new RegExp(re2ToJs(pattern)).test(s);

describe("re2ToJs", () => {
  it("leaves plain patterns alone", () => {
    expect(re2ToJs("^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")).toBe("^[a-z0-9]([-a-z0-9]*[a-z0-9])?$");
    expect(re2ToJs("^\\d+(ms|s|m|h)$")).toBe("^\\d+(ms|s|m|h)$");
  });

  it("turns (?i) into case-insensitive matching for the rest of its group", () => {
    const months = "^((?i)jan|feb)(:\\d)?$";
    expect(matches(months, "JAN")).toBe(true);
    expect(matches(months, "Feb:1")).toBe(true);
    expect(matches(months, "mar")).toBe(false);
    expect(matches("^(?i)[a-c]x$", "BX")).toBe(true);
    expect(matches("^((?i)a)b$", "AB")).toBe(false);
    expect(matches("^(?i:ab)c$", "ABc")).toBe(true);
    expect(matches("^(?i:ab)c$", "ABC")).toBe(false);
  });

  it("rewrites other RE2-only syntax", () => {
    expect(matches("^(?P<num>\\d+)$", "42")).toBe(true);
    expect(matches("\\Aa.b\\z", "a.b")).toBe(true);
    expect(matches("^\\Qa.b\\E$", "a.b")).toBe(true);
    expect(matches("^\\Qa.b\\E$", "axb")).toBe(false);
    expect(matches("^[[:alpha:]][[:digit:]_]*$", "x1_2")).toBe(true);
    expect(matches("^(?s)a.b$", "a\nb")).toBe(true);
    expect(matches("^\\x{41}$", "A")).toBe(true);
  });

  it("rejects what RE2 does not accept", () => {
    expect(() => re2ToJs("^(?=a)")).toThrow(PatternError);
    expect(() => re2ToJs("(a)\\1")).toThrow(/back-references/);
    expect(() => re2ToJs("\\pL")).toThrow(/Unicode classes/);
    expect(() => re2ToJs("(?m)^a$")).toThrow(/flag is not supported/);
    expect(patternProblem("[a-")).toMatch(/missing closing \]/);
    expect(patternProblem("a)")).toMatch(/unexpected \)/);
    expect(patternProblem("^ok$")).toBeUndefined();
  });
});
