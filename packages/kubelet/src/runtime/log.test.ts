// Book 9.4: unit tests for the CRI log format writer and reader (full lines, 16 KiB partial pieces, EOF).
import { describe, expect, it } from "vitest";
import { CriLineSplitter, logMessages, MAX_LOG_LINE, parseCriLog, rfc3339Nano } from "./log.js";

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
