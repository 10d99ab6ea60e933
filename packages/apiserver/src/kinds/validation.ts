// Book 11.2: small field validators shared by the built-in kinds — numbers, ports, IPs,
// int-or-percent values, quantities, config keys and enums — worded as Kubernetes words them.
import { isIP } from "node:net";
import { field, parseQuantity, type FieldError, type Quantity } from "@corekube/api";
import { isDNS1123Subdomain, isQualifiedName } from "./meta.js";

export function nonNegative(value: unknown, path: string): FieldError[] {
  return typeof value === "number" && value < 0 ? [field.invalid(path, value, "must be greater than or equal to 0")] : [];
}

export function positive(value: unknown, path: string): FieldError[] {
  return typeof value === "number" && value <= 0 ? [field.invalid(path, value, "must be greater than 0")] : [];
}

/** A whole number when present; `path: Invalid value: 1.5: must be an integer` otherwise. */
export function integer(value: unknown, path: string): FieldError[] {
  if (value === undefined || value === null) return [];
  return typeof value === "number" && Number.isInteger(value) ? [] : [field.typeInvalid(path, value, "must be an integer")];
}

/** `value` must be one of `allowed`; an empty value is "Required" when `required`. */
export function oneOf(value: unknown, allowed: readonly string[], path: string, required = true): FieldError[] {
  if (value === undefined || value === null || value === "") return required ? [field.required(path, "")] : [];
  return typeof value === "string" && allowed.includes(value) ? [] : [field.notSupported(path, value, allowed)];
}

export function isValidPortNum(port: number): string[] {
  return Number.isInteger(port) && port >= 1 && port <= 65535 ? [] : ["must be between 1 and 65535, inclusive"];
}

/** Problems with a port name (IANA service name): 1-15 of [-a-z0-9] with a letter, no "--", no edge "-". */
export function isValidPortName(name: string): string[] {
  const errs: string[] = [];
  if (name.length > 15) errs.push("must be no more than 15 characters");
  if (!/^[-a-z0-9]+$/.test(name)) errs.push("must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)");
  if (!/[a-z]/.test(name)) errs.push("must contain at least one letter (a-z)");
  if (name.includes("--")) errs.push("must not contain consecutive hyphens");
  if (name.length > 0 && (name.startsWith("-") || name.endsWith("-"))) errs.push("must not begin or end with a hyphen");
  return errs;
}

/** A port given as a number (1-65535) or a name (a container port's name). */
export function validatePortNumOrName(port: unknown, path: string): FieldError[] {
  if (typeof port === "number") return isValidPortNum(port).map((m) => field.invalid(path, port, m));
  if (typeof port === "string") {
    if (port === "") return [field.required(path, "")];
    return isValidPortName(port).map((m) => field.invalid(path, port, m));
  }
  return [field.invalid(path, port ?? null, "must contain an int or string")];
}

/** An IPv4 or IPv6 address in canonical text form. */
export function isValidIP(ip: string): boolean {
  return isIP(ip) !== 0 && !/(^|\.)0\d/.test(ip.includes(":") ? "" : ip);
}

export function validateIP(ip: unknown, path: string): FieldError[] {
  if (typeof ip === "string" && isValidIP(ip)) return [];
  return [field.invalid(path, ip ?? "", "must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)")];
}

export function isValidCIDR(cidr: string): boolean {
  const slash = cidr.indexOf("/");
  if (slash < 0) return false;
  const ip = cidr.slice(0, slash);
  const bits = cidr.slice(slash + 1);
  const family = isIP(ip);
  if (family === 0 || !/^\d{1,3}$/.test(bits)) return false;
  return Number(bits) <= (family === 4 ? 32 : 128);
}

export function validateCIDR(cidr: unknown, path: string): FieldError[] {
  if (typeof cidr === "string" && isValidCIDR(cidr)) return [];
  return [field.invalid(path, cidr ?? "", "must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)")];
}

const PERCENT_RE = /^[0-9]+%$/;

/** An IntOrString that must be a non-negative integer or a percentage like "25%". */
export function validateIntOrPercent(v: unknown, path: string): FieldError[] {
  if (typeof v === "number") return Number.isInteger(v) ? nonNegative(v, path) : [field.invalid(path, v, "must be an integer or percentage (e.g '5%')")];
  if (typeof v === "string") {
    return PERCENT_RE.test(v)
      ? []
      : [
          field.invalid(
            path,
            v,
            "a valid percent string must be a numeric string followed by an ending '%' (e.g. '1%',  or '93%', regex used for validation is '[0-9]+%')",
          ),
        ];
  }
  if (v === undefined || v === null) return [];
  return [field.invalid(path, v, "must be an integer or percentage (e.g '5%')")];
}

/** The number inside an int-or-percent value (25 for "25%"), and whether it was a percentage. */
export function intOrPercentValue(v: unknown): { value: number; percent: boolean } {
  if (typeof v === "number") return { value: v, percent: false };
  if (typeof v === "string" && PERCENT_RE.test(v)) return { value: Number(v.slice(0, -1)), percent: true };
  if (typeof v === "string" && /^-?\d+$/.test(v)) return { value: Number(v), percent: false };
  return { value: 0, percent: false };
}

export function notMoreThan100Percent(v: unknown, path: string): FieldError[] {
  const { value, percent } = intOrPercentValue(v);
  return percent && value > 100 ? [field.invalid(path, v, "must not be greater than 100%")] : [];
}

const QUANTITY_RULE = "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'";

/** The quantity, or undefined when the text is not one (see validateQuantity for the error). */
export function quantityOf(v: unknown): Quantity | undefined {
  if (typeof v !== "string" && typeof v !== "number") return undefined;
  try {
    return parseQuantity(v);
  } catch {
    return undefined;
  }
}

/** A parseable quantity, not negative. */
export function validateQuantity(v: unknown, path: string): FieldError[] {
  const q = quantityOf(v);
  if (!q) return [field.invalid(path, v ?? null, QUANTITY_RULE)];
  return q.sign() < 0 ? [field.invalid(path, String(v), "must be greater than or equal to 0")] : [];
}

/** Keys of ConfigMaps, Secrets and projected items: [-._a-zA-Z0-9]+, at most 253, not "." or "..". */
export function isConfigMapKey(key: string): string[] {
  const errs: string[] = [];
  if (key.length > 253) errs.push("must be no more than 253 characters");
  if (!/^[-._a-zA-Z0-9]+$/.test(key)) {
    errs.push(
      "a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')",
    );
  }
  if (key === ".") errs.push("must not be '.'");
  else if (key === "..") errs.push("must not be '..'");
  else if (key.startsWith("..")) errs.push("must not start with '..'");
  return errs;
}

/** Environment variable names: any printable ASCII except "=". */
export function isEnvVarName(name: string): string[] {
  if (name === "") return ["environment variable name must be non-empty"];
  for (const ch of name) {
    const c = ch.codePointAt(0)!;
    if (c < 32 || c > 126 || ch === "=") return ["a valid environment variable name must consist only of printable ASCII characters other than '='"];
  }
  return [];
}

/** A DNS-1123 subdomain field (service account names, node names, priority class names...). */
export function validateSubdomain(v: unknown, path: string): FieldError[] {
  if (typeof v !== "string") return [field.invalid(path, v ?? null, "must be a string")];
  return isDNS1123Subdomain(v).map((m) => field.invalid(path, v, m));
}

export function validateQualifiedName(v: unknown, path: string): FieldError[] {
  if (typeof v !== "string") return [field.invalid(path, v ?? null, "must be a string")];
  return isQualifiedName(v).map((m) => field.invalid(path, v, m));
}

/** A timestamp field: RFC 3339 text when set. */
export function validateTime(v: unknown, path: string): FieldError[] {
  if (v === undefined || v === null) return [];
  return typeof v === "string" && !Number.isNaN(Date.parse(v)) ? [] : [field.invalid(path, v, "must be an RFC 3339 date-time")];
}
