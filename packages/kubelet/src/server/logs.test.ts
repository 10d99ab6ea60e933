// Book 9.2 and 9.4: tests for the kubelet's CRI log reader — tail, since, limitBytes, partial
// lines, timestamps, and following a file as it grows, rotates and ends.
import { appendFile, mkdtemp, open, rename, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { findTailStart, formatLogTime, parseCriRecord, readContainerLog, sinceNs, type ContainerLogFile, type ReadLogOptions } from "./logs.js";

let dir: string;
let path: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "corekube-kubelet-logs-"));
  path = join(dir, "0.log");
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const T = (s: number, frac = "000000000"): string => `2024-05-01T10:00:${String(s).padStart(2, "0")}.${frac}Z`;
const rec = (s: number, text: string, tag: "F" | "P" = "F", stream = "stdout"): string => `${T(s)} ${stream} ${tag} ${text}\n`;

function stopped(p = path): ContainerLogFile {
  return { path: p, running: () => false };
}

async function read(opts: Partial<ReadLogOptions> = {}, file: ContainerLogFile = stopped()): Promise<string> {
  const out: Buffer[] = [];
  await readContainerLog(file, { follow: false, timestamps: false, ...opts }, (c) => void out.push(c));
  return Buffer.concat(out).toString("utf8");
}

async function until(cond: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 1000; i++) {
    if (cond()) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`timed out waiting for ${what}`);
}

describe("parseCriRecord and formatLogTime", () => {
  it("reads the four fields of a CRI line, the message kept byte for byte", () => {
    const r = parseCriRecord(Buffer.from(`${T(1, "123456789")} stderr P:extra  two  spaces `));
    expect(r).toMatchObject({ time: T(1, "123456789"), stream: "stderr", partial: true });
    expect(r!.message.toString()).toBe(" two  spaces ");
    expect(r!.ns).toBe(BigInt(Date.parse("2024-05-01T10:00:01Z")) * 1_000_000n + 123456789n);
    expect(parseCriRecord(Buffer.from(`${T(1)} stdout F`))!.message.toString()).toBe("");
  });

  it("rejects lines that are not CRI records", () => {
    for (const bad of ["", "hello world", `${T(1)} stdin F x`, `${T(1)} stdout X x`, `yesterday stdout F x`]) {
      expect(parseCriRecord(Buffer.from(bad))).toBeUndefined();
    }
  });

  it("prints times as Go's RFC3339Nano: trailing zeros dropped, zero offset as Z", () => {
    expect(formatLogTime("2024-05-01T10:00:01.120000000Z")).toBe("2024-05-01T10:00:01.12Z");
    expect(formatLogTime("2024-05-01T10:00:01.000000000+00:00")).toBe("2024-05-01T10:00:01Z");
    expect(formatLogTime("2024-05-01T12:00:01.5+02:00")).toBe("2024-05-01T12:00:01.5+02:00");
  });
});

describe("readContainerLog", () => {
  it("returns the messages of every record, stdout and stderr alike, joining P pieces", async () => {
    await writeFile(path, rec(1, "one") + rec(2, "err", "F", "stderr") + rec(3, "long ", "P") + rec(3, "line", "P") + rec(4, " ends"));
    expect(await read()).toBe("one\nerr\nlong line ends\n");
  });

  it("skips lines that are not CRI records", async () => {
    await writeFile(path, `${rec(1, "one")}garbage here\n${rec(2, "two")}`);
    expect(await read()).toBe("one\ntwo\n");
  });

  it("prefixes each line (not each piece) with its time when timestamps=true", async () => {
    await writeFile(path, rec(1, "one") + rec(2, "pa", "P") + rec(3, "rt"));
    expect(await read({ timestamps: true })).toBe("2024-05-01T10:00:01Z one\n2024-05-01T10:00:02Z part\n");
  });

  it("tailLines keeps the last N lines, counting a joined line once", async () => {
    await writeFile(path, rec(1, "one") + rec(2, "two") + rec(3, "th", "P") + rec(3, "ree") + rec(4, "four"));
    expect(await read({ tailLines: 2 })).toBe("three\nfour\n");
    expect(await read({ tailLines: 1 })).toBe("four\n");
    expect(await read({ tailLines: 0 })).toBe("");
    expect(await read({ tailLines: 10 })).toBe("one\ntwo\nthree\nfour\n");
  });

  it("finds the tail of a file much bigger than one read", async () => {
    const lines = Array.from({ length: 5000 }, (_, i) => rec(i % 60, `line ${i} ${"x".repeat(40)}`)).join("");
    await writeFile(path, lines);
    const out = await read({ tailLines: 3 });
    expect(out.split("\n").slice(0, 3).map((l) => l.split(" ").slice(0, 2).join(" "))).toEqual(["line 4997", "line 4998", "line 4999"]);
    const fh = await open(path, "r");
    try {
      const size = (await fh.stat()).size;
      expect(await findTailStart(fh, size, 5000)).toBe(0);
      expect(await findTailStart(fh, size, 1)).toBe(size - Buffer.byteLength(rec(4999 % 60, `line 4999 ${"x".repeat(40)}`)));
    } finally {
      await fh.close();
    }
  });

  it("since drops records older than the bound (sinceTime and sinceSeconds)", async () => {
    await writeFile(path, rec(1, "one") + rec(2, "two") + rec(3, "three"));
    expect(await read({ since: sinceNs({ sinceTime: "2024-05-01T10:00:02Z" }) })).toBe("two\nthree\n");
    const now = Date.parse("2024-05-01T10:00:03.5Z");
    expect(await read({ since: sinceNs({ sinceSeconds: 1 }, now) })).toBe("three\n");
  });

  it("limitBytes cuts the output, timestamps included", async () => {
    await writeFile(path, rec(1, "hello") + rec(2, "world"));
    expect(await read({ limitBytes: 8 })).toBe("hello\nwo");
    expect(await read({ limitBytes: 6 })).toBe("hello\n");
    expect(await read({ limitBytes: 25, timestamps: true })).toBe("2024-05-01T10:00:01Z hell");
  });

  it("shows a last record that has no newline yet; a missing file is an empty log", async () => {
    await writeFile(path, `${rec(1, "one")}${T(2)} stdout F tw`);
    expect(await read()).toBe("one\ntw\n");
    expect(await read({}, stopped(join(dir, "missing.log")))).toBe("");
  });
});

describe("readContainerLog with follow", () => {
  function follower(file: ContainerLogFile, opts: Partial<ReadLogOptions> = {}, signal?: AbortSignal) {
    const chunks: Buffer[] = [];
    const done = readContainerLog(file, { follow: true, timestamps: false, pollMs: 50, ...opts }, (c) => void chunks.push(c), signal);
    return { text: () => Buffer.concat(chunks).toString("utf8"), done };
  }

  it("streams appended lines, holds back a half-written record, and ends once the attempt ended and the file is drained", async () => {
    await writeFile(path, rec(1, "one") + rec(2, "two"));
    let running = true;
    let exited!: () => void;
    const file: ContainerLogFile = { path, running: () => running, exited: new Promise<void>((r) => (exited = r)) };
    const f = follower(file, { tailLines: 1 });
    let finished = false;
    void f.done.then(() => (finished = true));
    await until(() => f.text() === "two\n", "the tail");
    await appendFile(path, rec(3, "three"));
    await until(() => f.text() === "two\nthree\n", "the appended line");
    await appendFile(path, `${T(4)} stdout F fo`);
    await appendFile(path, "ur\n");
    await until(() => f.text() === "two\nthree\nfour\n", "the record completed in two writes");
    expect(finished).toBe(false);
    // The container writes its last line and exits.
    await appendFile(path, rec(5, "last words"));
    running = false;
    exited();
    await f.done;
    expect(f.text()).toBe("two\nthree\nfour\nlast words\n");
  });

  it("tailLines=0 with follow shows only lines written after it started", async () => {
    await writeFile(path, rec(1, "old"));
    const abort = new AbortController();
    const f = follower({ path, running: () => true }, { tailLines: 0 }, abort.signal);
    // We cannot see when the reader has found the end, so write until something comes through.
    let n = 0;
    while (f.text() === "") {
      await appendFile(path, rec(2, `new ${n++}`));
      await new Promise((r) => setTimeout(r, 20));
    }
    abort.abort();
    await f.done;
    expect(f.text()).not.toContain("old");
    expect(f.text()).toMatch(/^(new \d+\n)+$/);
  });

  it("stops when the client goes away (abort), and at limitBytes", async () => {
    await writeFile(path, rec(1, "one"));
    const abort = new AbortController();
    const f = follower({ path, running: () => true }, {}, abort.signal);
    await until(() => f.text() === "one\n", "the first line");
    abort.abort();
    await f.done;
    const g = follower({ path, running: () => true }, { limitBytes: 6 });
    await until(() => g.text() === "one\n", "the first line");
    await appendFile(path, rec(2, "two"));
    await g.done;
    expect(g.text()).toBe("one\ntw");
  });

  it("keeps following across a rotation, and waits for a file that does not exist yet", async () => {
    let running = true;
    const f = follower({ path, running: () => running });
    await writeFile(path, rec(1, "first file"));
    await until(() => f.text() === "first file\n", "the file to appear");
    await appendFile(path, rec(2, "before rotation"));
    await rename(path, `${path}.20240501-100002`);
    await writeFile(path, rec(3, "after rotation"));
    await until(() => f.text() === "first file\nbefore rotation\nafter rotation\n", "the rotated file");
    running = false;
    await f.done;
  });
});
