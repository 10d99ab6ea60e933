// Book 1.6.1: how Kubernetes writes times and durations in JSON — metav1.Time to the second,
// MicroTime to the microsecond (both RFC 3339 in UTC) and metav1.Duration as Go prints it ("1h0m0s").

/** Unix seconds of Go's zero time.Time (0001-01-01T00:00:00Z), which JSON writes as null. */
export const GO_ZERO_TIME_SECONDS = -62135596800n;

/** The range RFC 3339 can express with four-digit years. */
const MIN_SECONDS = -62167219200n; // 0000-01-01T00:00:00Z
const MAX_SECONDS = 253402300799n; // 9999-12-31T23:59:59Z

function isoSeconds(seconds: bigint): string | undefined {
  if (seconds < MIN_SECONDS || seconds > MAX_SECONDS) return undefined;
  return new Date(Number(seconds) * 1000).toISOString().slice(0, 19);
}

/**
 * A metav1.Time from its protobuf seconds: null for Go's zero time, else RFC 3339 to the second.
 * (Like upstream, the nanoseconds on the wire are ignored.) undefined when the year is out of range.
 */
export function formatTime(seconds: bigint): string | null | undefined {
  if (seconds === GO_ZERO_TIME_SECONDS) return null;
  const s = isoSeconds(seconds);
  return s === undefined ? undefined : `${s}Z`;
}

/**
 * A metav1.MicroTime from protobuf seconds and nanos: nanos are cut to whole microseconds and
 * carried into the seconds when out of [0, 1e9). null for Go's zero time, undefined out of range.
 */
export function formatMicroTime(seconds: bigint, nanos: number): string | null | undefined {
  const micros = nanos - (nanos % 1000);
  const carry = Math.floor(micros / 1e9);
  const sec = seconds + BigInt(carry);
  const ns = micros - carry * 1e9;
  if (sec === GO_ZERO_TIME_SECONDS && ns === 0) return null;
  const s = isoSeconds(sec);
  if (s === undefined) return undefined;
  return `${s}.${String(ns / 1000).padStart(6, "0")}Z`;
}

/** v / 10^digits split into the whole part and ".fraction" without trailing zeros ("" when none). */
function fraction(v: bigint, digits: number): [bigint, string] {
  const p = 10n ** BigInt(digits);
  const frac = v % p;
  if (frac === 0n) return [v / p, ""];
  return [v / p, "." + frac.toString().padStart(digits, "0").replace(/0+$/, "")];
}

/** A Go time.Duration (nanoseconds) as Go's String() writes it: "0s", "1.5ms", "90s" → "1m30s", "1h0m0s". */
export function formatDuration(nanoseconds: bigint): string {
  if (nanoseconds === 0n) return "0s";
  const sign = nanoseconds < 0n ? "-" : "";
  const u = nanoseconds < 0n ? -nanoseconds : nanoseconds;
  if (u < 1_000_000_000n) {
    const [digits, unit] = u < 1000n ? [0, "ns"] : u < 1_000_000n ? [3, "µs"] : [6, "ms"];
    const [whole, frac] = fraction(u, digits);
    return `${sign}${whole}${frac}${unit}`;
  }
  const [secs, frac] = fraction(u, 9);
  let out = `${secs % 60n}${frac}s`;
  const mins = secs / 60n;
  if (mins > 0n) {
    out = `${mins % 60n}m${out}`;
    const hours = mins / 60n;
    if (hours > 0n) out = `${hours}h${out}`;
  }
  return sign + out;
}
