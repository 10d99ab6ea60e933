// Book 14.3: tests for --token-auth-file parsing and bearer-token authentication.
import type { IncomingMessage } from "node:http";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { AuthenticationError, unionAuthenticator } from "./authenticator.js";
import { bearerToken, loadTokenFile, parseCsv, parseTokenFile, tokenAuthenticator } from "./tokenfile.js";

function request(headers: Record<string, string> = {}): IncomingMessage {
  return { headers, socket: {}, method: "GET", url: "/api" } as unknown as IncomingMessage;
}

describe("parseCsv (Go encoding/csv rules)", () => {
  it("splits fields, keeps quoted commas and doubled quotes, skips blank lines", () => {
    const recs = parseCsv('a,b,c\n\n"x,y","say ""hi""",\r\nlast,"multi\nline"');
    expect(recs).toEqual([
      { line: 1, fields: ["a", "b", "c"] },
      { line: 3, fields: ["x,y", 'say "hi"', ""] },
      { line: 4, fields: ["last", "multi\nline"] },
    ]);
  });

  it("rejects a bare quote in an unquoted field", () => {
    expect(() => parseCsv('tok,us"er,1', "f.csv")).toThrow('f.csv: parse error on line 1, column 7: bare " in non-quoted-field');
  });

  it("rejects text after a closing quote and an unclosed quote", () => {
    expect(() => parseCsv('tok,"user"x,1')).toThrow(/line 1, column 11: extraneous or missing " in quoted-field/);
    expect(() => parseCsv('ok,1,2\ntok,"user,1')).toThrow(/extraneous or missing " in quoted-field/);
  });
});

describe("parseTokenFile", () => {
  it("reads token, user, uid and a quoted group list", () => {
    const { tokens, warnings } = parseTokenFile(
      ['t-admin,admin,1,"system:masters,ops"', "t-dev,dev,2,devs", "t-bare,bare,", ""].join("\n"),
    );
    expect(tokens.get("t-admin")).toEqual({ username: "admin", uid: "1", groups: ["system:masters", "ops"] });
    expect(tokens.get("t-dev")).toEqual({ username: "dev", uid: "2", groups: ["devs"] });
    expect(tokens.get("t-bare")).toEqual({ username: "bare", groups: [] });
    expect(warnings).toEqual([]);
  });

  it("ignores columns after the fourth", () => {
    const { tokens } = parseTokenFile("t,u,1,g,extra,more");
    expect(tokens.get("t")).toEqual({ username: "u", uid: "1", groups: ["g"] });
  });

  it("fails on a line with fewer than three columns, naming the line", () => {
    expect(() => parseTokenFile("t1,u1,1\nt2,u2\n", "tokens.csv")).toThrow(
      "tokens.csv: line 2 must have at least 3 columns (token, user name, user uid), found 2",
    );
  });

  it("fails on an empty user name", () => {
    expect(() => parseTokenFile("t1,,1")).toThrow(/line 1 has an empty user name/);
  });

  it("skips empty tokens and lets a repeated token's last line win, with warnings", () => {
    const { tokens, warnings } = parseTokenFile(",ghost,0\nt,first,1\nt,second,2\n");
    expect(tokens.size).toBe(1);
    expect(tokens.get("t")?.username).toBe("second");
    expect(warnings).toEqual([
      "token file: line 1 has an empty token; skipped",
      "token file: line 3 repeats a token of an earlier line; the later line wins",
    ]);
  });
});

describe("bearer token authentication", () => {
  const { tokens } = parseTokenFile('secret,alice,42,"devs"\n');
  const authn = tokenAuthenticator(tokens);

  it("reads Authorization: Bearer (any case of the scheme)", () => {
    expect(bearerToken(request({ authorization: "Bearer abc" }))).toBe("abc");
    expect(bearerToken(request({ authorization: "bearer abc" }))).toBe("abc");
    expect(bearerToken(request({ authorization: "Basic abc" }))).toBeUndefined();
    expect(bearerToken(request({ authorization: "Bearer" }))).toBeUndefined();
    expect(bearerToken(request())).toBeUndefined();
  });

  it("finds the user of a known token, and system:authenticated through the union", async () => {
    expect(await authn.authenticate(request({ authorization: "Bearer secret" }))).toEqual({
      username: "alice",
      uid: "42",
      groups: ["devs"],
    });
    const union = unionAuthenticator(authn);
    expect(await union.authenticate(request({ authorization: "Bearer secret" }))).toEqual({
      username: "alice",
      uid: "42",
      groups: ["devs", "system:authenticated"],
    });
  });

  it("rejects an unknown token instead of treating the caller as anonymous", async () => {
    await expect(authn.authenticate(request({ authorization: "Bearer wrong" }))).rejects.toThrow(AuthenticationError);
    await expect(unionAuthenticator(authn).authenticate(request({ authorization: "Bearer wrong" }))).rejects.toThrow(
      "invalid bearer token",
    );
  });

  it("finds no one when no token is sent", async () => {
    expect(await unionAuthenticator(authn).authenticate(request())).toBeUndefined();
  });

  it("loads a token file from disk, or says why it cannot", async () => {
    const dir = await mkdtemp(join(tmpdir(), "corekube-tokens-"));
    try {
      const path = join(dir, "tokens.csv");
      await writeFile(path, "t,u,1\n");
      const { authenticator } = await loadTokenFile(path);
      expect((await authenticator.authenticate(request({ authorization: "Bearer t" })))?.username).toBe("u");
      await writeFile(path, "t,u\n");
      await expect(loadTokenFile(path)).rejects.toThrow(`token file ${path}: line 1 must have at least 3 columns`);
      await expect(loadTokenFile(join(dir, "nope.csv"))).rejects.toThrow(/cannot read token file .*nope\.csv/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
