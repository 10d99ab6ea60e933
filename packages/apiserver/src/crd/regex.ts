// Book 11.2: CRD `pattern`s are Go RE2 regular expressions; this rewrites RE2-only syntax ((?i), (?P<n>),
// \Q..\E, [[:alpha:]]) for JavaScript and rejects what RE2 refuses (look-around, back-references).

/** A pattern RE2 rejects or that we cannot express in JavaScript. */
export class PatternError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "PatternError";
  }
}

interface Mode {
  ci: boolean;
  dotAll: boolean;
}

const POSIX: Record<string, string> = {
  alnum: "0-9A-Za-z",
  alpha: "A-Za-z",
  ascii: "\\x00-\\x7F",
  blank: "\\t ",
  cntrl: "\\x00-\\x1F\\x7F",
  digit: "0-9",
  graph: "!-~",
  lower: "a-z",
  print: " -~",
  punct: "!-\\/:-@\\[-`{-~",
  space: "\\t\\n\\v\\f\\r ",
  upper: "A-Z",
  word: "0-9A-Za-z_",
  xdigit: "0-9A-Fa-f",
};

const SPECIAL = new Set([..."\\^$.|?*+()[]{}/"]);
const isLetter = (c: string): boolean => /^[A-Za-z]$/.test(c);
const swapCase = (c: string): string => (c === c.toLowerCase() ? c.toUpperCase() : c.toLowerCase());

function literal(ch: string, mode: Mode): string {
  if (mode.ci && isLetter(ch)) return `[${ch.toLowerCase()}${ch.toUpperCase()}]`;
  return SPECIAL.has(ch) ? `\\${ch}` : ch;
}

/** `\x{263a}` (RE2) → `\u263a` (JavaScript without the u flag). */
function hexEscape(p: string, i: number): { text: string; next: number } {
  const close = p.indexOf("}", i);
  if (close < 0) throw new PatternError("missing closing } in \\x{...}");
  const hex = p.slice(i + 3, close);
  if (!/^[0-9A-Fa-f]{1,4}$/.test(hex)) throw new PatternError(`\\x{${hex}} is outside what can be matched here`);
  return { text: `\\u${hex.padStart(4, "0")}`, next: close + 1 };
}

function escape(p: string, i: number, mode: Mode, inClass: boolean): { text: string; next: number } {
  const n = p[i + 1];
  if (n === undefined) throw new PatternError("trailing backslash at end of expression");
  if (n === "p" || n === "P") throw new PatternError("Unicode classes (\\p, \\P) are not supported");
  if (/[1-9]/.test(n) || n === "k") throw new PatternError("back-references are not supported");
  if (n === "x" && p[i + 2] === "{") return hexEscape(p, i);
  if (!inClass && n === "A") return { text: "^", next: i + 2 };
  if (!inClass && n === "z") return { text: "$", next: i + 2 };
  if (isLetter(n) || /[0-9]/.test(n)) return { text: `\\${n}`, next: i + 2 };
  // An escaped punctuation character is that character.
  return { text: inClass ? `\\${n}` : literal(n, { ...mode, ci: false }), next: i + 2 };
}

/** One bracket expression, with POSIX classes expanded and (under (?i)) both cases of each letter. */
function bracket(p: string, start: number, mode: Mode): { text: string; next: number } {
  let i = start + 1;
  let out = "[";
  if (p[i] === "^") {
    out += "^";
    i++;
  }
  const extra: string[] = [];
  let first = true;
  while (i < p.length && (p[i] !== "]" || first)) {
    first = false;
    const c = p[i]!;
    if (c === "[" && p[i + 1] === ":") {
      const close = p.indexOf(":]", i + 2);
      if (close < 0) throw new PatternError("missing closing :] in a character class");
      const name = p.slice(i + 2, close);
      const ranges = POSIX[name];
      if (ranges === undefined) throw new PatternError(`unsupported character class [:${name}:]`);
      out += ranges;
      i = close + 2;
      continue;
    }
    if (c === "\\") {
      const e = escape(p, i, mode, true);
      out += e.text;
      i = e.next;
      continue;
    }
    if (p[i + 1] === "-" && p[i + 2] !== undefined && p[i + 2] !== "]") {
      const to = p[i + 2]!;
      out += `${c === "]" || c === "[" ? `\\${c}` : c}-${to === "[" ? "\\[" : to}`;
      if (mode.ci && isLetter(c) && isLetter(to) && (c === c.toLowerCase()) === (to === to.toLowerCase())) {
        extra.push(`${swapCase(c)}-${swapCase(to)}`);
      }
      i += 3;
      continue;
    }
    out += c === "]" || c === "[" ? `\\${c}` : c;
    if (mode.ci && isLetter(c)) extra.push(swapCase(c));
    i++;
  }
  if (i >= p.length) throw new PatternError("missing closing ] in a character class");
  return { text: `${out}${extra.join("")}]`, next: i + 1 };
}

function applyFlags(mode: Mode, on: string, off: string): Mode {
  const next = { ...mode };
  for (const [flags, value] of [
    [on, true],
    [off, false],
  ] as const) {
    for (const f of flags) {
      if (f === "i") next.ci = value;
      else if (f === "s") next.dotAll = value;
      else throw new PatternError(`the (?${f}) flag is not supported`);
    }
  }
  return next;
}

/**
 * The JavaScript source matching what the RE2 `pattern` matches (for the patterns CRDs use).
 * Throws PatternError for syntax RE2 rejects or we cannot translate.
 */
export function re2ToJs(pattern: string): string {
  const p = pattern;
  const stack: Mode[] = [];
  let mode: Mode = { ci: false, dotAll: false };
  let out = "";
  let i = 0;
  while (i < p.length) {
    const c = p[i]!;
    if (c === "\\") {
      if (p[i + 1] === "Q") {
        const end = p.indexOf("\\E", i + 2);
        const text = end < 0 ? p.slice(i + 2) : p.slice(i + 2, end);
        out += [...text].map((ch) => literal(ch, mode)).join("");
        i = end < 0 ? p.length : end + 2;
        continue;
      }
      const e = escape(p, i, mode, false);
      out += e.text;
      i = e.next;
      continue;
    }
    if (c === "[") {
      const b = bracket(p, i, mode);
      out += b.text;
      i = b.next;
      continue;
    }
    if (c === "(") {
      const rest = p.slice(i);
      if (rest.startsWith("(?=") || rest.startsWith("(?!") || rest.startsWith("(?<=") || rest.startsWith("(?<!")) {
        throw new PatternError("look-around assertions are not supported");
      }
      const named = /^\(\?P?<([A-Za-z_][A-Za-z0-9_]*)>/.exec(rest);
      if (named) {
        stack.push(mode);
        out += `(?<${named[1]}>`;
        i += named[0].length;
        continue;
      }
      if (rest.startsWith("(?P=")) throw new PatternError("back-references are not supported");
      const flags = /^\(\?([A-Za-z]*)(?:-([A-Za-z]*))?([:)])/.exec(rest);
      if (flags) {
        const next = applyFlags(mode, flags[1] ?? "", flags[2] ?? "");
        if (flags[3] === ")") mode = next;
        else {
          stack.push(mode);
          mode = next;
          out += "(?:";
        }
        i += flags[0].length;
        continue;
      }
      if (rest.startsWith("(?")) throw new PatternError(`invalid or unsupported Perl syntax: ${rest.slice(0, 3)}`);
      stack.push(mode);
      out += "(";
      i++;
      continue;
    }
    if (c === ")") {
      if (stack.length === 0) throw new PatternError("unexpected )");
      mode = stack.pop()!;
      out += ")";
      i++;
      continue;
    }
    if (c === "." && mode.dotAll) {
      out += "[\\s\\S]";
      i++;
      continue;
    }
    out += mode.ci && isLetter(c) ? literal(c, mode) : c;
    i++;
  }
  return out;
}

/** Why `pattern` is not usable as a CRD pattern, or undefined when it is. */
export function patternProblem(pattern: string): string | undefined {
  try {
    new RegExp(re2ToJs(pattern));
    return undefined;
  } catch (err) {
    return err instanceof Error ? err.message : String(err);
  }
}
