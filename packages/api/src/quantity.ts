// Book 14.1: CPU and memory units — resource.Quantity, the fixed-point numbers behind
// requests and limits ("500m", "128Mi", "1e3"), with exact arithmetic and canonical output.

/** How a quantity prints: `12Mi` (BinarySI), `12M` (DecimalSI) or `12e6` (DecimalExponent). */
export type QuantityFormat = "BinarySI" | "DecimalSI" | "DecimalExponent";

/** Thrown by parseQuantity for text that is not a quantity. */
export class QuantityParseError extends Error {
  readonly input: string;
  constructor(input: string, problem: string) {
    super(`invalid quantity ${JSON.stringify(input)}: ${problem}`);
    this.name = "QuantityParseError";
    this.input = input;
  }
}

const NANOS_PER_UNIT = 1_000_000_000n;
/** Binary-suffixed input is capped at 2^63-1 units, as upstream does. */
const MAX_BINARY_NANOS = ((1n << 63n) - 1n) * NANOS_PER_UNIT;
/** Bound on e/E exponents, so "1e999999999" is an error rather than a giant allocation. */
const MAX_EXPONENT = 1000;

const DECIMAL_SUFFIXES: Record<string, number> = { n: -9, u: -6, m: -3, "": 0, k: 3, M: 6, G: 9, T: 12, P: 15, E: 18 };
const DECIMAL_BY_EXPONENT = new Map<number, string>(Object.entries(DECIMAL_SUFFIXES).map(([s, e]) => [e, s]));
const BINARY_SUFFIXES = ["", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei"] as const;

function pow10(n: number): bigint {
  return 10n ** BigInt(n);
}

function abs(n: bigint): bigint {
  return n < 0n ? -n : n;
}

/** n / d rounded away from zero (d > 0): upstream's "round up". */
function divAway(n: bigint, d: bigint): bigint {
  const q = n / d;
  if (n % d === 0n) return q;
  return n < 0n ? q - 1n : q + 1n;
}

/**
 * An exact amount, stored as a whole number of nano-units (10^-9), plus the format it prints in.
 * Immutable: arithmetic returns new quantities.
 */
export class Quantity {
  /** The amount in units of 10^-9. */
  readonly nanos: bigint;
  readonly format: QuantityFormat;

  private constructor(nanos: bigint, format: QuantityFormat) {
    this.nanos = nanos;
    this.format = format;
  }

  /** Parse Kubernetes quantity text; throws QuantityParseError. */
  static parse(text: string): Quantity {
    return parseQuantity(text);
  }

  /** `value` whole units: fromInt(1024, "BinarySI") prints "1Ki". */
  static fromInt(value: number | bigint, format: QuantityFormat = "DecimalSI"): Quantity {
    return new Quantity(toBigInt(value) * NANOS_PER_UNIT, format);
  }

  /** `value` thousandths: fromMilli(1500) prints "1500m". */
  static fromMilli(value: number | bigint, format: QuantityFormat = "DecimalSI"): Quantity {
    return new Quantity(toBigInt(value) * 1_000_000n, format);
  }

  /** `value × 10^scale` in DecimalSI; scale ≥ -9 (finer amounts round away from zero to 1n). */
  static fromScaled(value: number | bigint, scale: number, format: QuantityFormat = "DecimalSI"): Quantity {
    const v = toBigInt(value);
    const shift = scale + 9;
    return new Quantity(shift >= 0 ? v * pow10(shift) : divAway(v, pow10(-shift)), format);
  }

  /** Build directly from nano-units. */
  static fromNanos(nanos: bigint, format: QuantityFormat = "DecimalSI"): Quantity {
    return new Quantity(nanos, format);
  }

  static zero(format: QuantityFormat = "DecimalSI"): Quantity {
    return new Quantity(0n, format);
  }

  isZero(): boolean {
    return this.nanos === 0n;
  }

  sign(): -1 | 0 | 1 {
    return this.nanos === 0n ? 0 : this.nanos < 0n ? -1 : 1;
  }

  /** -1, 0 or 1 as this is less than, equal to or greater than `other`. */
  cmp(other: Quantity): -1 | 0 | 1 {
    return this.nanos === other.nanos ? 0 : this.nanos < other.nanos ? -1 : 1;
  }

  /** Same amount (format is ignored: 1Ki equals 1024). */
  equals(other: Quantity): boolean {
    return this.nanos === other.nanos;
  }

  /** Sum; keeps this format, unless this is zero, when it takes other's. */
  add(other: Quantity): Quantity {
    return new Quantity(this.nanos + other.nanos, this.isZero() ? other.format : this.format);
  }

  /** Difference; keeps this format, unless this is zero, when it takes other's. */
  sub(other: Quantity): Quantity {
    return new Quantity(this.nanos - other.nanos, this.isZero() ? other.format : this.format);
  }

  /** Multiply by a whole number. */
  mul(factor: number | bigint): Quantity {
    return new Quantity(this.nanos * toBigInt(factor), this.format);
  }

  neg(): Quantity {
    return new Quantity(-this.nanos, this.format);
  }

  withFormat(format: QuantityFormat): Quantity {
    return new Quantity(this.nanos, format);
  }

  /** ceil(q / 10^scale), rounding away from zero; exact for any size. */
  scaledValue(scale: number): bigint {
    const shift = scale + 9;
    return shift >= 0 ? divAway(this.nanos, pow10(shift)) : this.nanos * pow10(-shift);
  }

  /** Whole units rounded away from zero ("1.1" → 2, "-1.1" → -2). Loses precision past 2^53. */
  value(): number {
    return Number(this.scaledValue(0));
  }

  /** Thousandths rounded away from zero ("1.0001" → 1001). CPU requests are milliValue(). */
  milliValue(): number {
    return Number(this.scaledValue(-3));
  }

  /** Approximate value as a float, for display and ratios only. */
  toNumber(): number {
    return Number(this.nanos) / 1e9;
  }

  /** Canonical Kubernetes serialization. */
  toString(): string {
    const [number, suffix] = canonicalize(this.nanos, this.format);
    return number + suffix;
  }

  toJSON(): string {
    return this.toString();
  }
}

function toBigInt(v: number | bigint): bigint {
  if (typeof v === "bigint") return v;
  if (!Number.isSafeInteger(v)) throw new RangeError(`expected a safe integer, got ${v}`);
  return BigInt(v);
}

/** Number part, then suffix: `[+-] digits [. digits] suffix`. */
const SHAPE = /^([+-]?)([0-9]*)(?:\.([0-9]*))?([A-Za-z][A-Za-z0-9+-]*)?$/;

/**
 * Parse a quantity. Accepts the Kubernetes grammar: a signed decimal number ("1", "1.5", ".5",
 * "1.") followed by a binary SI suffix (Ki…Ei), a decimal SI suffix (n u m k M G T P E) or a
 * decimal exponent (e3, E-3). JSON numbers are accepted too. Amounts finer than 1n round away
 * from zero; binary-suffixed amounts above 2^63-1 are capped there, as upstream does.
 */
export function parseQuantity(input: string | number): Quantity {
  let text: string;
  if (typeof input === "number") {
    if (!Number.isFinite(input)) throw new QuantityParseError(String(input), "not a finite number");
    text = String(input).replace("e+", "e");
  } else {
    text = input;
  }
  if (text === "") throw new QuantityParseError(text, "empty string");
  const m = SHAPE.exec(text);
  if (!m) throw new QuantityParseError(text, "expected a number followed by an optional suffix, like 500m, 1.5Gi or 1e3");
  const [, sign = "", whole = "", frac = "", suffix = ""] = m;
  if (whole === "" && frac === "") throw new QuantityParseError(text, "no digits in the numeric part");

  let format: QuantityFormat;
  let exp10 = 0;
  let exp2 = 0;
  const binary = BINARY_SUFFIXES.indexOf(suffix as (typeof BINARY_SUFFIXES)[number]);
  if (suffix !== "" && binary > 0) {
    format = "BinarySI";
    exp2 = binary * 10;
  } else if (suffix in DECIMAL_SUFFIXES) {
    format = "DecimalSI";
    exp10 = DECIMAL_SUFFIXES[suffix]!;
  } else if (/^[eE][+-]?[0-9]+$/.test(suffix)) {
    format = "DecimalExponent";
    const e = Number(suffix.slice(1));
    if (Math.abs(e) > MAX_EXPONENT) throw new QuantityParseError(text, `exponent ${e} is out of range (±${MAX_EXPONENT})`);
    exp10 = e;
  } else {
    throw new QuantityParseError(
      text,
      `unknown suffix ${JSON.stringify(suffix)}; use Ki Mi Gi Ti Pi Ei, n u m k M G T P E, or an exponent like e3`,
    );
  }

  // magnitude = digits × 10^(exp10 - len(frac)) × 2^exp2, held in nano-units.
  let nanos = BigInt(whole + frac || "0") << BigInt(exp2);
  const shift = exp10 - frac.length + 9;
  nanos = shift >= 0 ? nanos * pow10(shift) : divAway(nanos, pow10(-shift));

  if (format === "BinarySI") {
    if (nanos > MAX_BINARY_NANOS) nanos = MAX_BINARY_NANOS;
    // A binary amount below one unit cannot print as binary; remember it as decimal.
    if (nanos > 0n && nanos < NANOS_PER_UNIT) format = "DecimalSI";
  }
  return Quantity.fromNanos(sign === "-" ? -nanos : nanos, format);
}

/**
 * Canonical form, as upstream prints it: no fractional digits, no lost precision, and the
 * largest suffix (exponent) that allows that. Binary stays binary only when the amount is a
 * whole number of at least 1024; otherwise it prints as DecimalSI.
 */
function canonicalize(nanos: bigint, format: QuantityFormat): [string, string] {
  if (nanos === 0n) return ["0", ""];

  if (format === "BinarySI") {
    if (abs(nanos) >= 1024n * NANOS_PER_UNIT && nanos % NANOS_PER_UNIT === 0n) {
      let units = nanos / NANOS_PER_UNIT;
      let step = 0;
      while (step < BINARY_SUFFIXES.length - 1 && units % 1024n === 0n) {
        units /= 1024n;
        step++;
      }
      return [units.toString(), BINARY_SUFFIXES[step]!];
    }
    format = "DecimalSI";
  }

  // Strip trailing zeros, then lower the exponent to a multiple of three.
  let mantissa = nanos;
  let exponent = -9;
  while (mantissa % 10n === 0n) {
    mantissa /= 10n;
    exponent++;
  }
  const extra = ((exponent % 3) + 3) % 3;
  mantissa *= pow10(extra);
  exponent -= extra;

  if (format === "DecimalSI") {
    const suffix = DECIMAL_BY_EXPONENT.get(exponent);
    // Past "E" (10^18) there is no SI suffix; fall back to exponent notation.
    if (suffix !== undefined) return [mantissa.toString(), suffix];
  }
  return [mantissa.toString(), exponent === 0 ? "" : `e${exponent}`];
}
