// Book 12.3: etcd's JSON carries keys and values as base64. Decoding follows Go's StdEncoding
// (padding required, CR/LF skipped, unused bits ignored) and fails with its message and offset.

const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const DECODE = new Int16Array(256).fill(-1);
for (let i = 0; i < ALPHABET.length; i++) DECODE[ALPHABET.charCodeAt(i)] = i;

export class Base64Error extends Error {
  constructor(readonly offset: number) {
    super(`illegal base64 data at input byte ${offset}`);
    this.name = "Base64Error";
  }
}

/** Bytes (latin1 string) to base64. */
export function encodeBase64(bytes: string): string {
  return bytes.length === 0 ? "" : Buffer.from(bytes, "latin1").toString("base64");
}

/** base64 text (latin1 string, i.e. the JSON string's bytes) to bytes (latin1 string). */
export function decodeBase64(text: string): string {
  // Fast path: Node's decoder skips characters it does not know (and takes '-' and '_'), so a
  // well-formed input is one without '-' or '_' that decodes to exactly the length it should.
  const n = text.length;
  if (n % 4 === 0 && text.indexOf("-") < 0 && text.indexOf("_") < 0) {
    const pad = n === 0 || text.charCodeAt(n - 1) !== 0x3d ? 0 : text.charCodeAt(n - 2) === 0x3d ? 2 : 1;
    const buf = Buffer.from(text, "base64");
    if (buf.length === (n / 4) * 3 - pad) return buf.toString("latin1");
  }
  return decodeSlow(text);
}

const isNewline = (c: number) => c === 0x0a || c === 0x0d;

/** Go's decodeQuantum loop, for input with newlines or errors. */
function decodeSlow(src: string): string {
  const out: number[] = [];
  let si = 0;
  const n = src.length;
  for (;;) {
    const dbuf = [0, 0, 0, 0];
    let dlen = 4;
    let j = 0;
    let done = false;
    while (j < 4) {
      if (si === n) {
        if (j === 0) return Buffer.from(out).toString("latin1");
        // Padding is required: input ending mid-quantum is an error at the quantum's start.
        throw new Base64Error(si - j);
      }
      const c = src.charCodeAt(si);
      si++;
      const v = c < 256 ? DECODE[c]! : -1;
      if (v >= 0) {
        dbuf[j++] = v;
        continue;
      }
      if (isNewline(c)) continue;
      if (c !== 0x3d) throw new Base64Error(si - 1);
      // '=' padding: only after 2 or 3 symbols.
      if (j < 2) throw new Base64Error(si - 1);
      if (j === 2) {
        while (si < n && isNewline(src.charCodeAt(si))) si++;
        if (si === n) throw new Base64Error(n);
        if (src.charCodeAt(si) !== 0x3d) throw new Base64Error(si - 1);
        si++;
      }
      while (si < n && isNewline(src.charCodeAt(si))) si++;
      if (si < n) throw new Base64Error(si);
      dlen = j;
      done = true;
      break;
    }
    const val = (dbuf[0]! << 18) | (dbuf[1]! << 12) | (dbuf[2]! << 6) | dbuf[3]!;
    out.push((val >> 16) & 0xff);
    if (dlen >= 3) out.push((val >> 8) & 0xff);
    if (dlen >= 4) out.push(val & 0xff);
    if (done) return Buffer.from(out).toString("latin1");
  }
}
