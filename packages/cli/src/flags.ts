// Book 1: the `corekube` command's flag parser, shaped like the upstream components' flags
// (`--name value` or `--name=value`), with help text generated from each command's flag table.

export interface FlagSpec {
  name: string;
  help: string;
  default?: string;
  boolean?: boolean;
  /** May be given several times or as a comma list. */
  list?: boolean;
}

export class UsageError extends Error {}

export interface Parsed {
  flags: Map<string, string[]>;
  positionals: string[];
}

export function parseFlags(argv: string[], specs: FlagSpec[]): Parsed {
  const byName = new Map(specs.map((s) => [s.name, s]));
  const flags = new Map<string, string[]>();
  const positionals: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === "--") {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    if (!arg.startsWith("--")) {
      positionals.push(arg);
      continue;
    }
    const eq = arg.indexOf("=");
    const name = arg.slice(2, eq > 0 ? eq : undefined);
    const spec = byName.get(name);
    if (!spec) throw new UsageError(`unknown flag --${name}`);
    let value: string;
    if (eq > 0) value = arg.slice(eq + 1);
    else if (spec.boolean) value = "true";
    else {
      const next = argv[i + 1];
      if (next === undefined) throw new UsageError(`flag --${name} needs a value`);
      value = next;
      i++;
    }
    const values = spec.list ? value.split(",").filter(Boolean) : [value];
    flags.set(name, spec.list ? [...(flags.get(name) ?? []), ...values] : values);
  }
  return { flags, positionals };
}

export function flagValue(p: Parsed, specs: FlagSpec[], name: string): string {
  const v = p.flags.get(name);
  if (v && v.length > 0) return v[v.length - 1]!;
  return specs.find((s) => s.name === name)?.default ?? "";
}

export function flagList(p: Parsed, specs: FlagSpec[], name: string): string[] {
  const v = p.flags.get(name);
  if (v && v.length > 0) return v;
  const d = specs.find((s) => s.name === name)?.default;
  return d ? d.split(",").filter(Boolean) : [];
}

export function flagInt(p: Parsed, specs: FlagSpec[], name: string): number {
  const raw = flagValue(p, specs, name);
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0) throw new UsageError(`--${name} must be a whole number, got "${raw}"`);
  return n;
}

/** Accepts Go-style durations (500ms, 10s, 5m) or plain milliseconds. */
export function flagDurationMs(p: Parsed, specs: FlagSpec[], name: string): number {
  const raw = flagValue(p, specs, name);
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(raw);
  if (!m) throw new UsageError(`--${name} must be a duration like 100ms, 10s or 5m, got "${raw}"`);
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[(m[2] ?? "ms") as "ms"];
  return Number(m[1]) * unit;
}

export function usage(command: string, summary: string, specs: FlagSpec[], extra = ""): string {
  const rows = specs.map((s) => {
    const left = `  --${s.name}${s.boolean ? "" : " value"}`;
    const def = s.default !== undefined && s.default !== "" ? ` (default ${s.default})` : "";
    return `${left.padEnd(40)} ${s.help}${def}`;
  });
  return `Usage: corekube ${command} [flags]\n\n${summary}\n${extra ? `\n${extra}\n` : ""}\nFlags:\n${rows.join("\n")}\n  --help${" ".repeat(34)} show this help\n`;
}
