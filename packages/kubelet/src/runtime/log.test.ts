// Book 9.4: unit tests for the CRI log format writer and reader (full lines, 16 KiB partial pieces, EOF).
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import { afterEach, describe, expect, it } from "vitest";
import { CriLineSplitter, logMessages, MAX_LOG_LINE, parseCriLog, parseLogSize, RotatingLogFile, rotatedLogs, rfc3339Nano } from "./log.js";

const fixed = () => "2024-01-02T03:04:05.000000001Z";
const text = (bufs: Buffer[]) => Buffer.concat(bufs).toString("utf8");

describe("CriLineSplitter", () => {
  it("writes one F line per complete line, across chunk boundaries", () => {
    const s = new CriLineSplitter("stdout", fixed);
    expect(text(s.push(Buffer.from("hel")))).toBe("");
    expect(text(s.push(Buffer.from("lo\nwor")))).toBe("2024-01-02T03:04:05.000000001Z stdout F hello\n");
    expect(text(s.push(Buffer.from("ld\n\n")))).toBe(`${fixed()} stdout F world\n${fixed()} stdout F \n`);
  });
  it("splits lines longer than 16 KiB into P pieces and a final F", () => {
    const s = new CriLineSplitter("stderr", fixed);
    const long = `${"a".repeat(MAX_LOG_LINE)}${"b".repeat(10)}\n`;
    const lines = parseCriLog(text(s.push(Buffer.from(long))));
    expect(lines.map((l) => [l.tag, l.text.length])).toEqual([["P", MAX_LOG_LINE], ["F", 10]]);
    expect(logMessages(lines)).toEqual([long.slice(0, -1)]);
  });
  it("flushes an unterminated last line as F at the end", () => {
    const s = new CriLineSplitter("stdout", fixed);
    s.push(Buffer.from("no newline"));
    expect(text(s.end())).toBe(`${fixed()} stdout F no newline\n`);
    expect(s.end()).toEqual([]);
  });
});

describe("parseCriLog / logMessages", () => {
  it("keeps the streams apart", () => {
    const lines = parseCriLog(`${fixed()} stdout P ab\n${fixed()} stderr F err\n${fixed()} stdout F cd\n`);
    expect(logMessages(lines, "stdout")).toEqual(["abcd"]);
    expect(logMessages(lines, "stderr")).toEqual(["err"]);
  });
  it("rejects lines that are not in the format", () => {
    expect(() => parseCriLog("hello\n")).toThrow(/not a CRI log line/);
  });
});

describe("rfc3339Nano", () => {
  it("prints nine fraction digits in UTC", () => {
    expect(rfc3339Nano(1_700_000_000_123_456_789n)).toBe("2023-11-14T22:13:20.123456789Z");
  });
});

describe("RotatingLogFile", () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });
  const tmp = () => {
    const d = mkdtempSync(join(tmpdir(), "ck-logrot-"));
    dirs.push(d);
    return d;
  };
  // A clock that moves one second per call, so each rotation gets its own name.
  const ticking = () => {
    let t = Date.UTC(2024, 0, 2, 3, 4, 5);
    return () => new Date((t += 1000));
  };

  it("renames a full file, gzips older rotations, and keeps at most maxFiles files", () => {
    const dir = tmp();
    const path = join(dir, "0.log");
    const f = new RotatingLogFile(path, { maxBytes: 100, maxFiles: 3 }, ticking());
    for (let i = 0; i < 10; i++) f.write(Buffer.from(`${String(i).repeat(59)}\n`)); // 60 bytes each: a rotation every 2 writes
    f.close();
    const names = readdirSync(dir).sort();
    // current + 2 rotated = 3 files; the newest rotated stays plain, the older one is gzipped
    expect(names).toHaveLength(3);
    expect(names).toContain("0.log");
    const rotated = rotatedLogs(path);
    expect(rotated).toHaveLength(2);
    expect(rotated[0]).toMatch(/0\.log\.\d{8}-\d{6}\.gz$/);
    expect(rotated[1]).toMatch(/0\.log\.\d{8}-\d{6}$/);
    // nothing is lost between the kept files: the last 5 writes' lines are all there, in order
    const kept = [gunzipSync(readFileSync(rotated[0] as string)).toString(), readFileSync(rotated[1] as string, "utf8"), readFileSync(path, "utf8")].join("");
    expect(kept.split("\n").filter(Boolean).map((l) => l[0])).toEqual(["6", "7", "8", "9"]);
  });

  it("keeps the order of many rotations within one second", () => {
    const dir = tmp();
    const path = join(dir, "0.log");
    const sameSecond = () => new Date(Date.UTC(2024, 0, 2, 3, 4, 5));
    const f = new RotatingLogFile(path, { maxBytes: 100, maxFiles: 3 }, sameSecond);
    for (let i = 0; i < 20; i++) f.write(Buffer.from(`${String(i % 10).repeat(59)}\n`));
    f.close();
    const rotated = rotatedLogs(path);
    expect(rotated).toHaveLength(2);
    // writes 18-19 went to the newest rotated file (plain), 16-17 to the gzipped one; the current is empty
    expect(readFileSync(rotated[1] as string, "utf8")[0]).toBe("8");
    expect(gunzipSync(readFileSync(rotated[0] as string)).toString()[0]).toBe("6");
  });

  it("continues an existing file and does not rotate without a policy", () => {
    const dir = tmp();
    const path = join(dir, "1.log");
    writeFileSync(path, "x".repeat(500));
    const f = new RotatingLogFile(path);
    f.write(Buffer.from("more\n"));
    f.close();
    expect(readdirSync(dir)).toEqual(["1.log"]);
    expect(readFileSync(path, "utf8").endsWith("more\n")).toBe(true);
  });

  it("counts the bytes already in the file when it reopens", () => {
    const dir = tmp();
    const path = join(dir, "0.log");
    writeFileSync(path, "y".repeat(90));
    const f = new RotatingLogFile(path, { maxBytes: 100, maxFiles: 2 }, ticking());
    f.write(Buffer.from("0123456789\n"));
    f.close();
    expect(readFileSync(path, "utf8")).toBe("");
    expect(rotatedLogs(path)).toHaveLength(1);
  });
});

describe("parseLogSize", () => {
  it("reads quantities and refuses nonsense", () => {
    expect(parseLogSize("10Mi")).toBe(10 * 1024 * 1024);
    expect(parseLogSize("2048")).toBe(2048);
    expect(parseLogSize("1G")).toBe(1e9);
    expect(() => parseLogSize("ten")).toThrow(/10Mi/);
    expect(() => parseLogSize("12")).toThrow(/too small/);
  });
});
