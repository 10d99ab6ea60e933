// Book 12.3: JSON to protobuf-shaped objects as etcd 3.4's gateway (golang/protobuf jsonpb) does it:
// both field name styles, int64 as string or number, enums by name or number, Go's error texts.
import { decodeBase64, Base64Error } from "./wire-base64.js";
import { goQuote } from "./wire-goquote.js";
import { GoJsonError, JNum, JStr, type JValue, parseGoJson } from "./wire-gojson.js";
import type { EnumDesc, FieldDesc, MsgDesc } from "./wire-schema.js";

/** A decoded message: proto field name -> value. Bytes and strings are latin1 strings, int64 and
 * uint64 are canonical decimal strings, enums are numbers. Unset fields are absent. */
export interface ProtoMsg {
  [field: string]: ProtoValue | undefined;
}
export type ProtoValue = string | number | boolean | ProtoMsg | ProtoValue[];

/** A request that is not valid JSON or does not fit the message; the message is Go's. */
export class WireDecodeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "WireDecodeError";
  }
}

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
const UINT64_MAX = 2n ** 64n - 1n;
const INTEGER = /^-?(0|[1-9][0-9]*)$/;

function jsonKind(v: JValue): string {
  if (v === null) return "null";
  if (typeof v === "boolean") return "bool";
  if (typeof v === "string" || v instanceof JStr) return "string";
  if (v instanceof JNum) return "number";
  if (Array.isArray(v)) return "array";
  return "object";
}

function typeError(v: JValue, goType: string): WireDecodeError {
  return new WireDecodeError(`json: cannot unmarshal ${jsonKind(v)} into Go value of type ${goType}`);
}

/** strconv.ParseInt/ParseUint on a JSON number literal; undefined when it does not fit. */
function parseInteger(text: string, min: bigint, max: bigint): string | undefined {
  if (!INTEGER.test(text)) return undefined;
  if (text.length <= 15) {
    const n = Number(text) + 0;
    return n < Number(min) || n > Number(max) ? undefined : String(n);
  }
  const n = BigInt(text);
  return n < min || n > max ? undefined : n.toString();
}

function decodeInt(v: JValue, goType: "int64" | "uint64"): string | undefined {
  const [min, max] = goType === "int64" ? [INT64_MIN, INT64_MAX] : [0n, UINT64_MAX];
  // jsonpb drops the quotes of a string and parses what was between them as JSON.
  if (typeof v === "string" || v instanceof JStr) {
    const raw = typeof v === "string" ? v : v.raw;
    v = parseGoJson(raw, 0, "unmarshal")!.value;
  }
  if (v === null) return undefined;
  if (!(v instanceof JNum)) throw typeError(v, goType);
  const s = parseInteger(v.text, min, max);
  if (s === undefined) throw new WireDecodeError(`json: cannot unmarshal number ${v.text} into Go value of type ${goType}`);
  return s;
}

function decodeEnum(v: JValue, e: EnumDesc): number | undefined {
  if (v === null) return undefined;
  if (typeof v === "string" || v instanceof JStr) {
    const raw = typeof v === "string" ? v : v.raw;
    const n = e.values[raw];
    if (n === undefined || !Object.hasOwn(e.values, raw)) throw new WireDecodeError(`unknown value ${goQuote(raw)} for enum ${e.goName}`);
    return n;
  }
  if (!(v instanceof JNum)) throw typeError(v, e.goName);
  const s = parseInteger(v.text, -(2n ** 31n), 2n ** 31n - 1n);
  if (s === undefined) throw new WireDecodeError(`json: cannot unmarshal number ${v.text} into Go value of type ${e.goName}`);
  return Number(s);
}

function decodeBytes(v: JValue): string | undefined {
  if (v === null) return undefined;
  if (typeof v === "string" || v instanceof JStr) {
    try {
      return decodeBase64(typeof v === "string" ? v : v.value);
    } catch (e) {
      if (e instanceof Base64Error) throw new WireDecodeError(e.message);
      throw e;
    }
  }
  if (!Array.isArray(v)) throw typeError(v, "[]uint8");
  // encoding/json also takes a []byte written as an array of numbers.
  let out = "";
  for (const el of v) {
    if (el === null) {
      out += "\0";
      continue;
    }
    if (!(el instanceof JNum)) throw typeError(el, "uint8");
    const s = parseInteger(el.text, 0n, 255n);
    if (s === undefined) throw new WireDecodeError(`json: cannot unmarshal number ${el.text} into Go value of type uint8`);
    out += String.fromCharCode(Number(s));
  }
  return out;
}

function decodeScalar(v: JValue, field: FieldDesc): ProtoValue | undefined {
  const t = field.type;
  if (t === "bytes") return decodeBytes(v);
  if (t === "int64" || t === "uint64") return decodeInt(v, t);
  if (t === "bool") {
    if (v === null) return undefined;
    if (typeof v !== "boolean") throw typeError(v, "bool");
    return v;
  }
  if (t === "string") {
    if (v === null) return undefined;
    if (typeof v === "string") return v;
    if (v instanceof JStr) return v.value;
    throw typeError(v, "string");
  }
  if ("enum" in t) return decodeEnum(v, t.enum);
  return v === null ? undefined : decodeMessage(v, t.msg());
}

/** The zero value of a field, for null elements of repeated fields. */
function zeroOf(field: FieldDesc): ProtoValue {
  const t = field.type;
  if (t === "bytes" || t === "string") return "";
  if (t === "int64" || t === "uint64") return "0";
  if (t === "bool") return false;
  if ("enum" in t) return 0;
  return {};
}

function decodeField(v: JValue, field: FieldDesc): ProtoValue | undefined {
  if (!field.repeated) return decodeScalar(v, field);
  if (v === null) return undefined;
  if (!Array.isArray(v)) throw typeError(v, "[]json.RawMessage");
  return v.map((el) => (el === null ? zeroOf(field) : (decodeScalar(el, field) ?? zeroOf(field))));
}

/** One message from a parsed JSON value; fields in proto order, then oneof members. */
export function decodeMessage(v: JValue, desc: MsgDesc): ProtoMsg {
  const out: ProtoMsg = {};
  if (v === null) return out;
  if (!(v instanceof Map)) throw typeError(v, "map[string]json.RawMessage");
  if (v.size === 0) return out;
  for (let pass = 0; pass < 2; pass++) {
    for (const field of desc.fields) {
      if ((pass === 0) === (field.oneof !== undefined)) continue;
      // Both names are accepted; when both are present the lowerCamel one wins.
      let raw = v.get(field.json);
      if (raw === undefined) raw = v.get(field.name);
      if (raw === undefined) continue;
      const value = decodeField(raw, field);
      if (value === undefined) continue;
      if (field.oneof) for (const other of desc.fields) if (other.oneof === field.oneof) delete out[other.name];
      out[field.name] = value;
    }
  }
  return out;
}

/** A whole request body, read like Go's json.Decoder: the first value counts, an empty body is an
 * empty message. Throws WireDecodeError. */
export function decodeRequest(body: string, desc: MsgDesc): ProtoMsg {
  try {
    const parsed = parseGoJson(body, 0, "decoder");
    return parsed === undefined ? {} : decodeMessage(parsed.value, desc);
  } catch (e) {
    if (e instanceof GoJsonError) throw new WireDecodeError(e.message);
    throw e;
  }
}

/** decodeMessage, with JSON syntax errors (from int64 strings) turned into WireDecodeError. */
export function decodeParsed(v: JValue, desc: MsgDesc): ProtoMsg {
  try {
    return decodeMessage(v, desc);
  } catch (e) {
    if (e instanceof GoJsonError) throw new WireDecodeError(e.message);
    throw e;
  }
}
