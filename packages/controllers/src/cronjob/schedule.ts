// Book 11.3: the CronJob controller's clock face: parse a standard five-field cron expression (or an
// @descriptor) and find the next time it fires after a given instant, in UTC or an IANA time zone.

/** A parsed schedule: the allowed values of each field. */
export interface CronSchedule {
  /** The expression as written. */
  source: string;
  minutes: ReadonlySet<number>;
  hours: ReadonlySet<number>;
  /** Days of the month, 1-31. */
  daysOfMonth: ReadonlySet<number>;
  /** Months, 1-12. */
  months: ReadonlySet<number>;
  /** Days of the week, 0-6 with 0 = Sunday (7 is accepted as Sunday too). */
  daysOfWeek: ReadonlySet<number>;
  /** Whether day-of-month was written as an unrestricted "*" or "?". */
  domStar: boolean;
  /** Whether day-of-week was written as an unrestricted "*" or "?". */
  dowStar: boolean;
}

const DESCRIPTORS: Record<string, string> = {
  "@yearly": "0 0 1 1 *",
  "@annually": "0 0 1 1 *",
  "@monthly": "0 0 1 * *",
  "@weekly": "0 0 * * 0",
  "@daily": "0 0 * * *",
  "@midnight": "0 0 * * *",
  "@hourly": "0 * * * *",
};

const MONTH_NAMES = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"];
const DAY_NAMES = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"];

interface FieldSpec {
  label: string;
  min: number;
  max: number;
  names?: string[];
  /** The value names[0] stands for. */
  namesBase?: number;
  allowQuestion?: boolean;
}

const FIELDS: FieldSpec[] = [
  { label: "minute", min: 0, max: 59 },
  { label: "hour", min: 0, max: 23 },
  { label: "day-of-month", min: 1, max: 31, allowQuestion: true },
  { label: "month", min: 1, max: 12, names: MONTH_NAMES, namesBase: 1 },
  { label: "day-of-week", min: 0, max: 7, names: DAY_NAMES, namesBase: 0, allowQuestion: true },
];

export class CronParseError extends Error {
  constructor(expr: string, detail: string) {
    super(`invalid cron schedule "${expr}": ${detail}`);
    this.name = "CronParseError";
  }
}

function parseValue(text: string, f: FieldSpec, fail: (d: string) => never): number {
  if (/^\d+$/.test(text)) {
    const n = Number(text);
    if (n < f.min || n > f.max) fail(`${f.label} field: value ${n} out of range ${f.min}-${f.max}`);
    return n;
  }
  const i = f.names?.indexOf(text.toLowerCase()) ?? -1;
  if (i < 0) fail(`${f.label} field: "${text}" is not a number${f.names ? " or a name" : ""}`);
  return i + (f.namesBase ?? 0);
}

/** Parse one field; returns its values and whether it was an unrestricted star. */
function parseField(text: string, f: FieldSpec, fail: (d: string) => never): { values: Set<number>; star: boolean } {
  const values = new Set<number>();
  let star = false;
  for (const part of text.split(",")) {
    if (part === "") fail(`${f.label} field: empty list element in "${text}"`);
    const [range, stepText, ...rest] = part.split("/");
    if (rest.length > 0) fail(`${f.label} field: too many "/" in "${part}"`);
    let step = 1;
    if (stepText !== undefined) {
      if (!/^\d+$/.test(stepText) || Number(stepText) === 0) fail(`${f.label} field: step "${stepText}" must be a positive number`);
      step = Number(stepText);
    }
    let lo: number;
    let hi: number;
    if (range === "*" || (range === "?" && f.allowQuestion)) {
      lo = f.min;
      hi = f.label === "day-of-week" ? 6 : f.max;
      // As in the classic implementations, "*/2" is a restriction, not a star, for the day OR rule.
      if (step === 1) star = true;
    } else {
      const bounds = (range ?? "").split("-");
      if (bounds.length > 2 || bounds.some((b) => b === "")) fail(`${f.label} field: malformed range "${range}"`);
      lo = parseValue(bounds[0]!, f, fail);
      // "5/15" means "from 5 to the end, every 15".
      hi = bounds.length === 2 ? parseValue(bounds[1]!, f, fail) : stepText !== undefined ? f.max : lo;
      if (lo > hi) fail(`${f.label} field: range start ${lo} is beyond its end ${hi}`);
    }
    for (let v = lo; v <= hi; v += step) values.add(f.label === "day-of-week" && v === 7 ? 0 : v);
  }
  return { values, star };
}

/** Parse a five-field cron expression or an @descriptor; throws CronParseError on bad input. */
export function parseSchedule(expr: string): CronSchedule {
  const source = expr;
  const fail = (d: string): never => {
    throw new CronParseError(source, d);
  };
  let text = expr.trim();
  if (text === "") fail("empty expression");
  if (/^(CRON_)?TZ=/.test(text)) fail("TZ= and CRON_TZ= prefixes are not supported; set spec.timeZone instead");
  if (text.startsWith("@")) {
    const d = DESCRIPTORS[text.toLowerCase()];
    if (!d) fail(`unknown descriptor "${text}" (want one of ${Object.keys(DESCRIPTORS).join(", ")})`);
    text = d!;
  }
  const parts = text.split(/\s+/);
  if (parts.length !== 5) fail(`expected 5 fields (minute hour day-of-month month day-of-week), got ${parts.length}`);
  const parsed = parts.map((p, i) => parseField(p, FIELDS[i]!, fail));
  return {
    source,
    minutes: parsed[0]!.values,
    hours: parsed[1]!.values,
    daysOfMonth: parsed[2]!.values,
    months: parsed[3]!.values,
    daysOfWeek: parsed[4]!.values,
    domStar: parsed[2]!.star,
    dowStar: parsed[4]!.star,
  };
}

/** Wall-clock fields of an instant in a zone. */
interface WallClock {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
  weekday: number;
}

const formatters = new Map<string, Intl.DateTimeFormat>();
const WEEKDAYS: Record<string, number> = { Sun: 0, Mon: 1, Tue: 2, Wed: 3, Thu: 4, Fri: 5, Sat: 6 };

function formatterFor(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (!f) {
    try {
      f = new Intl.DateTimeFormat("en-US", {
        timeZone,
        hourCycle: "h23",
        year: "numeric",
        month: "numeric",
        day: "numeric",
        hour: "numeric",
        minute: "numeric",
        second: "numeric",
        weekday: "short",
      });
    } catch {
      throw new RangeError(`unknown time zone "${timeZone}"`);
    }
    formatters.set(timeZone, f);
  }
  return f;
}

/** Throws RangeError unless `timeZone` is an IANA zone this runtime knows. */
export function validateTimeZone(timeZone: string): void {
  formatterFor(timeZone);
}

function wallClock(t: Date, timeZone: string): WallClock {
  if (timeZone === "UTC" || timeZone === "Etc/UTC") {
    return {
      year: t.getUTCFullYear(),
      month: t.getUTCMonth() + 1,
      day: t.getUTCDate(),
      hour: t.getUTCHours(),
      minute: t.getUTCMinutes(),
      second: t.getUTCSeconds(),
      weekday: t.getUTCDay(),
    };
  }
  const w: Partial<WallClock> = {};
  for (const p of formatterFor(timeZone).formatToParts(t)) {
    if (p.type === "weekday") w.weekday = WEEKDAYS[p.value];
    else if (p.type === "year" || p.type === "month" || p.type === "day" || p.type === "hour" || p.type === "minute" || p.type === "second") {
      w[p.type] = Number(p.value);
    }
  }
  return w as WallClock;
}

/** Format `t` as RFC 3339 in `timeZone`, with that zone's offset (e.g. 2026-03-01T09:00:00+01:00). */
export function formatInZone(t: Date, timeZone = "UTC"): string {
  const w = wallClock(t, timeZone);
  const asUtc = Date.UTC(w.year, w.month - 1, w.day, w.hour, w.minute, w.second);
  const offsetMin = Math.round((asUtc - Math.floor(t.getTime() / 1000) * 1000) / 60000);
  const pad = (n: number, l = 2) => String(n).padStart(l, "0");
  const date = `${pad(w.year, 4)}-${pad(w.month)}-${pad(w.day)}T${pad(w.hour)}:${pad(w.minute)}:${pad(w.second)}`;
  if (offsetMin === 0) return `${date}Z`;
  const sign = offsetMin < 0 ? "-" : "+";
  const a = Math.abs(offsetMin);
  return `${date}${sign}${pad(Math.floor(a / 60))}:${pad(a % 60)}`;
}

const MINUTE = 60_000;
/** Give up looking after this long (an expression like "0 0 30 2 *" never fires). */
const SEARCH_LIMIT_MS = 5 * 366 * 24 * 60 * MINUTE;

function dayMatches(s: CronSchedule, w: WallClock): boolean {
  if (!s.months.has(w.month)) return false;
  const dom = s.daysOfMonth.has(w.day);
  const dow = s.daysOfWeek.has(w.weekday);
  // Cron's rule: when both day fields are restricted, either may match; otherwise both must.
  return s.domStar || s.dowStar ? dom && dow : dom || dow;
}

/**
 * The first time strictly after `after` (to the minute) at which `schedule` fires, reading the
 * fields as wall-clock time in `timeZone` (UTC by default). Wall-clock times skipped by a daylight
 * saving change do not fire; repeated ones fire each time they occur. Returns undefined when the
 * schedule does not fire within five years.
 */
export function nextAfter(schedule: CronSchedule | string, after: Date, timeZone = "UTC"): Date | undefined {
  const s = typeof schedule === "string" ? parseSchedule(schedule) : schedule;
  formatterFor(timeZone);
  // Walk real instants, minute-aligned, jumping over days, hours and minutes that cannot match.
  let t = Math.floor(after.getTime() / MINUTE) * MINUTE + MINUTE;
  const limit = after.getTime() + SEARCH_LIMIT_MS;
  while (t <= limit) {
    const w = wallClock(new Date(t), timeZone);
    if (!dayMatches(s, w)) {
      // On to about 23:00 local, then hour by hour: a DST change later today shifts the landing by an
      // hour at most, never past the next local midnight.
      t += w.hour < 23 ? ((23 - w.hour) * 60 - w.minute) * MINUTE : (60 - w.minute) * MINUTE;
      continue;
    }
    if (!s.hours.has(w.hour)) {
      t += (60 - w.minute) * MINUTE;
      continue;
    }
    if (!s.minutes.has(w.minute)) {
      let m = w.minute + 1;
      while (m < 60 && !s.minutes.has(m)) m++;
      t += (m - w.minute) * MINUTE;
      continue;
    }
    return new Date(t);
  }
  return undefined;
}
