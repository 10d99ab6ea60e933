// Book 14.3: static bearer tokens, as kube-apiserver's --token-auth-file — a CSV file of
// `token,user,uid,"group1,group2"` lines — and the authenticator that reads `Authorization: Bearer`.
import { readFile } from "node:fs/promises";
import type { IncomingMessage } from "node:http";
import type { UserInfo } from "../registry/types.js";
import { AuthenticationError, type Authenticator } from "./authenticator.js";

/** A token file that cannot be used; the message names the file, the line and what is wrong. */
export class TokenFileError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "TokenFileError";
  }
}

interface CsvRecord {
  line: number;
  fields: string[];
}

/**
 * Splits CSV text into records with the rules of Go's encoding/csv (which kube-apiserver uses):
 * fields are separated by commas; a field that starts with `"` is quoted, may hold commas and
 * newlines, and writes a quote as `""`; a quote anywhere else is an error; blank lines are skipped;
 * `\r\n` ends a line like `\n`.
 */
export function parseCsv(text: string, source = "input"): CsvRecord[] {
  const s = text.startsWith("\uFEFF") ? text.slice(1) : text;
  const records: CsvRecord[] = [];
  let i = 0;
  let line = 1;
  const fail = (ln: number, col: number, what: string): never => {
    throw new TokenFileError(`${source}: parse error on line ${ln}, column ${col}: ${what}`);
  };
  while (i < s.length) {
    // Skip empty lines ("\n" or "\r\n" alone).
    if (s[i] === "\n") {
      i++;
      line++;
      continue;
    }
    if (s[i] === "\r" && s[i + 1] === "\n") {
      i += 2;
      line++;
      continue;
    }
    const startLine = line;
    let lineStart = i;
    const fields: string[] = [];
    for (;;) {
      if (s[i] === '"') {
        // Quoted field.
        let value = "";
        i++;
        for (;;) {
          if (i >= s.length) fail(line, i - lineStart + 1, 'extraneous or missing " in quoted-field');
          const c = s[i]!;
          if (c === '"') {
            if (s[i + 1] === '"') {
              value += '"';
              i += 2;
              continue;
            }
            i++;
            break;
          }
          if (c === "\r" && s[i + 1] === "\n") {
            value += "\n";
            i += 2;
            line++;
            lineStart = i;
            continue;
          }
          if (c === "\n") {
            line++;
            lineStart = i + 1;
          }
          value += c;
          i++;
        }
        fields.push(value);
        const next = s[i];
        if (next === ",") {
          i++;
          continue;
        }
        if (next === undefined || next === "\n" || (next === "\r" && s[i + 1] === "\n")) break;
        fail(line, i - lineStart + 1, 'extraneous or missing " in quoted-field');
      } else {
        // Unquoted field: runs to the next comma or end of line.
        let value = "";
        while (i < s.length && s[i] !== "," && s[i] !== "\n" && !(s[i] === "\r" && s[i + 1] === "\n")) {
          if (s[i] === '"') fail(line, i - lineStart + 1, 'bare " in non-quoted-field');
          value += s[i];
          i++;
        }
        fields.push(value);
        if (s[i] === ",") {
          i++;
          continue;
        }
        break;
      }
    }
    // Consume the line end.
    if (s[i] === "\r") i++;
    if (s[i] === "\n") {
      i++;
      line++;
    }
    records.push({ line: startLine, fields });
  }
  return records;
}

export interface TokenFile {
  tokens: Map<string, UserInfo>;
  /** Lines that were accepted but deserve a log line (empty or duplicate tokens). */
  warnings: string[];
}

/**
 * Parses the contents of a token file. Each record is `token,user name,uid[,groups]`; groups is
 * one field holding a comma-separated list (so it must be quoted when it has several). Records
 * with an empty token are skipped and a repeated token's last record wins, both with a warning;
 * fewer than three columns or an empty user name is an error.
 */
export function parseTokenFile(text: string, source = "token file"): TokenFile {
  const tokens = new Map<string, UserInfo>();
  const warnings: string[] = [];
  for (const { line, fields } of parseCsv(text, source)) {
    if (fields.length < 3) {
      throw new TokenFileError(
        `${source}: line ${line} must have at least 3 columns (token, user name, user uid), found ${fields.length}`,
      );
    }
    const [token, username, uid, groupList] = fields as [string, string, string, string | undefined];
    if (token === "") {
      warnings.push(`${source}: line ${line} has an empty token; skipped`);
      continue;
    }
    if (username === "") throw new TokenFileError(`${source}: line ${line} has an empty user name`);
    if (tokens.has(token)) warnings.push(`${source}: line ${line} repeats a token of an earlier line; the later line wins`);
    const groups = groupList === undefined ? [] : groupList.split(",").filter((g) => g !== "");
    const user: UserInfo = { username, groups };
    if (uid !== "") user.uid = uid;
    tokens.set(token, user);
  }
  return { tokens, warnings };
}

/** The token of an `Authorization: Bearer <token>` header; undefined when there is none. */
export function bearerToken(req: IncomingMessage): string | undefined {
  const header = req.headers.authorization;
  if (typeof header !== "string") return undefined;
  const parts = header.trim().split(/\s+/);
  if (parts.length !== 2 || parts[0]!.toLowerCase() !== "bearer") return undefined;
  return parts[1] === "" ? undefined : parts[1];
}

/** Authenticates `Authorization: Bearer` tokens against a fixed table; an unknown token is rejected. */
export function tokenAuthenticator(tokens: ReadonlyMap<string, UserInfo>): Authenticator {
  return {
    async authenticate(req) {
      const token = bearerToken(req);
      if (token === undefined) return undefined;
      const user = tokens.get(token);
      if (user === undefined) throw new AuthenticationError("invalid bearer token");
      return { ...user, groups: [...user.groups] };
    },
  };
}

/** Reads a --token-auth-file and returns its authenticator and warnings. */
export async function loadTokenFile(path: string): Promise<{ authenticator: Authenticator; warnings: string[] }> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (err) {
    throw new TokenFileError(`cannot read token file ${path}: ${(err as Error).message}`);
  }
  const { tokens, warnings } = parseTokenFile(text, `token file ${path}`);
  return { authenticator: tokenAuthenticator(tokens), warnings };
}
