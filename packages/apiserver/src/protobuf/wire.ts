// Book 1.6.1: the protobuf wire format underneath application/vnd.kubernetes.protobuf — varints,
// length-delimited bytes and fixed-width numbers, read field by field with clear errors for bad input.
import { badRequest, type StatusError } from "@corekube/api";

export const WIRE_VARINT = 0;
export const WIRE_FIXED64 = 1;
export const WIRE_BYTES = 2;
export const WIRE_FIXED32 = 5;

/** One field as it appeared on the wire. */
export interface WireField {
  number: number;
  wireType: number;
  /** wire type 0 */
  varint?: bigint;
  /** wire type 2: the payload; wire types 1 and 5: the raw 8 or 4 bytes */
  bytes?: Uint8Array;
}

export function malformed(message: string): StatusError {
  return badRequest(`invalid protobuf body: ${message}`);
}

/** A cursor over one message's bytes. `where` names the message in error texts. */
export class WireReader {
  private pos = 0;

  constructor(
    private readonly buf: Uint8Array,
    private readonly where: string,
  ) {}

  get done(): boolean {
    return this.pos >= this.buf.length;
  }

  /** An unsigned varint of up to 64 bits. */
  varint(): bigint {
    let result = 0n;
    for (let shift = 0n; shift < 70n; shift += 7n) {
      if (this.pos >= this.buf.length) throw malformed(`truncated varint in ${this.where}`);
      const b = this.buf[this.pos++]!;
      result |= BigInt(b & 0x7f) << shift;
      if (b < 0x80) {
        if (result >> 64n !== 0n) throw malformed(`varint overflows 64 bits in ${this.where}`);
        return result;
      }
    }
    throw malformed(`varint longer than 10 bytes in ${this.where}`);
  }

  private take(n: number, what: string): Uint8Array {
    if (n > this.buf.length - this.pos) {
      throw malformed(`truncated ${what} in ${this.where}: needs ${n} bytes, ${this.buf.length - this.pos} left`);
    }
    const out = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  /** The next field, or throws on a malformed key or payload. */
  field(): WireField {
    const key = this.varint();
    const number = Number(key >> 3n);
    const wireType = Number(key & 7n);
    if (number === 0 || key >> 3n > 0x1fffffffn) throw malformed(`invalid field number ${key >> 3n} in ${this.where}`);
    switch (wireType) {
      case WIRE_VARINT:
        return { number, wireType, varint: this.varint() };
      case WIRE_FIXED64:
        return { number, wireType, bytes: this.take(8, `field ${number}`) };
      case WIRE_BYTES: {
        const len = this.varint();
        if (len > BigInt(this.buf.length)) {
          throw malformed(`truncated field ${number} in ${this.where}: length ${len} runs past the end`);
        }
        return { number, wireType, bytes: this.take(Number(len), `field ${number}`) };
      }
      case WIRE_FIXED32:
        return { number, wireType, bytes: this.take(4, `field ${number}`) };
      default:
        throw malformed(`unsupported wire type ${wireType} for field ${number} in ${this.where}`);
    }
  }
}

/** Every field of a message, in wire order. */
export function readFields(buf: Uint8Array, where: string): WireField[] {
  const r = new WireReader(buf, where);
  const out: WireField[] = [];
  while (!r.done) out.push(r.field());
  return out;
}

/** The varints of a packed repeated field. */
export function unpackVarints(buf: Uint8Array, where: string): bigint[] {
  const r = new WireReader(buf, where);
  const out: bigint[] = [];
  while (!r.done) out.push(r.varint());
  return out;
}

/** The doubles of a packed repeated double field. */
export function unpackDoubles(buf: Uint8Array, where: string): number[] {
  if (buf.length % 8 !== 0) throw malformed(`packed doubles of ${buf.length} bytes in ${where}`);
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const out: number[] = [];
  for (let i = 0; i < buf.length; i += 8) out.push(view.getFloat64(i, true));
  return out;
}

export function readDouble(eight: Uint8Array): number {
  return new DataView(eight.buffer, eight.byteOffset, 8).getFloat64(0, true);
}

const utf8 = new TextDecoder("utf-8");

/** Text as Go's JSON would write it: invalid UTF-8 becomes U+FFFD. */
export function readString(buf: Uint8Array): string {
  return utf8.decode(buf);
}

/** The concatenation of repeated occurrences of one message field (protobuf merges them). */
export function concat(chunks: readonly Uint8Array[]): Uint8Array {
  if (chunks.length === 1) return chunks[0]!;
  let n = 0;
  for (const c of chunks) n += c.length;
  const out = new Uint8Array(n);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}
