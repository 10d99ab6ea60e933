// Book 11.2: the small JSONPath dialect CRDs use for printer columns, scale paths and selectable
// fields (`.spec.replicas`, `.status.conditions[?(@.type=="Ready")].status`). Pure parsing and lookup.

/** One step of a parsed path. */
export type JsonPathStep =
  | { kind: "field"; name: string }
  | { kind: "wildcard" }
  | { kind: "index"; index: number }
  | { kind: "slice"; start?: number; end?: number }
  | { kind: "filter"; path: JsonPathStep[]; op?: FilterOp; value?: Literal };

export type FilterOp = "==" | "!=" | "<" | "<=" | ">" | ">=";
type Literal = string | number | boolean | null;

export interface JsonPath {
  /** The text as written. */
  source: string;
  steps: JsonPathStep[];
}

/** A path we cannot parse, or one using JSONPath features outside the supported subset. */
export class JsonPathError extends Error {
  constructor(
    readonly expression: string,
    detail: string,
  ) {
    super(`invalid JSONPath ${JSON.stringify(expression)}: ${detail}`);
    this.name = "JsonPathError";
  }
}

const OPS: FilterOp[] = ["==", "!=", "<=", ">=", "<", ">"];

class Parser {
  pos = 0;
  constructor(
    readonly text: string,
    readonly whole: string,
  ) {}

  fail(detail: string): never {
    throw new JsonPathError(this.whole, detail);
  }

  get done(): boolean {
    return this.pos >= this.text.length;
  }

  peek(offset = 0): string {
    return this.text[this.pos + offset] ?? "";
  }

  /** Steps until the end of the text (or, inside a filter, until a stop character). */
  steps(stop: (c: string) => boolean = () => false): JsonPathStep[] {
    const steps: JsonPathStep[] = [];
    while (!this.done && !stop(this.peek())) {
      const c = this.peek();
      if (c === ".") {
        if (this.peek(1) === ".") this.fail("recursive descent (..) is not supported");
        this.pos++;
        if (this.done || stop(this.peek())) {
          // "." alone is the root; a trailing dot after a name is a mistake.
          if (steps.length > 0) this.fail("a path may not end with '.'");
          break;
        }
        if (this.peek() === "*") {
          this.pos++;
          steps.push({ kind: "wildcard" });
        } else if (this.peek() === "[") {
          continue;
        } else {
          steps.push({ kind: "field", name: this.name(stop) });
        }
      } else if (c === "[") {
        steps.push(this.bracket());
      } else {
        this.fail(`unexpected ${JSON.stringify(c)} at position ${this.pos}; steps start with '.' or '['`);
      }
    }
    return steps;
  }

  /** A dotted name: everything up to the next unescaped '.' or '['; `\.` keeps a literal dot. */
  name(stop: (c: string) => boolean): string {
    let name = "";
    while (!this.done) {
      const c = this.peek();
      if (c === "\\") {
        const next = this.peek(1);
        if (next === "") this.fail("a path may not end with '\\'");
        name += next;
        this.pos += 2;
        continue;
      }
      if (c === "." || c === "[" || stop(c)) break;
      if (c === "(" || c === ")" || c === "{" || c === "}" || c === "@" || c === "$" || c === "]") {
        this.fail(`unexpected ${JSON.stringify(c)} in a field name at position ${this.pos}`);
      }
      name += c;
      this.pos++;
    }
    if (name === "") this.fail(`empty field name at position ${this.pos}`);
    if (/\(\)$/.test(name)) this.fail("functions are not supported");
    return name;
  }

  bracket(): JsonPathStep {
    const start = this.pos;
    this.pos++; // [
    let step: JsonPathStep;
    const c = this.peek();
    if (c === "*") {
      this.pos++;
      step = { kind: "wildcard" };
    } else if (c === "'" || c === '"') {
      step = { kind: "field", name: this.quoted() };
    } else if (c === "?") {
      step = this.filter();
    } else {
      const m = /^(-?\d*)(?::(-?\d*))?(?::(-?\d*))?/.exec(this.text.slice(this.pos))!;
      const unsupported = `unsupported subscript at position ${start}; use [N], [start:end], [*], ['key'] or [?(@.field=="value")]`;
      if (m[1] === "" && m[2] === undefined) this.fail(unsupported);
      if (m[3] !== undefined) this.fail("slice steps ([a:b:c]) are not supported");
      this.pos += m[0].length;
      if (!this.done && this.peek() !== "]") this.fail(unsupported);
      if (m[2] === undefined) step = { kind: "index", index: Number(m[1]) };
      else {
        step = { kind: "slice" };
        if (m[1] !== "") step.start = Number(m[1]);
        if (m[2] !== "") step.end = Number(m[2]);
      }
    }
    if (this.peek() !== "]") this.fail(`missing ']' for the subscript at position ${start}`);
    this.pos++;
    return step;
  }

  quoted(): string {
    const quote = this.peek();
    this.pos++;
    let s = "";
    while (!this.done && this.peek() !== quote) {
      if (this.peek() === "\\" && this.pos + 1 < this.text.length) {
        s += this.peek(1);
        this.pos += 2;
      } else {
        s += this.peek();
        this.pos++;
      }
    }
    if (this.done) this.fail("unterminated string");
    this.pos++;
    return s;
  }

  filter(): JsonPathStep {
    this.pos++; // ?
    if (this.peek() !== "(") this.fail("a filter must look like [?(@.field==value)]");
    this.pos++;
    this.space();
    if (this.peek() !== "@") this.fail("a filter must start with '@'");
    this.pos++;
    const isStop = (c: string): boolean => c === ")" || c === " " || c === "=" || c === "!" || c === "<" || c === ">" || c === "&" || c === "|";
    const path = this.steps(isStop);
    this.space();
    const step: JsonPathStep = { kind: "filter", path };
    if (this.peek() === "&" || this.peek() === "|") this.fail("&& and || in filters are not supported");
    if (this.peek() !== ")") {
      const op = OPS.find((o) => this.text.startsWith(o, this.pos));
      if (!op) this.fail(`unsupported filter operator at position ${this.pos}; use ==, !=, <, <=, > or >=`);
      this.pos += op.length;
      this.space();
      step.op = op;
      step.value = this.literal();
      this.space();
    }
    if (this.peek() === "&" || this.peek() === "|") this.fail("&& and || in filters are not supported");
    if (this.peek() !== ")") this.fail(`missing ')' to close the filter at position ${this.pos}`);
    this.pos++;
    return step;
  }

  literal(): Literal {
    const c = this.peek();
    if (c === "'" || c === '"') return this.quoted();
    const m = /^(-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?|true|false|null)/.exec(this.text.slice(this.pos));
    if (!m) this.fail(`a filter compares with a quoted string, a number, true, false or null (position ${this.pos})`);
    this.pos += m[0].length;
    if (m[0] === "true") return true;
    if (m[0] === "false") return false;
    if (m[0] === "null") return null;
    return Number(m[0]);
  }

  space(): void {
    while (this.peek() === " ") this.pos++;
  }
}

/**
 * Parse a JSONPath of the subset printer columns use. The braces kubectl wants (`{.spec.x}`) and a
 * leading `$` are optional. Throws JsonPathError for anything else (templates, `..`, functions).
 */
export function parseJsonPath(expression: string): JsonPath {
  let text = expression.trim();
  if (text === "") throw new JsonPathError(expression, "must not be empty");
  if (text.startsWith("{")) {
    if (!text.endsWith("}")) throw new JsonPathError(expression, "unbalanced '{'");
    text = text.slice(1, -1).trim();
  }
  if (text.includes("{") || text.includes("}")) {
    throw new JsonPathError(expression, "templates (several {...} blocks, range, end) are not supported");
  }
  if (text.startsWith("$")) text = text.slice(1);
  if (text !== "" && text[0] !== "." && text[0] !== "[") {
    throw new JsonPathError(expression, "must start with '.' (e.g. .spec.replicas)");
  }
  const parser = new Parser(text, expression);
  return { source: expression, steps: parser.steps() };
}

/** The reason `expression` is not a supported JSONPath, or undefined when it is. */
export function jsonPathProblem(expression: string): string | undefined {
  try {
    parseJsonPath(expression);
    return undefined;
  } catch (err) {
    return err instanceof JsonPathError ? err.message : String(err);
  }
}

/** True when the path is only `.a.b.c` field steps (what scale and selectable-field paths allow). */
export function isFieldPath(path: JsonPath): boolean {
  return path.steps.length > 0 && path.steps.every((s) => s.kind === "field");
}

/** The field names of a path made only of field steps, e.g. ".spec.replicas" → ["spec", "replicas"]. */
export function fieldNames(path: JsonPath): string[] {
  return path.steps.map((s) => {
    if (s.kind !== "field") throw new JsonPathError(path.source, "only .field steps are allowed here");
    return s.name;
  });
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

function compare(a: unknown, op: FilterOp, b: Literal): boolean {
  if (op === "==") return a === b;
  if (op === "!=") return a !== b;
  if (typeof a === "number" && typeof b === "number") {
    return op === "<" ? a < b : op === "<=" ? a <= b : op === ">" ? a > b : a >= b;
  }
  if (typeof a === "string" && typeof b === "string") {
    return op === "<" ? a < b : op === "<=" ? a <= b : op === ">" ? a > b : a >= b;
  }
  return false;
}

function applyStep(values: unknown[], step: JsonPathStep): unknown[] {
  const out: unknown[] = [];
  for (const v of values) {
    switch (step.kind) {
      case "field":
        if (isRecord(v) && Object.hasOwn(v, step.name)) out.push(v[step.name]);
        break;
      case "wildcard":
        if (Array.isArray(v)) out.push(...v);
        else if (isRecord(v)) out.push(...Object.values(v));
        break;
      case "index":
        if (Array.isArray(v)) {
          const i = step.index < 0 ? v.length + step.index : step.index;
          if (i >= 0 && i < v.length) out.push(v[i]);
        }
        break;
      case "slice":
        if (Array.isArray(v)) out.push(...v.slice(step.start ?? 0, step.end ?? v.length));
        break;
      case "filter":
        if (Array.isArray(v)) {
          for (const item of v) {
            const found = evaluate(step.path, item);
            if (found.length === 0) continue;
            if (step.op === undefined ? true : compare(found[0], step.op, step.value ?? null)) out.push(item);
          }
        }
        break;
    }
  }
  return out;
}

function evaluate(steps: readonly JsonPathStep[], data: unknown): unknown[] {
  let values: unknown[] = [data];
  for (const step of steps) {
    values = applyStep(values, step);
    if (values.length === 0) break;
  }
  return values;
}

/** Every value the path selects in `data`, in document order; missing keys select nothing. */
export function findAll(path: JsonPath | string, data: unknown): unknown[] {
  const p = typeof path === "string" ? parseJsonPath(path) : path;
  return evaluate(p.steps, data);
}

/** The first value the path selects, with whether anything was found at all. */
export function findFirst(path: JsonPath | string, data: unknown): { found: boolean; value: unknown } {
  const all = findAll(path, data);
  return all.length === 0 ? { found: false, value: undefined } : { found: true, value: all[0] };
}

/**
 * The text kubectl's JSONPath printer would show for one value: strings as they are, objects and
 * arrays as JSON, everything else in its JSON form.
 */
export function formatValue(value: unknown): string {
  if (typeof value === "string") return value;
  if (value === undefined) return "";
  return JSON.stringify(value) ?? String(value);
}
