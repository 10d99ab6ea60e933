// Book 11.2: how `kubectl get` shows a date column — a timestamp turned into a short age ("5m",
// "3h10m", "12d") relative to the server's clock, as the API server's Table rows carry it.

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
const YEAR = 365 * DAY;

function withRest(big: number, bigUnit: string, rest: number, restUnit: string): string {
  return rest === 0 ? `${big}${bigUnit}` : `${big}${bigUnit}${rest}${restUnit}`;
}

/**
 * A duration in the compact form kubectl prints: exact seconds under two minutes, then minutes
 * (with seconds under ten minutes), hours (with minutes under eight hours), days, years. Small
 * negative durations (clock skew) read "0s"; larger ones "<invalid>".
 */
export function humanDuration(ms: number): string {
  const seconds = Math.trunc(ms / SECOND);
  if (seconds < -1) return "<invalid>";
  if (seconds < 0) return "0s";
  if (seconds < 120) return `${seconds}s`;
  const minutes = Math.trunc(ms / MINUTE);
  if (minutes < 10) return withRest(minutes, "m", seconds % 60, "s");
  if (minutes < 180) return `${minutes}m`;
  const hours = Math.trunc(ms / HOUR);
  if (hours < 8) return withRest(hours, "h", minutes % 60, "m");
  if (hours < 48) return `${hours}h`;
  const days = Math.trunc(ms / DAY);
  if (hours < 8 * 24) return withRest(days, "d", hours % 24, "h");
  if (ms < 2 * YEAR) return `${days}d`;
  const years = Math.trunc(ms / YEAR);
  if (ms < 8 * YEAR) return withRest(years, "y", days % 365, "d");
  return `${years}y`;
}

/** RFC 3339 timestamp → age relative to `now`; "<unknown>" when absent, "<invalid>" when unparsable. */
export function ageOf(timestamp: unknown, now: Date): string {
  if (timestamp === undefined || timestamp === null || timestamp === "") return "<unknown>";
  if (typeof timestamp !== "string") return "<invalid>";
  const t = Date.parse(timestamp);
  if (Number.isNaN(t)) return "<invalid>";
  return humanDuration(now.getTime() - t);
}
