// Book 11.2: the string formats a CRD schema may name (date-time, byte, uuid, cidr, ...) and how a
// custom resource's strings are checked against them. Unknown formats are ignored, as upstream does.
import { isIP } from "node:net";

const UUID = /^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$/i;
const UUID3 = /^[0-9a-f]{8}-?[0-9a-f]{4}-?3[0-9a-f]{3}-?[0-9a-f]{4}-?[0-9a-f]{12}$/i;
const UUID4 = /^[0-9a-f]{8}-?[0-9a-f]{4}-?4[0-9a-f]{3}-?[89ab][0-9a-f]{3}-?[0-9a-f]{12}$/i;
const UUID5 = /^[0-9a-f]{8}-?[0-9a-f]{4}-?5[0-9a-f]{3}-?[89ab][0-9a-f]{3}-?[0-9a-f]{12}$/i;
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const HEX_COLOR = /^#?([0-9a-fA-F]{3}|[0-9a-fA-F]{6})$/;
const RGB_COLOR = /^rgb\(\s*(\d{1,3})\s*,\s*(\d{1,3})\s*,\s*(\d{1,3})\s*\)$/;
const SSN = /^\d{3}[- ]?\d{2}[- ]?\d{4}$/;
const BSON_OBJECT_ID = /^[0-9a-fA-F]{24}$/;
const EMAIL_ADDR = /^[^\s@<>()[\]\\,;:"]+@[^\s@<>()[\]\\,;:"]+$/;
const HOSTNAME_LABEL = /^[A-Za-z0-9]([-A-Za-z0-9]{0,61}[A-Za-z0-9])?$/;
const MAC_SEPARATED = /^[0-9a-fA-F]{2}([:-])[0-9a-fA-F]{2}(\1[0-9a-fA-F]{2})*$/;
const MAC_DOTTED = /^[0-9a-fA-F]{4}(\.[0-9a-fA-F]{4})+$/;
const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;
const DATE_TIME =
  /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?(?:[Zz]|[+-]\d{2}(?::?\d{2})?)?$/;
const GO_DURATION = /^[-+]?((\d+(\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h))+$/;
const WORD_DURATION =
  /^\d+\s*(ns|us|µs|ms|s|m|h|d|w|nanoseconds?|microseconds?|milliseconds?|seconds?|minutes?|hours?|days?|weeks?)$/i;

function validDate(y: number, m: number, d: number): boolean {
  if (m < 1 || m > 12 || d < 1) return false;
  const days = new Date(Date.UTC(y, m, 0)).getUTCDate();
  return d <= days;
}

function isDate(s: string): boolean {
  const m = DATE.exec(s);
  return m !== null && validDate(Number(m[1]), Number(m[2]), Number(m[3]));
}

function isDateTime(s: string): boolean {
  const m = DATE_TIME.exec(s);
  if (!m) return false;
  if (!validDate(Number(m[1]), Number(m[2]), Number(m[3]))) return false;
  return Number(m[4]) < 24 && Number(m[5]) < 60 && (m[6] === undefined || Number(m[6]) < 61);
}

function isHostname(s: string): boolean {
  const name = s.endsWith(".") ? s.slice(0, -1) : s;
  if (name.length === 0 || name.length > 253) return false;
  return name.split(".").every((l) => HOSTNAME_LABEL.test(l));
}

function isEmail(s: string): boolean {
  const angle = /^[^<>]*<([^<>]+)>$/.exec(s.trim());
  return EMAIL_ADDR.test(angle ? angle[1]! : s);
}

function isURI(s: string): boolean {
  if (s.startsWith("/")) return !/\s/.test(s);
  try {
    new URL(s);
    return !/\s/.test(s);
  } catch {
    return false;
  }
}

function isCIDR(s: string): boolean {
  const slash = s.indexOf("/");
  if (slash < 0) return false;
  const ip = s.slice(0, slash);
  const bits = s.slice(slash + 1);
  const family = isIP(ip);
  if (family === 0 || !/^\d{1,3}$/.test(bits)) return false;
  return Number(bits) <= (family === 4 ? 32 : 128);
}

function isMAC(s: string): boolean {
  if (MAC_DOTTED.test(s)) return [3, 4, 10].includes(s.split(".").length);
  if (!MAC_SEPARATED.test(s)) return false;
  return [6, 8, 20].includes(s.split(/[:-]/).length);
}

function isRGB(s: string): boolean {
  const m = RGB_COLOR.exec(s);
  return m !== null && [m[1], m[2], m[3]].every((v) => Number(v) <= 255);
}

function isbn10(s: string): boolean {
  const d = s.replace(/[- ]/g, "");
  if (!/^\d{9}[\dX]$/.test(d)) return false;
  let sum = 0;
  for (let i = 0; i < 10; i++) sum += (10 - i) * (d[i] === "X" ? 10 : Number(d[i]));
  return sum % 11 === 0;
}

function isbn13(s: string): boolean {
  const d = s.replace(/[- ]/g, "");
  if (!/^\d{13}$/.test(d)) return false;
  let sum = 0;
  for (let i = 0; i < 13; i++) sum += (i % 2 === 0 ? 1 : 3) * Number(d[i]);
  return sum % 10 === 0;
}

function isCreditCard(s: string): boolean {
  const d = s.replace(/\D/g, "");
  return /^(?:4\d{12}(?:\d{3})?|5[1-5]\d{14}|6(?:011|5\d\d)\d{12}|3[47]\d{13}|3(?:0[0-5]|[68]\d)\d{11}|(?:2131|1800|35\d{3})\d{11})$/.test(d);
}

/**
 * The string formats a CRD may use, keyed by name. A format not listed here is dropped from the
 * schema before validation, so `format: int32` on an integer (or any unknown name) checks nothing.
 */
export const stringFormats: Readonly<Record<string, (s: string) => boolean>> = {
  bsonobjectid: (s) => BSON_OBJECT_ID.test(s),
  uri: isURI,
  email: isEmail,
  hostname: isHostname,
  ipv4: (s) => isIP(s) !== 0 && s.includes("."),
  ipv6: (s) => isIP(s) !== 0 && s.includes(":"),
  cidr: isCIDR,
  mac: isMAC,
  uuid: (s) => UUID.test(s),
  uuid3: (s) => UUID3.test(s),
  uuid4: (s) => UUID4.test(s),
  uuid5: (s) => UUID5.test(s),
  isbn: (s) => isbn10(s) || isbn13(s),
  isbn10,
  isbn13,
  creditcard: isCreditCard,
  ssn: (s) => SSN.test(s),
  hexcolor: (s) => HEX_COLOR.test(s),
  rgbcolor: isRGB,
  byte: (s) => BASE64.test(s),
  password: () => true,
  date: isDate,
  duration: (s) => GO_DURATION.test(s) || WORD_DURATION.test(s.trim()),
  datetime: isDateTime,
  "date-time": isDateTime,
};

/** The format name a schema's `format` stands for, or undefined when it is not one we check. */
export function knownStringFormat(format: string | undefined): string | undefined {
  if (format === undefined || format === "") return undefined;
  if (Object.hasOwn(stringFormats, format)) return format;
  const normalized = format.replaceAll("-", "").replaceAll("_", "").toLowerCase();
  return Object.hasOwn(stringFormats, normalized) ? normalized : undefined;
}
