// Book 1.6.1 and 11.2: reading request bodies sent as application/vnd.kubernetes.protobuf (kubectl's
// typed clients do this) into the same JSON objects a JSON body would have given the API server.
import { badRequest, failure, parseQuantity, QuantityParseError, StatusError } from "@corekube/api";
import type { KubeObject } from "../registry/types.js";
import { APIEXT, INT_OR_STRING, META, QUANTITY, RAW_EXTENSION } from "../schema/dsl.js";
import { parseJsonStrict } from "../schema/strict.js";
import type { GroupVersionKind, Schema, SchemaResolver } from "../schema/types.js";
import { formatDuration, formatMicroTime, formatTime } from "./format.js";
import { type FieldDef, isStringList, messageDef, messagesNamed, type ScalarType } from "./table.js";
import {
  concat,
  malformed,
  readDouble,
  readFields,
  readString,
  unpackDoubles,
  unpackVarints,
  WIRE_BYTES,
  WIRE_FIXED64,
  WIRE_VARINT,
  type WireField,
} from "./wire.js";

/** The media type of Kubernetes' protobuf encoding. */
export const PROTOBUF_MEDIA_TYPE = "application/vnd.kubernetes.protobuf";

/** The four bytes ("k8s\0") every Kubernetes protobuf body starts with. */
export const PROTOBUF_MAGIC: readonly number[] = [0x6b, 0x38, 0x73, 0x00];

/** Messages (and embedded envelopes) nested deeper than this are refused. */
export const MAX_PROTOBUF_DEPTH = 128;

/** Whether a Content-Type header names Kubernetes' protobuf encoding (parameters are ignored). */
export function isKubernetesProtobuf(contentType: string | null | undefined): boolean {
  if (typeof contentType !== "string") return false;
  return contentType.split(";")[0]!.trim().toLowerCase() === PROTOBUF_MEDIA_TYPE;
}

const TIME = META + "Time";
const MICRO_TIME = META + "MicroTime";
const DURATION = META + "Duration";
const FIELDS_V1 = META + "FieldsV1";
const APIEXT_JSON = APIEXT + "JSON";
const OR_ARRAY = APIEXT + "JSONSchemaPropsOrArray";
const OR_BOOL = APIEXT + "JSONSchemaPropsOrBool";
const OR_STRING_ARRAY = APIEXT + "JSONSchemaPropsOrStringArray";
const SCHEMA_PROPS = APIEXT + "JSONSchemaProps";

/** Types with a JSON form of their own, decoded by hand rather than from the table. */
const SPECIAL = new Set([
  TIME,
  MICRO_TIME,
  DURATION,
  FIELDS_V1,
  QUANTITY,
  INT_OR_STRING,
  RAW_EXTENSION,
  APIEXT_JSON,
  OR_ARRAY,
  OR_BOOL,
  OR_STRING_ARRAY,
]);

const EMPTY = new Uint8Array(0);
/** A field Go's JSON would leave out. */
const OMIT: unique symbol = Symbol("omit");
type Value = unknown;

const WIRE_NAMES = ["varint", "64-bit", "length-delimited", "group start", "group end", "32-bit"];

function at(path: string): string {
  return path === "" ? "" : ` at ${path}`;
}

function hasMagic(buf: Uint8Array): boolean {
  return buf.length >= 4 && PROTOBUF_MAGIC.every((b, i) => buf[i] === b);
}

/** "apps/v1" → { group: "apps", version: "v1" }; "v1" → the core group. */
function parseApiVersion(apiVersion: string): { group: string; version: string } {
  const parts = apiVersion.split("/");
  if (parts.length === 1) return { group: "", version: parts[0]! };
  if (parts.length === 2 && parts[0] !== "" && parts[1] !== "") return { group: parts[0]!, version: parts[1]! };
  throw badRequest(`unexpected GroupVersion string: ${apiVersion}`);
}

/** obj[key] = value, also for a key like "__proto__" that plain assignment would not store. */
function setKey(obj: Record<string, Value>, key: string, value: Value): void {
  Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
}

function isEmptyScalar(v: Value): boolean {
  return v === "" || v === 0 || v === false;
}

class Decoder {
  constructor(private readonly resolver: SchemaResolver) {}

  /** A "k8s\0" + runtime.Unknown envelope, whose raw bytes are the object named by its typeMeta. */
  envelope(body: Uint8Array, path: string, depth: number): KubeObject {
    if (depth > MAX_PROTOBUF_DEPTH) throw malformed(`nested deeper than ${MAX_PROTOBUF_DEPTH} levels${at(path)}`);
    if (!hasMagic(body)) {
      throw malformed(`missing the "k8s\\x00" prefix of a Kubernetes protobuf envelope${at(path)}`);
    }
    const where = "runtime.Unknown";
    let apiVersion = "";
    let kind = "";
    let raw: Uint8Array = EMPTY;
    let contentEncoding = "";
    let contentType = "";
    for (const w of readFields(body.subarray(4), where)) {
      if (w.number > 4) throw badRequest(`unknown protobuf field ${w.number} in ${where}${at(path)}`);
      const bytes = this.expectBytes(w, where, ["typeMeta", "raw", "contentEncoding", "contentType"][w.number - 1]!);
      if (w.number === 1) {
        for (const t of readFields(bytes, "runtime.TypeMeta")) {
          if (t.number > 2) throw badRequest(`unknown protobuf field ${t.number} in runtime.TypeMeta${at(path)}`);
          const text = readString(this.expectBytes(t, "runtime.TypeMeta", t.number === 1 ? "apiVersion" : "kind"));
          if (t.number === 1) apiVersion = text;
          else kind = text;
        }
      } else if (w.number === 2) raw = bytes;
      else if (w.number === 3) contentEncoding = readString(bytes);
      else contentType = readString(bytes);
    }
    if (contentEncoding !== "") {
      throw badRequest(`unsupported content encoding ${JSON.stringify(contentEncoding)} in a protobuf envelope`);
    }
    if (contentType !== "" && !isKubernetesProtobuf(contentType)) {
      throw badRequest(`unsupported content type ${JSON.stringify(contentType)} in a protobuf envelope`);
    }
    if (kind === "") throw badRequest(`Object 'Kind' is missing in the protobuf body${at(path)}`);
    if (apiVersion === "") throw badRequest(`Object 'apiVersion' is missing in the protobuf body${at(path)}`);
    const gv = parseApiVersion(apiVersion);
    const gvk: GroupVersionKind = { ...gv, kind };
    const schema = this.resolver.forKind(gvk);
    if (schema === undefined) {
      throw badRequest(`no kind ${JSON.stringify(kind)} is registered for version ${JSON.stringify(apiVersion)}`);
    }
    const root = this.rootMessage(gvk, schema);
    if (root === undefined) {
      throw failure(
        415,
        "UnsupportedMediaType",
        `${kind} in ${apiVersion} has no protobuf encoding; send it as application/json`,
      );
    }
    const obj = this.message(raw, root, path, depth + 1);
    return { kind, apiVersion, ...obj } as KubeObject;
  }

  /** The table message whose schema is the kind's root. */
  private rootMessage(gvk: GroupVersionKind, schema: Schema): string | undefined {
    const candidates = messagesNamed(gvk.kind);
    const same = candidates.find((c) => this.resolver.get(c) === schema);
    if (same !== undefined) return same;
    return candidates.find((c) =>
      (this.resolver.get(c)?.["x-kubernetes-group-version-kind"] ?? []).some(
        (g) => g.group === gvk.group && g.version === gvk.version && g.kind === gvk.kind,
      ),
    );
  }

  private expectBytes(w: WireField, where: string, name: string): Uint8Array {
    if (w.wireType !== WIRE_BYTES) this.wrongWireType(w, where, name, WIRE_BYTES);
    return w.bytes!;
  }

  private wrongWireType(w: WireField, where: string, name: string, expected: number): never {
    throw malformed(
      `field ${w.number} (${name}) of ${where} has wire type ${w.wireType} (${WIRE_NAMES[w.wireType] ?? "?"}), ` +
        `expected ${expected} (${WIRE_NAMES[expected]})`,
    );
  }

  /** A built-in message as the JSON object Go's encoding/json would write for it. */
  message(bytes: Uint8Array, name: string, path: string, depth: number): Record<string, Value> {
    if (depth > MAX_PROTOBUF_DEPTH) throw malformed(`nested deeper than ${MAX_PROTOBUF_DEPTH} levels${at(path)}`);
    const def = messageDef(name);
    if (def === undefined) throw badRequest(`no protobuf description of ${name}${at(path)}`);
    const chunks = new Map<FieldDef, Uint8Array[]>();
    const lists = new Map<FieldDef, Value[]>();
    const maps = new Map<FieldDef, Map<string, Value>>();
    const scalars = new Map<FieldDef, Value>();

    for (const w of readFields(bytes, name)) {
      const f = def.byNumber.get(w.number);
      if (f === undefined) throw badRequest(`unknown protobuf field ${w.number} in ${name}${at(path)}`);
      const fpath = f.inline ? path : path === "" ? f.json : `${path}.${f.json}`;
      if (f.map) {
        const entries = maps.get(f) ?? new Map<string, Value>();
        maps.set(f, entries);
        const [key, value] = this.mapEntry(f, this.expectBytes(w, name, f.json), name, fpath, depth);
        entries.set(key, value);
      } else if (f.repeated) {
        const list = lists.get(f) ?? [];
        lists.set(f, list);
        if (f.scalar !== undefined) {
          list.push(...this.repeatedScalar(f, w, name));
        } else {
          const item = this.expectBytes(w, name, f.json);
          list.push(this.messageValue(f.message!, item, `${fpath}[${list.length}]`, depth));
        }
      } else if (f.scalar !== undefined) {
        scalars.set(f, this.scalar(f.scalar, w, name, f.json));
      } else {
        const list = chunks.get(f) ?? [];
        chunks.set(f, list);
        list.push(this.expectBytes(w, name, f.json));
      }
    }

    const out: Record<string, Value> = {};
    for (const f of def.fields) {
      const fpath = f.inline ? path : path === "" ? f.json : `${path}.${f.json}`;
      let v: Value | typeof OMIT;
      if (f.inline) {
        Object.assign(out, this.message(concat(chunks.get(f) ?? [EMPTY]), f.message!, fpath, depth + 1));
        continue;
      } else if (f.map && maps.has(f)) {
        const entries = maps.get(f)!;
        const obj: Record<string, Value> = {};
        for (const key of [...entries.keys()].sort()) setKey(obj, key, entries.get(key));
        v = obj;
      } else if (f.repeated && lists.has(f)) {
        const list = lists.get(f)!;
        v = list.length === 0 && f.omitEmpty ? OMIT : list;
      } else if (scalars.has(f)) {
        v = scalars.get(f);
        if (!f.pointer && (f.omitEmpty || f.omitZero) && isEmptyScalar(v)) v = OMIT;
      } else if (chunks.has(f)) {
        v = this.messageValue(f.message!, concat(chunks.get(f)!), fpath, depth);
        if (f.omitZero && !f.pointer && JSON.stringify(v) === JSON.stringify(this.absentMessage(f.message!, fpath, depth))) {
          v = OMIT;
        }
      } else {
        v = this.absent(f, fpath, depth);
      }
      if (v !== OMIT) out[f.json] = v;
    }
    return out;
  }

  /** What Go's JSON writes for a field the wire did not carry (the Go zero value). */
  private absent(f: FieldDef, path: string, depth: number): Value | typeof OMIT {
    if (f.pointer || f.repeated || f.map) return f.omitEmpty || f.omitZero ? OMIT : null;
    if (f.scalar !== undefined) {
      if (f.omitEmpty || f.omitZero) return OMIT;
      return f.scalar === "s" ? "" : f.scalar === "b" ? false : f.scalar === "y" ? null : 0;
    }
    if (f.omitZero) return OMIT;
    return this.absentMessage(f.message!, path, depth);
  }

  private absentMessage(name: string, path: string, depth: number): Value {
    if (isStringList(name)) return null;
    if (!SPECIAL.has(name)) return this.message(EMPTY, name, path, depth + 1);
    return this.special(name, undefined, path, depth);
  }

  private messageValue(name: string, bytes: Uint8Array, path: string, depth: number): Value {
    if (isStringList(name)) {
      const short = name.slice(name.lastIndexOf(".") + 1);
      const items = this.fieldsOf(bytes, short, path, [1]).get(1) ?? [];
      return items.map((w) => readString(this.expectBytes(w, short, "items")));
    }
    return SPECIAL.has(name) ? this.special(name, bytes, path, depth) : this.message(bytes, name, path, depth + 1);
  }

  private scalar(type: ScalarType, w: WireField, where: string, name: string): Value {
    switch (type) {
      case "s":
        return readString(this.expectBytes(w, where, name));
      case "y":
        return Buffer.from(this.expectBytes(w, where, name)).toString("base64");
      case "d": {
        if (w.wireType !== WIRE_FIXED64) this.wrongWireType(w, where, name, WIRE_FIXED64);
        return this.finite(readDouble(w.bytes!), where, name);
      }
      default:
        if (w.wireType !== WIRE_VARINT) this.wrongWireType(w, where, name, WIRE_VARINT);
        return this.varintValue(type, w.varint!);
    }
  }

  private varintValue(type: ScalarType, v: bigint): Value {
    if (type === "b") return v !== 0n;
    if (type === "i") return Number(BigInt.asIntN(32, v));
    return Number(BigInt.asIntN(64, v));
  }

  private finite(v: number, where: string, name: string): number {
    if (!Number.isFinite(v)) throw badRequest(`unsupported value ${v} in field ${name} of ${where}`);
    return v;
  }

  /** One occurrence of a repeated scalar: a single value, or a packed run of them. */
  private repeatedScalar(f: FieldDef, w: WireField, where: string): Value[] {
    const type = f.scalar!;
    if (w.wireType === WIRE_BYTES && type !== "s" && type !== "y") {
      if (type === "d") return unpackDoubles(w.bytes!, `${where}.${f.json}`).map((d) => this.finite(d, where, f.json));
      return unpackVarints(w.bytes!, `${where}.${f.json}`).map((v) => this.varintValue(type, v));
    }
    return [this.scalar(type, w, where, f.json)];
  }

  /** A map entry message {key = 1, value = 2}; a missing value is the value type's zero. */
  private mapEntry(f: FieldDef, bytes: Uint8Array, where: string, path: string, depth: number): [string, Value] {
    const entryWhere = `${where}.${f.json} entry`;
    let key = "";
    let value: WireField | undefined;
    for (const w of readFields(bytes, entryWhere)) {
      if (w.number === 1) key = readString(this.expectBytes(w, entryWhere, "key"));
      else if (w.number === 2) value = w;
      else throw badRequest(`unknown protobuf field ${w.number} in ${entryWhere}${at(path)}`);
    }
    const vpath = `${path}[${JSON.stringify(key)}]`;
    if (f.scalar !== undefined) {
      if (value !== undefined) return [key, this.scalar(f.scalar, value, entryWhere, "value")];
      return [key, f.scalar === "s" || f.scalar === "y" ? "" : f.scalar === "b" ? false : 0];
    }
    const vbytes = value === undefined ? EMPTY : this.expectBytes(value, entryWhere, "value");
    return [key, this.messageValue(f.message!, vbytes, vpath, depth)];
  }

  /** The last occurrence of each field of a small fixed message, checked against what it may hold. */
  private fieldsOf(bytes: Uint8Array, name: string, path: string, known: readonly number[]): Map<number, WireField[]> {
    const out = new Map<number, WireField[]>();
    for (const w of readFields(bytes, name)) {
      if (!known.includes(w.number)) throw badRequest(`unknown protobuf field ${w.number} in ${name}${at(path)}`);
      const list = out.get(w.number) ?? [];
      list.push(w);
      out.set(w.number, list);
    }
    return out;
  }

  private last(fields: Map<number, WireField[]>, n: number): WireField | undefined {
    const list = fields.get(n);
    return list === undefined ? undefined : list[list.length - 1];
  }

  private varintField(fields: Map<number, WireField[]>, n: number, where: string, name: string): bigint {
    const w = this.last(fields, n);
    if (w === undefined) return 0n;
    if (w.wireType !== WIRE_VARINT) this.wrongWireType(w, where, name, WIRE_VARINT);
    return w.varint!;
  }

  /**
   * Types whose JSON is not their message shape. `bytes` undefined means the field was absent:
   * the value is then what Go's JSON writes for the type's zero value.
   */
  private special(name: string, bytes: Uint8Array | undefined, path: string, depth: number): Value {
    const short = name.slice(name.lastIndexOf(".") + 1);
    switch (name) {
      case TIME:
      case MICRO_TIME: {
        // An empty message is Go's zero time (null); otherwise seconds default to 0 (1970).
        if (bytes === undefined || bytes.length === 0) return null;
        const fields = this.fieldsOf(bytes, short, path, [1, 2]);
        const seconds = BigInt.asIntN(64, this.varintField(fields, 1, short, "seconds"));
        const nanos = Number(BigInt.asIntN(32, this.varintField(fields, 2, short, "nanos")));
        const text = name === TIME ? formatTime(seconds) : formatMicroTime(seconds, nanos);
        if (text === undefined) throw badRequest(`${short} of ${seconds} seconds is out of range${at(path)}`);
        return text;
      }
      case DURATION: {
        if (bytes === undefined) return "0s";
        const fields = this.fieldsOf(bytes, short, path, [1]);
        return formatDuration(BigInt.asIntN(64, this.varintField(fields, 1, short, "duration")));
      }
      case QUANTITY: {
        const w = bytes === undefined ? undefined : this.last(this.fieldsOf(bytes, short, path, [1]), 1);
        if (w === undefined) return "0";
        const text = readString(this.expectBytes(w, short, "string"));
        try {
          return parseQuantity(text).toString();
        } catch (e) {
          if (e instanceof QuantityParseError) throw badRequest(`${e.message}${at(path)}`);
          throw e;
        }
      }
      case INT_OR_STRING: {
        if (bytes === undefined) return 0;
        const fields = this.fieldsOf(bytes, short, path, [1, 2, 3]);
        const type = BigInt.asIntN(64, this.varintField(fields, 1, short, "type"));
        if (type === 0n) return Number(BigInt.asIntN(32, this.varintField(fields, 2, short, "intVal")));
        if (type === 1n) {
          const s = this.last(fields, 3);
          return s === undefined ? "" : readString(this.expectBytes(s, short, "strVal"));
        }
        throw badRequest(`impossible IntOrString type ${type}${at(path)}`);
      }
      case RAW_EXTENSION:
      case FIELDS_V1:
      case APIEXT_JSON: {
        const w = bytes === undefined ? undefined : this.last(this.fieldsOf(bytes, short, path, [1]), 1);
        if (w === undefined) return null;
        const raw = this.expectBytes(w, short, "raw");
        if (raw.length === 0) return null;
        if (name === RAW_EXTENSION && hasMagic(raw)) return this.envelope(raw, path, depth + 1);
        try {
          return parseJsonStrict(readString(raw)).value;
        } catch (e) {
          if (e instanceof StatusError) throw badRequest(`${short}${at(path)}: ${e.message}`);
          throw e;
        }
      }
      case OR_ARRAY: {
        if (bytes === undefined) return null;
        const fields = this.fieldsOf(bytes, short, path, [1, 2]);
        const many = fields.get(2) ?? [];
        if (many.length > 0) {
          return many.map((w, i) =>
            this.message(this.expectBytes(w, short, "jSONSchemas"), SCHEMA_PROPS, `${path}[${i}]`, depth + 1),
          );
        }
        return this.optionalSchema(fields.get(1), short, path, depth) ?? null;
      }
      case OR_BOOL: {
        if (bytes === undefined) return false;
        const fields = this.fieldsOf(bytes, short, path, [1, 2]);
        return this.optionalSchema(fields.get(2), short, path, depth) ?? this.varintField(fields, 1, short, "allows") !== 0n;
      }
      case OR_STRING_ARRAY: {
        if (bytes === undefined) return null;
        const fields = this.fieldsOf(bytes, short, path, [1, 2]);
        const property = (fields.get(2) ?? []).map((w) => readString(this.expectBytes(w, short, "property")));
        if (property.length > 0) return property;
        return this.optionalSchema(fields.get(1), short, path, depth) ?? null;
      }
      default:
        throw badRequest(`no protobuf description of ${name}${at(path)}`);
    }
  }

  /** A JSONSchemaProps field of one of the JSONSchemaPropsOr* wrappers, merged over repeats. */
  private optionalSchema(ws: WireField[] | undefined, where: string, path: string, depth: number): Value | undefined {
    if (ws === undefined || ws.length === 0) return undefined;
    const bytes = concat(ws.map((w) => this.expectBytes(w, where, "schema")));
    return this.message(bytes, SCHEMA_PROPS, path, depth + 1);
  }
}

/**
 * Decode a request body in Kubernetes' protobuf encoding ("k8s\0" + runtime.Unknown) into the JSON
 * object the same request would have carried as application/json: apiVersion and kind from the
 * envelope, fields by the upstream field numbers, and Go's JSON rules for what is left out.
 * Throws a StatusError: 400 for malformed or unknown data, 415 for a kind with no protobuf form.
 */
export function decodeKubernetesProtobuf(body: Uint8Array, resolver: SchemaResolver): KubeObject {
  try {
    return new Decoder(resolver).envelope(body, "", 0);
  } catch (e) {
    if (e instanceof StatusError) throw e;
    throw badRequest(`invalid protobuf body: ${e instanceof Error ? e.message : String(e)}`);
  }
}
