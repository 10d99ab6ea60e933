// Book 12.3: the Go-compatible JSON reader, base64 decoder and quoting, checked against messages
// measured on etcd 3.4.23's gateway (every expected string below came back from a real etcd).
import { describe, expect, it } from "vitest";
import { Base64Error, decodeBase64, encodeBase64 } from "./wire-base64.js";
import { GoJsonError, JNum, JStr, parseGoJson } from "./wire-gojson.js";
import { goQuote, goQuoteChar } from "./wire-goquote.js";

const latin1 = (s: string) => Buffer.from(s, "utf8").toString("latin1");

function decoderError(text: string): string {
  try {
    parseGoJson(latin1(text), 0, "decoder");
  } catch (e) {
    if (e instanceof GoJsonError) return e.message;
    throw e;
  }
  return "no error";
}

describe("parseGoJson", () => {
  it("reads values, keeps number text and the raw text of escaped strings", () => {
    const r = parseGoJson('{"a":[1,-0.5e3,true,false,null],"b":"x\\u0041\\n","b2":"plain","c":{}}', 0, "decoder")!;
    const m = r.value as Map<string, unknown>;
    expect(m.get("a")).toEqual([new JNum("1"), new JNum("-0.5e3"), true, false, null]);
    expect(m.get("b")).toEqual(new JStr("xA\n", "x\\u0041\\n"));
    expect(m.get("b2")).toBe("plain");
    expect(m.get("c")).toEqual(new Map());
  });

  it("decodes \\u escapes to UTF-8 bytes, pairs surrogates, replaces lone ones", () => {
    const v = (s: string) => (parseGoJson(s, 0, "decoder")!.value as JStr).value;
    expect(v('"\\u00e9"')).toBe("\xc3\xa9");
    expect(v('"\\ud83d\\ude00"')).toBe("\xf0\x9f\x98\x80");
    expect(v('"\\ud800x"')).toBe("\xef\xbf\xbdx");
  });

  it("keeps the last of duplicate names", () => {
    const m = parseGoJson('{"key":"a","key":""}', 0, "decoder")!.value as Map<string, unknown>;
    expect(m.get("key")).toBe("");
  });

  it("in decoder mode reads the first value only and reports EOF on blank input", () => {
    expect(parseGoJson('{"key":"Zm9v"} garbage', 0, "decoder")!.end).toBe(14);
    expect(parseGoJson("  \n", 0, "decoder")).toBeUndefined();
  });

  it.each([
    ["not json", "invalid character 'o' in literal null (expecting 'u')"],
    ['{"key":"Zm9v"', "unexpected EOF"],
    ['{"key"', "unexpected EOF"],
    ["{", "unexpected EOF"],
    ['{"key":"Zm9v" "x"}', `invalid character '"' after object key:value pair`],
    ["{key:1}", "invalid character 'k' looking for beginning of object key string"],
    ['{"key":"Zm9v\\x"}', "invalid character 'x' in string escape code"],
    ['{"key":"Zm9v\u0001"}', "invalid character '\\x01' in string literal"],
    ["{\u00e9}", "invalid character 'Ã' looking for beginning of object key string"],
    ['{"key":"Zm9v",}', "invalid character '}' looking for beginning of object key string"],
    ['{"key":tru}', "invalid character '}' in literal true (expecting 'e')"],
    ['{"key":-}', "invalid character '}' in numeric literal"],
    ['{"key":1.}', "invalid character '}' after decimal point in numeric literal"],
    ['{"key":1e}', "invalid character '}' in exponent of numeric literal"],
    ['{"key":01}', "invalid character '1' after object key:value pair"],
    ["[1,]", "invalid character ']' looking for beginning of value"],
    ['{"a":[1 2]}', "invalid character '2' after array element"],
    ['{"a"  1}', "invalid character '1' after object key"],
    ['{"a":"\\u12g4"}', "invalid character 'g' in \\u hexadecimal character escape"],
    ["'", "invalid character '\\'' looking for beginning of value"],
  ])("fails on %s like Go", (input, message) => {
    expect(decoderError(input)).toBe(message);
  });

  it("in unmarshal mode wants exactly one value", () => {
    const err = (s: string) => {
      try {
        parseGoJson(s, 0, "unmarshal");
        return "ok";
      } catch (e) {
        return (e as Error).message;
      }
    };
    expect(err("")).toBe("unexpected end of JSON input");
    expect(err(" 5 ")).toBe("ok");
    expect(err("5 x")).toBe("invalid character 'x' after top-level value");
    expect(err("05")).toBe("invalid character '5' after top-level value");
    expect(err("abc")).toBe("invalid character 'a' looking for beginning of value");
    expect(err('\\"5\\"')).toBe("invalid character '\\\\' looking for beginning of value");
  });

  it("refuses nesting deeper than Go's 10000 without blowing the stack", () => {
    expect(decoderError("[".repeat(10_001))).toBe("invalid character '[' exceeded max depth");
    expect(parseGoJson("[".repeat(10_000) + "]".repeat(10_000), 0, "decoder")).toBeDefined();
  });

  it("flags truncation so stream readers can wait", () => {
    try {
      parseGoJson('{"a":', 0, "decoder");
    } catch (e) {
      expect((e as GoJsonError).eof).toBe(true);
    }
  });
});

describe("base64 like Go's StdEncoding", () => {
  const err = (s: string) => {
    try {
      decodeBase64(s);
      return "ok";
    } catch (e) {
      return e instanceof Base64Error ? e.message : String(e);
    }
  };
  it.each([
    ["!!!", "illegal base64 data at input byte 0"],
    ["Zm9", "illegal base64 data at input byte 0"],
    ["Zm9v=", "illegal base64 data at input byte 4"],
    ["Zm-_", "illegal base64 data at input byte 2"],
    ["Zm9vYg", "illegal base64 data at input byte 4"],
    ["Zm9vYg=", "illegal base64 data at input byte 7"],
    ["Zm9vA", "illegal base64 data at input byte 4"],
    ["Zm\xc3\xa9", "illegal base64 data at input byte 2"],
    ["Zm9vYg==x", "illegal base64 data at input byte 8"],
  ])("refuses %j", (input, message) => {
    expect(err(input)).toBe(message);
  });

  it("skips CR and LF, ignores unused bits, decodes binary", () => {
    expect(decodeBase64("Zm9v\n")).toBe("foo");
    expect(decodeBase64("Zm\r\n9v")).toBe("foo");
    expect(decodeBase64("Zm9vYh==")).toBe("foob");
    expect(decodeBase64("")).toBe("");
    const bytes = "\x00\xff\x80abc";
    expect(decodeBase64(encodeBase64(bytes))).toBe(bytes);
    expect(encodeBase64("")).toBe("");
  });
});

describe("Go quoting", () => {
  it("quotes single bytes as encoding/json does", () => {
    expect(goQuoteChar(0x78)).toBe("'x'");
    expect(goQuoteChar(0x27)).toBe("'\\''");
    expect(goQuoteChar(0x22)).toBe("'\"'");
    expect(goQuoteChar(0x5c)).toBe("'\\\\'");
    expect(goQuoteChar(0x01)).toBe("'\\x01'");
    expect(goQuoteChar(0x0a)).toBe("'\\n'");
    expect(goQuoteChar(0x85)).toBe("'\\u0085'");
    expect(goQuoteChar(0xc3)).toBe("'Ã'");
  });

  it("quotes strings as strconv.Quote does", () => {
    expect(goQuote("BAD")).toBe('"BAD"');
    expect(goQuote('a"b\\')).toBe('"a\\"b\\\\"');
    expect(goQuote("\xc3\xa9\xff")).toBe('"é\\xff"');
  });
});
