// Book 12.10: kvctl's command-line parsing, shaped like etcdctl's (cobra/pflag): `--flag value`,
// `--flag=value`, `-w json`, booleans as `--flag` or `--flag=false`, and `--` before odd keys.

export type FlagKind = "bool" | "string" | "int";

export interface FlagSpec {
  name: string;
  short?: string;
  kind: FlagKind;
  default?: string;
  help: string;
}

/** Bad command-line input: printed as "Error: …" with exit code 2, never a stack trace. */
export class UsageError extends Error {
  override name = "UsageError";
}

export class Flags {
  constructor(private readonly values: Map<string, string>, private readonly specs: FlagSpec[]) {}

  private spec(name: string): FlagSpec {
    const s = this.specs.find((f) => f.name === name);
    if (!s) throw new Error(`kvctl: flag --${name} is not declared`);
    return s;
  }

  has(name: string): boolean {
    return this.values.has(name);
  }

  bool(name: string): boolean {
    const v = this.values.get(name) ?? this.spec(name).default ?? "false";
    return v === "true";
  }

  str(name: string): string {
    return this.values.get(name) ?? this.spec(name).default ?? "";
  }

  int(name: string): number {
    const v = this.str(name);
    if (v === "") return 0;
    if (!/^-?\d+$/.test(v)) throw new UsageError(`invalid argument "${v}" for "--${name}" flag: not an integer`);
    return Number(v);
  }
}

function parseBool(name: string, v: string): string {
  const t = v.toLowerCase();
  if (["true", "t", "1"].includes(t)) return "true";
  if (["false", "f", "0"].includes(t)) return "false";
  throw new UsageError(`invalid argument "${v}" for "--${name}" flag: not a boolean`);
}

/** Splits argv into flag values (checked against `specs`) and positional arguments. */
export function parseArgs(argv: string[], specs: FlagSpec[]): { flags: Flags; positionals: string[] } {
  const values = new Map<string, string>();
  const positionals: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === "--") {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    if (!arg.startsWith("-") || arg === "-") {
      positionals.push(arg);
      continue;
    }
    const long = arg.startsWith("--");
    const body = arg.slice(long ? 2 : 1);
    const eq = body.indexOf("=");
    const key = eq >= 0 ? body.slice(0, eq) : body;
    const spec = specs.find((s) => (long ? s.name === key : s.short === key));
    if (!spec) throw new UsageError(`unknown ${long ? "flag" : "shorthand flag"}: ${long ? `--${key}` : `'${key}' in ${arg}`}`);
    let value: string;
    if (eq >= 0) value = body.slice(eq + 1);
    else if (spec.kind === "bool") value = "true";
    else {
      const next = argv[i + 1];
      if (next === undefined) throw new UsageError(`flag needs an argument: ${arg}`);
      value = next;
      i++;
    }
    if (spec.kind === "bool") value = parseBool(spec.name, value);
    values.set(spec.name, value);
  }
  return { flags: new Flags(values, specs), positionals };
}

/** Positions of the first `count` words that are not flags (nor values of `valued` flags). */
export function commandWords(argv: string[], valued: FlagSpec[], count: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < argv.length && out.length < count; i++) {
    const a = argv[i]!;
    if (a === "--") break;
    if (a.startsWith("-") && a !== "-") {
      if (a.includes("=")) continue;
      const long = a.startsWith("--");
      const key = a.slice(long ? 2 : 1);
      if (valued.some((s) => s.kind !== "bool" && (long ? s.name === key : s.short === key))) i++;
      continue;
    }
    out.push(i);
  }
  return out;
}
