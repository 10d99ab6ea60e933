// Book 11.2: field validation (fieldValidation=Strict|Warn) and pruning — finding fields a schema does
// not know, duplicate keys in a JSON body, and dropping unknown fields from custom resources.
import { badRequest } from "@corekube/api";
import { META } from "./dsl.js";
import type { Schema, SchemaResolver } from "./types.js";

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

function join(path: string, key: string): string {
  return path === "" ? key : `${path}.${key}`;
}

/** Fields Kubernetes always accepts at the top of an object and of an embedded resource. */
const TYPE_META = new Set(["apiVersion", "kind"]);

interface Walk {
  resolver: SchemaResolver;
  found: string[];
  /** Drop unknown fields while walking. */
  prune: boolean;
}

/** What the schema says about a key of an object: walk it with this schema, allow it blindly, or reject it. */
function childSchema(s: Schema, key: string, objectRoot: boolean, w: Walk): Schema | "any" | "unknown" {
  // At the top of an object, type and object metadata follow their own rules whatever the schema
  // says (CRD schemas often declare `metadata: {type: object}`, which must not prune the name).
  if (objectRoot) {
    if (TYPE_META.has(key)) return "any";
    if (key === "metadata") return w.resolver.get(META + "ObjectMeta") ?? "any";
  }
  const prop = s.properties?.[key];
  if (prop !== undefined) return prop;
  const ap = s.additionalProperties;
  if (typeof ap === "object") return ap;
  if (ap === true || s["x-kubernetes-preserve-unknown-fields"] === true) return "any";
  return "unknown";
}

/** Whether the schema node describes an object whose keys can be judged. */
function judgesKeys(s: Schema): boolean {
  if (s.properties !== undefined || s.additionalProperties !== undefined) return true;
  // An object type with nothing declared and no preserve flag allows no fields (structural schemas).
  return s.type === "object" && s["x-kubernetes-preserve-unknown-fields"] !== true;
}

function walk(value: unknown, node: Schema | undefined, path: string, objectRoot: boolean, w: Walk): void {
  const s = w.resolver.resolve(node);
  if (s === undefined || value === null || typeof value !== "object") return;
  if (s["x-kubernetes-int-or-string"] === true) return;
  if (Array.isArray(value)) {
    if (s.items === undefined) return;
    for (let i = 0; i < value.length; i++) walk(value[i], s.items, `${path}[${i}]`, false, w);
    return;
  }
  const embedded = s["x-kubernetes-embedded-resource"] === true;
  const atRoot = objectRoot || embedded;
  if (!judgesKeys(s) && !atRoot) return;
  for (const key of Object.keys(value)) {
    const child = childSchema(s, key, atRoot, w);
    const p = join(path, key);
    if (child === "unknown") {
      w.found.push(p);
      if (w.prune) delete (value as Record<string, unknown>)[key];
    } else if (child !== "any") {
      walk((value as Record<string, unknown>)[key], child, p, false, w);
    }
  }
}

/**
 * Paths of the fields in `obj` that `rootSchema` does not declare, e.g.
 * `spec.template.spec.containers[0].foo`, in document order. apiVersion, kind and metadata are
 * always allowed at the top (and in embedded resources); metadata is checked against ObjectMeta.
 * additionalProperties, x-kubernetes-preserve-unknown-fields and int-or-string are honoured.
 */
export function unknownFields(obj: unknown, rootSchema: Schema, resolver: SchemaResolver): string[] {
  const w: Walk = { resolver, found: [], prune: false };
  walk(obj, rootSchema, "", true, w);
  return w.found;
}

/**
 * Removes, in place, every field `rootSchema` does not declare (what the API server does to custom
 * resources) and returns the removed paths.
 */
export function prune(obj: unknown, rootSchema: Schema, resolver: SchemaResolver): string[] {
  const w: Walk = { resolver, found: [], prune: true };
  walk(obj, rootSchema, "", true, w);
  return w.found;
}

/** The text Kubernetes uses for each kind of finding, for warnings and Strict errors. */
export function unknownFieldMessage(path: string): string {
  return `unknown field ${JSON.stringify(path)}`;
}

export function duplicateFieldMessage(path: string): string {
  return `duplicate field ${JSON.stringify(path)}`;
}

// ---------------------------------------------------------------------------------------------
// A JSON parser that notices duplicate keys (JSON.parse silently keeps the last one).

/** Deeper nesting than this is refused rather than risking the stack. */
export const MAX_JSON_DEPTH = 500;

class Parser {
  private pos = 0;
  readonly duplicates: string[] = [];

  constructor(private readonly text: string) {}

  parse(): Json {
    this.space();
    const v = this.value("", 0);
    this.space();
    if (this.pos < this.text.length) this.fail("invalid character after top-level value");
    return v;
  }

  private fail(what: string): never {
    let line = 1;
    let col = 1;
    for (let i = 0; i < this.pos && i < this.text.length; i++) {
      if (this.text.charCodeAt(i) === 10) {
        line++;
        col = 1;
      } else col++;
    }
    const at = this.pos < this.text.length ? `${JSON.stringify(this.text[this.pos])} ` : "";
    throw badRequest(`json parse error: ${what} (${at}at line ${line}, column ${col})`);
  }

  private space(): void {
    const t = this.text;
    while (this.pos < t.length) {
      const c = t.charCodeAt(this.pos);
      if (c === 32 || c === 9 || c === 10 || c === 13) this.pos++;
      else break;
    }
  }

  private value(path: string, depth: number): Json {
    if (depth > MAX_JSON_DEPTH) this.fail(`nesting deeper than ${MAX_JSON_DEPTH} levels`);
    if (this.pos >= this.text.length) this.fail("unexpected end of JSON input");
    const c = this.text[this.pos];
    switch (c) {
      case "{":
        return this.object(path, depth);
      case "[":
        return this.array(path, depth);
      case '"':
        return this.string();
      case "t":
        return this.literal("true", true);
      case "f":
        return this.literal("false", false);
      case "n":
        return this.literal("null", null);
      default:
        if (c === "-" || (c !== undefined && c >= "0" && c <= "9")) return this.number();
        return this.fail("invalid character looking for beginning of value");
    }
  }

  private literal<T extends Json>(word: string, v: T): T {
    if (this.text.startsWith(word, this.pos)) {
      this.pos += word.length;
      return v;
    }
    return this.fail(`invalid literal, expected ${word}`);
  }

  private number(): number {
    const m = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
    m.lastIndex = this.pos;
    const found = m.exec(this.text);
    if (found === null) return this.fail("invalid number");
    this.pos += found[0].length;
    return Number(found[0]);
  }

  private string(): string {
    const t = this.text;
    this.pos++; // opening quote
    let out = "";
    let start = this.pos;
    for (;;) {
      if (this.pos >= t.length) this.fail("unexpected end of JSON input in string");
      const c = t.charCodeAt(this.pos);
      if (c === 34) {
        out += t.slice(start, this.pos);
        this.pos++;
        return out;
      }
      if (c < 32) this.fail("invalid control character in string");
      if (c !== 92) {
        this.pos++;
        continue;
      }
      out += t.slice(start, this.pos);
      const e = t[this.pos + 1];
      this.pos += 2;
      switch (e) {
        case '"':
          out += '"';
          break;
        case "\\":
          out += "\\";
          break;
        case "/":
          out += "/";
          break;
        case "b":
          out += "\b";
          break;
        case "f":
          out += "\f";
          break;
        case "n":
          out += "\n";
          break;
        case "r":
          out += "\r";
          break;
        case "t":
          out += "\t";
          break;
        case "u": {
          const hex = t.slice(this.pos, this.pos + 4);
          if (!/^[0-9a-fA-F]{4}$/.test(hex)) this.fail("invalid \\u escape in string");
          out += String.fromCharCode(parseInt(hex, 16));
          this.pos += 4;
          break;
        }
        default:
          this.pos--;
          this.fail("invalid escape in string");
      }
      start = this.pos;
    }
  }

  private array(path: string, depth: number): Json[] {
    this.pos++;
    const out: Json[] = [];
    this.space();
    if (this.text[this.pos] === "]") {
      this.pos++;
      return out;
    }
    for (;;) {
      this.space();
      out.push(this.value(`${path}[${out.length}]`, depth + 1));
      this.space();
      const c = this.text[this.pos];
      if (c === ",") {
        this.pos++;
        continue;
      }
      if (c === "]") {
        this.pos++;
        return out;
      }
      if (c === undefined) this.fail("unexpected end of JSON input");
      this.fail("invalid character after array element");
    }
  }

  private object(path: string, depth: number): { [key: string]: Json } {
    this.pos++;
    const out: { [key: string]: Json } = {};
    this.space();
    if (this.text[this.pos] === "}") {
      this.pos++;
      return out;
    }
    for (;;) {
      this.space();
      if (this.text[this.pos] !== '"') {
        if (this.pos >= this.text.length) this.fail("unexpected end of JSON input");
        this.fail("invalid character looking for beginning of object key string");
      }
      const key = this.string();
      this.space();
      if (this.text[this.pos] !== ":") {
        if (this.pos >= this.text.length) this.fail("unexpected end of JSON input");
        this.fail("invalid character after object key");
      }
      this.pos++;
      this.space();
      const p = join(path, key);
      const v = this.value(p, depth + 1);
      if (Object.prototype.hasOwnProperty.call(out, key)) this.duplicates.push(p);
      // Last one wins, as in Go's decoder; define the property so "__proto__" stays a plain key.
      Object.defineProperty(out, key, { value: v, enumerable: true, writable: true, configurable: true });
      this.space();
      const c = this.text[this.pos];
      if (c === ",") {
        this.pos++;
        continue;
      }
      if (c === "}") {
        this.pos++;
        return out;
      }
      if (c === undefined) this.fail("unexpected end of JSON input");
      this.fail("invalid character after object key:value pair");
    }
  }
}

/**
 * Parses a JSON request body like JSON.parse, also listing the paths of keys that appear twice in
 * one object (the last value wins). Malformed JSON throws a 400 BadRequest StatusError that says
 * what is wrong and where.
 */
export function parseJsonStrict(text: string): { value: unknown; duplicateFields: string[] } {
  const p = new Parser(text);
  const value = p.parse();
  return { value, duplicateFields: p.duplicates };
}
