// Book 2.3 and 11.2: label selectors — the `labelSelector` query parameter's grammar, label key and
// value validation, matching, metav1 LabelSelector conversion, and the canonical string form.

/** Thrown for any selector (label or field) that cannot be parsed or fails validation. */
export class SelectorError extends Error {
  override name = "SelectorError";
}

/**
 * Operators as the API machinery names them: `=`, `==`, `!=`, `in`, `notin`, `exists`, `!`
 * (does not exist), and the integer comparisons `gt` / `lt` (written `>` / `<` in a selector).
 */
export type LabelOperator = "=" | "==" | "!=" | "in" | "notin" | "exists" | "!" | "gt" | "lt";

/** One condition on one label key; a selector is the AND of its requirements. */
export interface LabelRequirement {
  readonly key: string;
  readonly operator: LabelOperator;
  readonly values: readonly string[];
}

/**
 * A parsed label selector. `requirements` is sorted by key. `matchesNothing` is set only for the
 * selector built from a missing (null) metav1 LabelSelector, which selects no object at all.
 */
export interface Selector {
  readonly requirements: readonly LabelRequirement[];
  readonly matchesNothing?: boolean;
}

/** metav1.LabelSelectorRequirement, as it appears in a Deployment's or Service's spec. */
export interface LabelSelectorRequirement {
  key: string;
  operator: "In" | "NotIn" | "Exists" | "DoesNotExist";
  values?: string[];
}

/** metav1.LabelSelector. */
export interface LabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: LabelSelectorRequirement[];
}

export type Labels = Readonly<Record<string, string>>;

// ---------------------------------------------------------------------------------------------
// Validation (the rules of apimachinery's util/validation, reworded).

const NAME_CHARS = "[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?";
const NAME_RE = new RegExp(`^${NAME_CHARS}$`);
const LABEL_VALUE_RE = new RegExp(`^(${NAME_CHARS})?$`);
const DNS1123_LABEL = "[a-z0-9]([-a-z0-9]*[a-z0-9])?";
const DNS1123_SUBDOMAIN_RE = new RegExp(`^${DNS1123_LABEL}(\\.${DNS1123_LABEL})*$`);

export const LABEL_NAME_MAX_LENGTH = 63;
export const LABEL_VALUE_MAX_LENGTH = 63;
export const DNS1123_SUBDOMAIN_MAX_LENGTH = 253;

const NAME_RULE =
  "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character " +
  "(e.g. 'MyName', or 'my.name', or '123-abc')";

/** Problems with `value` as a DNS-1123 subdomain (lowercase, dot-separated); empty when valid. */
export function isDNS1123Subdomain(value: string): string[] {
  const errs: string[] = [];
  if (value.length > DNS1123_SUBDOMAIN_MAX_LENGTH) {
    errs.push(`must be no more than ${DNS1123_SUBDOMAIN_MAX_LENGTH} characters`);
  }
  if (!DNS1123_SUBDOMAIN_RE.test(value)) {
    errs.push(
      "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', " +
        "and must start and end with an alphanumeric character (e.g. 'example.com')",
    );
  }
  return errs;
}

/** Problems with `key` as a label key (`[prefix/]name`); empty when valid. */
export function isQualifiedName(key: string): string[] {
  const parts = key.split("/");
  let name: string;
  const errs: string[] = [];
  if (parts.length === 1) {
    name = parts[0]!;
  } else if (parts.length === 2) {
    const prefix = parts[0]!;
    name = parts[1]!;
    if (prefix.length === 0) errs.push("prefix part must be non-empty");
    else for (const e of isDNS1123Subdomain(prefix)) errs.push(`prefix part ${e}`);
  } else {
    return [
      `a qualified name ${NAME_RULE.replace("(e.g.", "with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName',")}`,
    ];
  }
  if (name.length === 0) errs.push("name part must be non-empty");
  else if (name.length > LABEL_NAME_MAX_LENGTH) errs.push(`name part must be no more than ${LABEL_NAME_MAX_LENGTH} characters`);
  if (name.length > 0 && !NAME_RE.test(name)) errs.push(`name part ${NAME_RULE}`);
  return errs;
}

/** Problems with `value` as a label value (may be empty); empty when valid. */
export function isValidLabelValue(value: string): string[] {
  const errs: string[] = [];
  if (value.length > LABEL_VALUE_MAX_LENGTH) errs.push(`must be no more than ${LABEL_VALUE_MAX_LENGTH} characters`);
  if (!LABEL_VALUE_RE.test(value)) {
    errs.push(
      "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', " +
        "and must start and end with an alphanumeric character (e.g. 'MyValue', or 'my_value', or '12345')",
    );
  }
  return errs;
}

const BINARY_OPERATORS = "in, notin, =, ==, !=, gt, lt";

function invalid(path: string, value: unknown, detail: string): string {
  const shown = typeof value === "string" ? JSON.stringify(value) : JSON.stringify(value ?? null);
  return `${path ? `${path}: ` : ""}Invalid value: ${shown}: ${detail}`;
}

/** Several problems read as one message, the way apimachinery aggregates a field error list. */
function aggregate(errs: string[]): string {
  const unique = [...new Set(errs)];
  return unique.length === 1 ? unique[0]! : `[${unique.join(", ")}]`;
}

// Decimal int64, as Go's strconv.ParseInt(s, 10, 64) accepts it.
const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
function parseInt64(s: string): bigint | undefined {
  if (!/^[+-]?[0-9]+$/.test(s)) return undefined;
  const n = BigInt(s);
  return n < INT64_MIN || n > INT64_MAX ? undefined : n;
}

/** Where in the input each part of a requirement came from, for error messages. */
export interface RequirementPaths {
  key: string;
  operator: string;
  values: string;
  value: (index: number, key: string) => string;
}

const DEFAULT_PATHS: RequirementPaths = {
  key: "key",
  operator: "operator",
  values: "values",
  value: (i, key) => `values[${i}][${key}]`,
};

/**
 * Builds one requirement, checking it as the API server does: the key must be a qualified name,
 * `in`/`notin` need at least one value, the equality operators exactly one, `exists`/`!` none, and
 * `gt`/`lt` exactly one integer; every value must be a valid label value. `path` prefixes messages.
 */
export function newRequirement(
  key: string,
  operator: LabelOperator,
  values: readonly string[],
  path: RequirementPaths = DEFAULT_PATHS,
): LabelRequirement {
  const errs: string[] = [];
  const keyErrs = isQualifiedName(key);
  if (keyErrs.length > 0) errs.push(invalid(path.key, key, keyErrs.join("; ")));
  switch (operator) {
    case "in":
    case "notin":
      if (values.length === 0) errs.push(invalid(path.values, values, "for 'in', 'notin' operators, values set can't be empty"));
      break;
    case "=":
    case "==":
    case "!=":
      if (values.length !== 1) errs.push(invalid(path.values, values, "exact-match compatibility requires one single value"));
      break;
    case "exists":
    case "!":
      if (values.length !== 0) errs.push(invalid(path.values, values, "values set must be empty for exists and does not exist"));
      break;
    case "gt":
    case "lt":
      if (values.length !== 1) errs.push(invalid(path.values, values, "for 'Gt', 'Lt' operators, exactly one value is required"));
      values.forEach((v, i) => {
        if (parseInt64(v) === undefined) errs.push(invalid(`${path.values}[${i}]`, v, "for 'Gt', 'Lt' operators, the value must be an integer"));
      });
      break;
    default:
      errs.push(`${path.operator}: Unsupported value: ${JSON.stringify(operator)}: supported values: ${BINARY_OPERATORS}, exists, !`);
  }
  values.forEach((v, i) => {
    const valueErrs = isValidLabelValue(v);
    if (valueErrs.length > 0) errs.push(invalid(path.value(i, key), v, valueErrs.join("; ")));
  });
  if (errs.length > 0) throw new SelectorError(aggregate(errs));
  return { key, operator, values: [...values] };
}

function byKey(a: LabelRequirement, b: LabelRequirement): number {
  return a.key < b.key ? -1 : a.key > b.key ? 1 : 0;
}

// ---------------------------------------------------------------------------------------------
// Lexer. Keys and values are runs of anything but whitespace and the special symbols; `in` and
// `notin` are keywords only where an operator may stand (elsewhere they are plain identifiers).

type Tok =
  | "end"
  | "ident"
  | "in"
  | "notin"
  | "("
  | ")"
  | ","
  | "!"
  | "="
  | "=="
  | "!="
  | ">"
  | "<";

interface Token {
  tok: Tok;
  text: string;
}

const SPECIAL = new Set(["=", "!", "(", ")", ",", ">", "<"]);
const SYMBOLS = new Set(["(", ")", ",", "!", "=", "==", "!=", ">", "<"]);
const isSpace = (c: string): boolean => c === " " || c === "\t" || c === "\r" || c === "\n";

function lex(input: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  for (;;) {
    while (i < input.length && isSpace(input[i]!)) i++;
    if (i >= input.length) {
      out.push({ tok: "end", text: "" });
      return out;
    }
    if (SPECIAL.has(input[i]!)) {
      // Longest symbol wins: `!=` over `!`, `==` over `=`; `=(` is `=` then `(`.
      let sym = input[i]!;
      i++;
      if (i < input.length && SYMBOLS.has(sym + input[i]!)) sym += input[i++]!;
      out.push({ tok: sym as Tok, text: sym });
      continue;
    }
    const start = i;
    while (i < input.length && !SPECIAL.has(input[i]!) && !isSpace(input[i]!)) i++;
    const word = input.slice(start, i);
    out.push({ tok: word === "in" || word === "notin" ? word : "ident", text: word });
  }
}

// ---------------------------------------------------------------------------------------------
// Parser.

class Parser {
  private pos = 0;
  constructor(private readonly tokens: Token[]) {}

  /** Peek; in value position the keywords `in`/`notin` read as identifiers. */
  private peek(valueContext = true): Token {
    const t = this.tokens[this.pos]!;
    return valueContext && (t.tok === "in" || t.tok === "notin") ? { tok: "ident", text: t.text } : t;
  }

  private next(valueContext = true): Token {
    const t = this.peek(valueContext);
    if (t.tok !== "end") this.pos++;
    return t;
  }

  parse(): LabelRequirement[] {
    const reqs: LabelRequirement[] = [];
    for (;;) {
      const t = this.peek();
      if (t.tok === "end") return reqs;
      if (t.tok !== "ident" && t.tok !== "!") {
        throw new SelectorError(`found '${t.text}', expected: !, identifier, or 'end of string'`);
      }
      reqs.push(this.requirement());
      const after = this.next();
      if (after.tok === "end") return reqs;
      if (after.tok !== ",") throw new SelectorError(`found '${after.text}', expected: ',' or 'end of string'`);
      const following = this.peek();
      if (following.tok !== "ident" && following.tok !== "!") {
        throw new SelectorError(`found '${following.text}', expected: identifier after ','`);
      }
    }
  }

  private requirement(): LabelRequirement {
    try {
      return this.requirementInner();
    } catch (e) {
      if (e instanceof SelectorError) throw new SelectorError(`unable to parse requirement: ${e.message}`);
      throw e;
    }
  }

  private requirementInner(): LabelRequirement {
    let t = this.next();
    const negated = t.tok === "!";
    if (negated) t = this.next();
    if (t.tok !== "ident") throw new SelectorError(`found '${t.text}', expected: identifier`);
    const key = t.text;
    const keyErrs = isQualifiedName(key);
    if (keyErrs.length > 0) throw new SelectorError(invalid("key", key, keyErrs.join("; ")));
    const la = this.peek().tok;
    if (negated || la === "end" || la === ",") {
      // A bare key means "exists"; `!key` means "does not exist" (anything after it is the
      // caller's problem: it expects ',' or the end).
      return newRequirement(key, negated ? "!" : "exists", []);
    }
    const op = this.next(false);
    let operator: LabelOperator;
    switch (op.tok) {
      case "in":
      case "notin":
      case "=":
      case "==":
      case "!=":
        operator = op.tok;
        break;
      case ">":
        operator = "gt";
        break;
      case "<":
        operator = "lt";
        break;
      default:
        throw new SelectorError(`found '${op.text}', expected: ${BINARY_OPERATORS}`);
    }
    const values = operator === "in" || operator === "notin" ? this.valueSet() : this.exactValue();
    return newRequirement(key, operator, values);
  }

  /** `( v1, v2, ... )` — empty entries are the empty value; the result is sorted and deduplicated. */
  private valueSet(): string[] {
    const open = this.next();
    if (open.tok !== "(") throw new SelectorError(`found '${open.text}' expected: '('`);
    const set = new Set<string>();
    const first = this.peek();
    if (first.tok === ")") {
      this.next();
      set.add("");
    } else if (first.tok === "ident" || first.tok === ",") {
      for (;;) {
        const t = this.next();
        if (t.tok === "ident") {
          set.add(t.text);
          const la = this.peek();
          if (la.tok === ")") break;
          if (la.tok !== ",") throw new SelectorError(`found '${la.text}', expected: ',' or ')'`);
        } else if (t.tok === ",") {
          if (set.size === 0) set.add(""); // leading comma: "(,a)"
          const la = this.peek();
          if (la.tok === ")") {
            set.add(""); // trailing comma: "(a,)"
            break;
          }
          if (la.tok === ",") {
            this.next();
            set.add(""); // doubled comma: "(a,,b)"
          }
        } else {
          throw new SelectorError(`found '${t.text}', expected: ',', or identifier`);
        }
      }
      this.next(); // the ")" seen above
    } else {
      throw new SelectorError(`found '${first.text}', expected: ',', ')' or identifier`);
    }
    return [...set].sort();
  }

  /** The single value after `=`, `==`, `!=`, `>` or `<`; nothing at all means the empty value. */
  private exactValue(): string[] {
    const la = this.peek();
    if (la.tok === "end" || la.tok === ",") return [""];
    const t = this.next();
    if (t.tok !== "ident") throw new SelectorError(`found '${t.text}', expected: identifier`);
    return [t.text];
  }
}

// ---------------------------------------------------------------------------------------------
// Public API.

/** The selector that matches every object (what an empty `labelSelector` means). */
export function everything(): Selector {
  return { requirements: [] };
}

/** The selector that matches no object (a null metav1 LabelSelector). */
export function nothing(): Selector {
  return { requirements: [], matchesNothing: true };
}

/** True when the selector does not restrict anything. */
export function isEverything(selector: Selector): boolean {
  return !selector.matchesNothing && selector.requirements.length === 0;
}

/**
 * Parses a `labelSelector` string, e.g. `app=web,tier in (fe,be),!canary`. Grammar:
 *
 *   selector    := requirement ( "," requirement )*   (or nothing at all)
 *   requirement := ["!"] KEY [ ("in"|"notin") "(" VALUE ("," VALUE)* ")" | ("="|"=="|"!="|">"|"<") VALUE ]
 *
 * Whitespace (space, tab, CR, LF) may separate any two tokens and is needed only between a key
 * and `in`/`notin`. Requirements come back sorted by key. Throws SelectorError.
 */
export function parseSelector(input: string): Selector {
  const reqs = new Parser(lex(input)).parse();
  return { requirements: reqs.sort(byKey) };
}

/** A requirement's test against one object's labels (absent keys satisfy `notin`, `!=` and `!`). */
export function requirementMatches(req: LabelRequirement, labels: Labels | undefined): boolean {
  const has = labels !== undefined && Object.hasOwn(labels, req.key);
  const value = has ? labels[req.key]! : undefined;
  switch (req.operator) {
    case "=":
    case "==":
    case "in":
      return has && req.values.includes(value!);
    case "!=":
    case "notin":
      return !has || !req.values.includes(value!);
    case "exists":
      return has;
    case "!":
      return !has;
    case "gt":
    case "lt": {
      if (!has || req.values.length !== 1) return false;
      const actual = parseInt64(value!);
      const bound = parseInt64(req.values[0]!);
      if (actual === undefined || bound === undefined) return false;
      return req.operator === "gt" ? actual > bound : actual < bound;
    }
    default:
      return false;
  }
}

/** Whether an object with these labels is selected: every requirement must hold. */
export function matches(selector: Selector, labels: Labels | undefined): boolean {
  if (selector.matchesNothing) return false;
  return selector.requirements.every((r) => requirementMatches(r, labels));
}

function formatRequirement(req: LabelRequirement): string {
  const vals = req.values.length === 1 ? req.values[0]! : [...req.values].sort().join(",");
  switch (req.operator) {
    case "exists":
      return req.key;
    case "!":
      return `!${req.key}`;
    case "in":
    case "notin":
      return `${req.key} ${req.operator} (${vals})`;
    case "gt":
      return `${req.key}>${vals}`;
    case "lt":
      return `${req.key}<${vals}`;
    default:
      return `${req.key}${req.operator}${vals}`;
  }
}

/**
 * The canonical string: requirements in key order, set values sorted, `in`/`notin` written as
 * `key in (a,b)`. Parsing the result gives an equal selector. Both everything and nothing are "".
 */
export function formatSelector(selector: Selector): string {
  return [...selector.requirements].sort(byKey).map(formatRequirement).join(",");
}

/** The selector `k1=v1,k2=v2,...` for a label set (validated); an empty set selects everything. */
export function selectorFromSet(labels: Labels): Selector {
  const reqs = Object.keys(labels).map((k) =>
    newRequirement(k, "=", [labels[k]!], { key: "labels", operator: "operator", values: `labels[${k}]`, value: () => `labels[${k}]` }),
  );
  return { requirements: reqs.sort(byKey) };
}

const EXPRESSION_OPERATORS: Record<string, LabelOperator> = {
  In: "in",
  NotIn: "notin",
  Exists: "exists",
  DoesNotExist: "!",
};

/**
 * Converts a metav1 LabelSelector (from a controller's spec) to a Selector, validating it.
 * null/undefined selects nothing; `{}` selects everything. Throws SelectorError.
 */
export function selectorFromLabelSelector(ls: LabelSelector | null | undefined): Selector {
  if (ls === null || ls === undefined) return nothing();
  const reqs: LabelRequirement[] = [];
  for (const [k, v] of Object.entries(ls.matchLabels ?? {})) {
    reqs.push(newRequirement(k, "=", [v], { key: "matchLabels", operator: "operator", values: `matchLabels[${k}]`, value: () => `matchLabels[${k}]` }));
  }
  (ls.matchExpressions ?? []).forEach((expr, i) => {
    const operator = Object.hasOwn(EXPRESSION_OPERATORS, expr.operator) ? EXPRESSION_OPERATORS[expr.operator] : undefined;
    if (operator === undefined) {
      throw new SelectorError(`${JSON.stringify(expr.operator)} is not a valid label selector operator`);
    }
    const path = `matchExpressions[${i}]`;
    reqs.push(
      newRequirement(expr.key, operator, expr.values ?? [], {
        key: `${path}.key`,
        operator: `${path}.operator`,
        values: `${path}.values`,
        value: (j) => `${path}.values[${j}]`,
      }),
    );
  });
  return { requirements: reqs.sort(byKey) };
}

/**
 * If the selector pins `key` to one value (`key=v`, `key==v` or `key in (v)`), that value; else
 * undefined. Lets a server narrow a list by an index before matching.
 */
export function requiresExactMatch(selector: Selector, key: string): string | undefined {
  const req = selector.requirements.find((r) => r.key === key);
  if (!req) return undefined;
  if ((req.operator === "=" || req.operator === "==" || req.operator === "in") && req.values.length === 1) {
    return req.values[0];
  }
  return undefined;
}
