// Book 12.3: a JSON reader that fails exactly like Go's encoding/json (etcd's gateway is Go), keeping
// number literals as text so int64s never pass through a double; reads bytes as latin1.
import { goQuoteChar } from "./wire-goquote.js";

/** A number literal, kept as written ("1.5", "-0", "99999999999999999999"). */
export class JNum {
  constructor(readonly text: string) {}
}

/** A string that contained escapes: its value, and the raw text between the quotes (which Go's
 * jsonpb re-parses for int64 fields written as strings). Plain strings are bare JS strings. */
export class JStr {
  constructor(readonly value: string, readonly raw: string) {}
}

export type JValue = null | boolean | string | JStr | JNum | JValue[] | JObject;
/** Objects keep the last of duplicate names, as Go's map decoding does. */
export type JObject = Map<string, JValue>;

export class GoJsonError extends Error {
  /** eof: the input ended inside a value (a stream reader may wait for more). */
  constructor(message: string, readonly eof = false) {
    super(message);
    this.name = "GoJsonError";
  }
}

/** "decoder": json.Decoder (reads one value, ignores what follows; cut short = "unexpected EOF").
 * "unmarshal": json.Unmarshal (exactly one value; cut short = "unexpected end of JSON input"). */
export type ParseMode = "decoder" | "unmarshal";

const MAX_DEPTH = 10_000;
const STRING_STOP = /["\\\x00-\x1f]/g;
const CONTROL = /[\x00-\x1f]/;

interface Frame {
  arr?: JValue[];
  obj?: JObject;
  key: string;
}

export function strValue(v: string | JStr): string {
  return typeof v === "string" ? v : v.value;
}

/** Parse one value from text[start..]. In decoder mode, returns undefined when only whitespace is
 * left (Go's io.EOF). `end` is the index just after the value. */
export function parseGoJson(text: string, start: number, mode: ParseMode): { value: JValue; end: number } | undefined {
  const n = text.length;
  const eof = (): never => {
    throw new GoJsonError(mode === "decoder" ? "unexpected EOF" : "unexpected end of JSON input", true);
  };
  const bad = (at: number, context: string): never => {
    throw new GoJsonError(`invalid character ${goQuoteChar(text.charCodeAt(at))} ${context}`);
  };
  const ws = (at: number): number => {
    for (;;) {
      const c = text.charCodeAt(at);
      if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) at++;
      else return at;
    }
  };

  // Reads the string starting at the quote text[at]; returns [value, index after the closing quote].
  const readString = (at: number): [string | JStr, number] => {
    // Fast path (most strings, and all base64): no escape and no control character before the quote.
    const q = text.indexOf('"', at + 1);
    if (q >= 0) {
      const bs = text.indexOf("\\", at + 1);
      if (bs < 0 || bs > q) {
        const s = text.slice(at + 1, q);
        if (!CONTROL.test(s)) return [s, q + 1];
      }
    }
    let segStart = at + 1;
    let out = "";
    let escaped = false;
    for (;;) {
      STRING_STOP.lastIndex = segStart;
      const m = STRING_STOP.exec(text);
      if (!m) return eof();
      const k = m.index;
      const c = text.charCodeAt(k);
      if (c === 0x22) {
        if (!escaped) return [text.slice(segStart, k), k + 1];
        out += text.slice(segStart, k);
        return [new JStr(out, text.slice(at + 1, k)), k + 1];
      }
      if (c !== 0x5c) bad(k, "in string literal");
      out += text.slice(segStart, k);
      escaped = true;
      if (k + 1 >= n) eof();
      const e = text.charCodeAt(k + 1);
      segStart = k + 2;
      switch (e) {
        case 0x22: out += '"'; break;
        case 0x5c: out += "\\"; break;
        case 0x2f: out += "/"; break;
        case 0x62: out += "\b"; break;
        case 0x66: out += "\f"; break;
        case 0x6e: out += "\n"; break;
        case 0x72: out += "\r"; break;
        case 0x74: out += "\t"; break;
        case 0x75: {
          let cp = readHex4(k + 2);
          segStart = k + 6;
          if (cp >= 0xd800 && cp < 0xe000) {
            const low = cp < 0xdc00 && text.charCodeAt(k + 6) === 0x5c && text.charCodeAt(k + 7) === 0x75 ? peekHex4(k + 8) : -1;
            if (low >= 0xdc00 && low < 0xe000) {
              cp = 0x10000 + ((cp - 0xd800) << 10) + (low - 0xdc00);
              segStart = k + 12;
            } else {
              cp = 0xfffd;
            }
          }
          out += utf8Latin1(cp);
          break;
        }
        default:
          bad(k + 1, "in string escape code");
      }
    }
  };
  const peekHex4 = (at: number): number => {
    if (at + 4 > n) return -1;
    const s = text.slice(at, at + 4);
    return /^[0-9a-fA-F]{4}$/.test(s) ? parseInt(s, 16) : -1;
  };
  const readHex4 = (at: number): number => {
    for (let h = 0; h < 4; h++) {
      if (at + h >= n) eof();
      const c = text.charCodeAt(at + h);
      const isHex = (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x46) || (c >= 0x61 && c <= 0x66);
      if (!isHex) bad(at + h, "in \\u hexadecimal character escape");
    }
    return parseInt(text.slice(at, at + 4), 16);
  };
  const digits = (at: number): number => {
    while (at < n) {
      const c = text.charCodeAt(at);
      if (c < 0x30 || c > 0x39) break;
      at++;
    }
    return at;
  };
  const isDigit = (at: number) => {
    const c = text.charCodeAt(at);
    return c >= 0x30 && c <= 0x39;
  };
  const readNumber = (at: number): [JNum, number] => {
    const s = at;
    if (text.charCodeAt(at) === 0x2d) {
      at++;
      if (at >= n) eof();
      if (!isDigit(at)) bad(at, "in numeric literal");
    }
    if (text.charCodeAt(at) === 0x30) at++;
    else at = digits(at);
    if (text.charCodeAt(at) === 0x2e) {
      at++;
      if (at >= n) eof();
      if (!isDigit(at)) bad(at, "after decimal point in numeric literal");
      at = digits(at);
    }
    const e = text.charCodeAt(at);
    if (e === 0x65 || e === 0x45) {
      at++;
      if (at >= n) eof();
      const sign = text.charCodeAt(at);
      if (sign === 0x2b || sign === 0x2d) {
        at++;
        if (at >= n) eof();
      }
      if (!isDigit(at)) bad(at, "in exponent of numeric literal");
      at = digits(at);
    }
    return [new JNum(text.slice(s, at)), at];
  };
  const readLiteral = (at: number, word: string, value: JValue): [JValue, number] => {
    for (let k = 1; k < word.length; k++) {
      if (at + k >= n) eof();
      if (text.charCodeAt(at + k) !== word.charCodeAt(k)) bad(at + k, `in literal ${word} (expecting '${word[k]}')`);
    }
    return [value, at + word.length];
  };
  // After '{' or ',' in an object: the key, the colon, and the start of the value.
  const readKey = (at: number, frame: Frame): number => {
    if (text.charCodeAt(at) !== 0x22) bad(at, "looking for beginning of object key string");
    const [k, after] = readString(at);
    frame.key = strValue(k);
    at = ws(after);
    if (at >= n) eof();
    if (text.charCodeAt(at) !== 0x3a) bad(at, "after object key");
    at = ws(at + 1);
    if (at >= n) eof();
    return at;
  };

  let i = ws(start);
  if (i >= n) {
    if (mode === "decoder") return undefined;
    eof();
  }
  const stack: Frame[] = [];
  let value: JValue;
  for (;;) {
    // State: at the beginning of a value, i < n.
    const c = text.charCodeAt(i);
    if (c === 0x7b || c === 0x5b) {
      if (stack.length + 1 > MAX_DEPTH) bad(i, "exceeded max depth");
      i = ws(i + 1);
      if (i >= n) eof();
      if (c === 0x7b) {
        if (text.charCodeAt(i) === 0x7d) {
          value = new Map();
          i++;
        } else {
          const frame: Frame = { obj: new Map(), key: "" };
          stack.push(frame);
          i = readKey(i, frame);
          continue;
        }
      } else if (text.charCodeAt(i) === 0x5d) {
        value = [];
        i++;
      } else {
        stack.push({ arr: [], key: "" });
        continue;
      }
    } else if (c === 0x22) {
      [value, i] = readString(i);
    } else if (c === 0x2d || (c >= 0x30 && c <= 0x39)) {
      [value, i] = readNumber(i);
    } else if (c === 0x74) {
      [value, i] = readLiteral(i, "true", true);
    } else if (c === 0x66) {
      [value, i] = readLiteral(i, "false", false);
    } else if (c === 0x6e) {
      [value, i] = readLiteral(i, "null", null);
    } else {
      return bad(i, "looking for beginning of value");
    }
    // State: a value just ended; attach it to its container, closing containers as they end.
    let next = false;
    while (!next) {
      const top = stack[stack.length - 1];
      if (!top) break;
      i = ws(i);
      if (i >= n) eof();
      const d = text.charCodeAt(i);
      if (top.arr) {
        top.arr.push(value);
        if (d === 0x2c) {
          i = ws(i + 1);
          if (i >= n) eof();
          next = true;
        } else if (d === 0x5d) {
          i++;
          value = top.arr;
          stack.pop();
        } else {
          bad(i, "after array element");
        }
      } else {
        top.obj!.set(top.key, value);
        if (d === 0x2c) {
          i = readKey(ws(i + 1) < n ? ws(i + 1) : eof(), top);
          next = true;
        } else if (d === 0x7d) {
          i++;
          value = top.obj!;
          stack.pop();
        } else {
          bad(i, "after object key:value pair");
        }
      }
    }
    if (!next) break;
  }
  if (mode === "unmarshal") {
    const j = ws(i);
    if (j < n) bad(j, "after top-level value");
  }
  return { value, end: i };
}

/** A code point as UTF-8 bytes in a latin1 string. */
export function utf8Latin1(cp: number): string {
  if (cp < 0x80) return String.fromCharCode(cp);
  if (cp < 0x800) return String.fromCharCode(0xc0 | (cp >> 6), 0x80 | (cp & 0x3f));
  if (cp < 0x10000) return String.fromCharCode(0xe0 | (cp >> 12), 0x80 | ((cp >> 6) & 0x3f), 0x80 | (cp & 0x3f));
  return String.fromCharCode(0xf0 | (cp >> 18), 0x80 | ((cp >> 12) & 0x3f), 0x80 | ((cp >> 6) & 0x3f), 0x80 | (cp & 0x3f));
}
