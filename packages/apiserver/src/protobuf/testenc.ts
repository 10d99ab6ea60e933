// Book 1.6.1: a tiny protobuf writer for tests — enough of the wire format (varints, bytes, doubles,
// nested messages, the "k8s\0" envelope) to build Kubernetes protobuf bodies by hand.

/** One encoded field (or several concatenated); a message is just its fields back to back. */
export type Fields = Uint8Array;

function varintBytes(v: bigint): number[] {
  let u = BigInt.asUintN(64, v);
  const out: number[] = [];
  do {
    let b = Number(u & 0x7fn);
    u >>= 7n;
    if (u !== 0n) b |= 0x80;
    out.push(b);
  } while (u !== 0n);
  return out;
}

function key(n: number, wireType: number): number[] {
  return varintBytes((BigInt(n) << 3n) | BigInt(wireType));
}

/** Concatenate fields into one message. */
export function msg(...fields: Fields[]): Fields {
  const out = new Uint8Array(fields.reduce((n, f) => n + f.length, 0));
  let at = 0;
  for (const f of fields) {
    out.set(f, at);
    at += f.length;
  }
  return out;
}

/** A varint field (int32, int64, bool, enum); negative numbers take ten bytes, as in Go. */
export function varint(n: number, v: number | bigint | boolean): Fields {
  const big = typeof v === "boolean" ? (v ? 1n : 0n) : BigInt(v);
  return Uint8Array.from([...key(n, 0), ...varintBytes(big)]);
}

/** A length-delimited field holding raw bytes (also used for nested messages). */
export function bytes(n: number, data: Uint8Array | string): Fields {
  const b = typeof data === "string" ? new TextEncoder().encode(data) : data;
  return msg(Uint8Array.from([...key(n, 2), ...varintBytes(BigInt(b.length))]), b);
}

export const str = (n: number, s: string): Fields => bytes(n, s);

/** A nested message field. */
export function sub(n: number, ...fields: Fields[]): Fields {
  return bytes(n, msg(...fields));
}

export function double(n: number, v: number): Fields {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setFloat64(0, v, true);
  return msg(Uint8Array.from(key(n, 1)), b);
}

/** A packed repeated varint field. */
export function packed(n: number, values: readonly (number | bigint)[]): Fields {
  return bytes(n, Uint8Array.from(values.flatMap((v) => varintBytes(BigInt(v)))));
}

/** One entry of a map<string, T> field: {key = 1, value = 2}. */
export function entry(n: number, k: string, value: Fields): Fields {
  return sub(n, str(1, k), value);
}

/** map<string, string> entries. */
export function stringMap(n: number, m: Record<string, string>): Fields {
  return msg(...Object.entries(m).map(([k, v]) => entry(n, k, str(2, v))));
}

/** The "k8s\0" + runtime.Unknown envelope around an object's message. */
export function envelope(apiVersion: string, kind: string, raw: Fields, extra: Fields = new Uint8Array(0)): Uint8Array {
  return msg(Uint8Array.from([0x6b, 0x38, 0x73, 0x00]), sub(1, str(1, apiVersion), str(2, kind)), bytes(2, raw), extra);
}

/** resource.Quantity {string = 1} */
export const quantity = (n: number, q: string): Fields => sub(n, str(1, q));

/** intstr.IntOrString {type = 1, intVal = 2, strVal = 3} */
export const intOrString = (n: number, v: number | string): Fields =>
  typeof v === "number" ? sub(n, varint(1, 0), varint(2, v)) : sub(n, varint(1, 1), str(3, v));

/** metav1.Time / MicroTime {seconds = 1, nanos = 2} */
export const timestamp = (n: number, seconds: number | bigint, nanos = 0): Fields =>
  sub(n, varint(1, seconds), ...(nanos !== 0 ? [varint(2, nanos)] : []));

/** ObjectMeta with a name, and optionally a namespace and labels. */
export function objectMeta(name: string, namespace?: string, labels?: Record<string, string>): Fields {
  return sub(1, str(1, name), ...(namespace !== undefined ? [str(3, namespace)] : []), ...(labels ? [stringMap(11, labels)] : []));
}
