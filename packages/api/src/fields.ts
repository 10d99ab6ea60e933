// Book 11.2: field selectors — the `fieldSelector` query parameter (`spec.nodeName=node-1,
// status.phase!=Running`), its backslash escapes, matching, and checking the field names used.
import { SelectorError } from "./labels.js";

export type FieldOperator = "=" | "==" | "!=";

/** One term: `field=value` / `field==value` (equal) or `field!=value` (not equal). */
export interface FieldRequirement {
  readonly field: string;
  readonly operator: FieldOperator;
  /** The value with escapes removed. */
  readonly value: string;
}

/** A parsed field selector: the AND of its terms, in the order of their sorted source text. */
export interface FieldSelector {
  readonly requirements: readonly FieldRequirement[];
}

/** Escapes `\`, `,` and `=` in a value so it can be written into a field selector. */
export function escapeFieldValue(value: string): string {
  return value.replace(/[\\,=]/g, (c) => `\\${c}`);
}

/**
 * Removes the escapes from a term's value. Only `\\`, `\,` and `\=` are escapes; any other
 * backslash sequence, a trailing lone backslash, or a bare `,` or `=` is an error.
 */
export function unescapeFieldValue(value: string): string {
  let out = "";
  for (let i = 0; i < value.length; i++) {
    const c = value[i]!;
    if (c === "\\") {
      if (i + 1 >= value.length) throw new SelectorError("invalid field selector: invalid escape sequence: \\");
      const next = value[++i]!;
      if (next !== "\\" && next !== "," && next !== "=") {
        throw new SelectorError(`invalid field selector: invalid escape sequence: \\${next}`);
      }
      out += next;
    } else if (c === "," || c === "=") {
      throw new SelectorError(`invalid field selector: unescaped character in value: '${c}'`);
    } else {
      out += c;
    }
  }
  return out;
}

/** Splits on commas that are not escaped; escapes stay in the pieces. */
function splitTerms(input: string): string[] {
  if (input === "") return [];
  const terms: string[] = [];
  let start = 0;
  for (let i = 0; i < input.length; i++) {
    if (input[i] === "\\") i++; // the next character is escaped, whatever it is
    else if (input[i] === ",") {
      terms.push(input.slice(start, i));
      start = i + 1;
    }
  }
  terms.push(input.slice(start));
  return terms;
}

/** The first operator in the term, scanning left to right; `!=` and `==` beat `=` at one spot. */
function splitTerm(term: string): [string, FieldOperator, string] | undefined {
  for (let i = 0; i < term.length; i++) {
    for (const op of ["!=", "==", "="] as const) {
      if (term.startsWith(op, i)) return [term.slice(0, i), op, term.slice(i + op.length)];
    }
  }
  return undefined;
}

/**
 * Parses a `fieldSelector` string. Terms are comma-separated (empty terms are skipped); each is
 * `field=value`, `field==value` or `field!=value`. Nothing is trimmed: whitespace is part of the
 * field name or value. In the value, `\,` `\=` and `\\` stand for `,` `=` and `\`. The field name
 * is not unescaped or validated here; see assertSupportedFields. Terms come back sorted by their
 * source text. Throws SelectorError.
 */
export function parseFieldSelector(input: string): FieldSelector {
  const requirements: FieldRequirement[] = [];
  const terms = splitTerms(input).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  for (const term of terms) {
    if (term === "") continue;
    const split = splitTerm(term);
    if (!split) throw new SelectorError(`invalid selector: '${input}'; can't understand '${term}'`);
    const [field, operator, raw] = split;
    requirements.push({ field, operator, value: unescapeFieldValue(raw) });
  }
  return { requirements };
}

/** Whether an object's selectable fields satisfy every term. A field that is absent reads as "". */
export function matchesFields(selector: FieldSelector, fields: Readonly<Record<string, string>>): boolean {
  return selector.requirements.every((r) => {
    const actual = Object.hasOwn(fields, r.field) ? fields[r.field]! : "";
    return r.operator === "!=" ? actual !== r.value : actual === r.value;
  });
}

/** The canonical string: terms in order, `==` written as `=`, values escaped. Empty selects all. */
export function formatFieldSelector(selector: FieldSelector): string {
  return selector.requirements
    .map((r) => `${r.field}${r.operator === "!=" ? "!=" : "="}${escapeFieldValue(r.value)}`)
    .join(",");
}

/** True when the selector has no terms and so selects every object. */
export function isEmptyFieldSelector(selector: FieldSelector): boolean {
  return selector.requirements.length === 0;
}

/** The distinct field names the selector uses, sorted. */
export function fieldSelectorFields(selector: FieldSelector): string[] {
  return [...new Set(selector.requirements.map((r) => r.field))].sort();
}

/**
 * Throws SelectorError naming the first field the resource cannot be selected by, e.g.
 * `field label not supported: spec.foo (pods supports: metadata.name, metadata.namespace)`.
 */
export function assertSupportedFields(selector: FieldSelector, supported: Iterable<string>, resource?: string): void {
  const allowed = new Set(supported);
  for (const field of fieldSelectorFields(selector)) {
    if (!allowed.has(field)) {
      const list = [...allowed].sort().join(", ");
      throw new SelectorError(
        `field label not supported: ${field}${resource ? ` (${resource} supports: ${list || "none"})` : list ? ` (supported: ${list})` : ""}`,
      );
    }
  }
}

/**
 * If the selector pins `field` to one value with `=`/`==`, that value; else undefined. Lets a
 * server answer `metadata.name=x` from a single key instead of a scan.
 */
export function requiresExactFieldMatch(selector: FieldSelector, field: string): string | undefined {
  for (const r of selector.requirements) {
    if (r.field === field && r.operator !== "!=") return r.value;
  }
  return undefined;
}
