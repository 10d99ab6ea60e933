// Book 12.3: Go's way of quoting a character or string (strconv.Quote), which etcd's JSON gateway
// puts inside its error messages ("invalid character 'x' ..."); we reproduce it byte for byte.

/** Go's unicode.IsPrint for one code point (approximated with Unicode categories above Latin-1). */
function isPrint(cp: number): boolean {
  if (cp <= 0xff) {
    if (cp >= 0x20 && cp <= 0x7e) return true;
    if (cp >= 0xa1 && cp <= 0xff) return cp !== 0xad;
    return false;
  }
  return /[\p{L}\p{M}\p{N}\p{P}\p{S}]/u.test(String.fromCodePoint(cp));
}

function hex(n: number, width: number): string {
  return n.toString(16).padStart(width, "0");
}

/** One rune as strconv.Quote writes it inside its quotes. */
function quoteRune(cp: number, quote: string): string {
  if (cp === quote.charCodeAt(0) || cp === 0x5c) return "\\" + String.fromCharCode(cp);
  if (isPrint(cp)) return String.fromCodePoint(cp);
  switch (cp) {
    case 0x07: return "\\a";
    case 0x08: return "\\b";
    case 0x0c: return "\\f";
    case 0x0a: return "\\n";
    case 0x0d: return "\\r";
    case 0x09: return "\\t";
    case 0x0b: return "\\v";
  }
  if (cp < 0x20 || cp === 0x7f) return "\\x" + hex(cp, 2);
  if (cp < 0x10000) return "\\u" + hex(cp, 4);
  return "\\U" + hex(cp, 8);
}

/** encoding/json's quoteChar(c): a single byte, shown as the rune with that number. */
export function goQuoteChar(byte: number): string {
  if (byte === 0x27) return "'\\''";
  if (byte === 0x22) return "'\"'";
  return "'" + quoteRune(byte, '"') + "'";
}

/** strconv.Quote of a byte string (latin1 chars = bytes, read as UTF-8; bad bytes become \xNN). */
export function goQuote(bytes: string): string {
  const buf = Buffer.from(bytes, "latin1");
  let out = '"';
  let i = 0;
  while (i < buf.length) {
    const b = buf[i]!;
    if (b < 0x80) {
      out += quoteRune(b, '"');
      i++;
      continue;
    }
    const [cp, size] = decodeRune(buf, i);
    out += cp < 0 ? "\\x" + hex(b, 2) : quoteRune(cp, '"');
    i += size;
  }
  return out + '"';
}

/** One UTF-8 sequence at i: [code point, size], or [-1, 1] when it is not valid UTF-8. */
function decodeRune(buf: Buffer, i: number): [number, number] {
  const b = buf[i]!;
  const need = b >= 0xf0 && b <= 0xf4 ? 3 : b >= 0xe0 ? (b <= 0xef ? 2 : 0) : b >= 0xc2 && b <= 0xdf ? 1 : 0;
  if (need === 0 || i + need >= buf.length) return [-1, 1];
  let cp = b & (0x3f >> need);
  for (let k = 1; k <= need; k++) {
    const c = buf[i + k];
    if (c === undefined || (c & 0xc0) !== 0x80) return [-1, 1];
    cp = (cp << 6) | (c & 0x3f);
  }
  const min = need === 1 ? 0x80 : need === 2 ? 0x800 : 0x10000;
  if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return [-1, 1];
  return [cp, need + 1];
}
