// Book 11.2: how a custom resource's `date` printer column shows — an age ("5m", "3h10m") from the
// same rounding as the built-in AGE column; a value that is not a time reads "<invalid>".
import { humanDuration, parseTime } from "../kinds/age.js";

export { humanDuration };

/** RFC 3339 timestamp → age relative to `now`; "<unknown>" when absent, "<invalid>" when unparsable. */
export function ageOf(timestamp: unknown, now: Date): string {
  if (timestamp === undefined || timestamp === null || timestamp === "") return "<unknown>";
  const t = parseTime(timestamp);
  return t === undefined ? "<invalid>" : humanDuration(now.getTime() - t);
}
