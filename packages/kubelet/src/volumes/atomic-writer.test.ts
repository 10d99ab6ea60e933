// Book 7.3: the atomic writer: timestamped version directories, the ..data swap, user-visible links.
import { lstatSync, mkdtempSync, readFileSync, readdirSync, readlinkSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { AtomicWriter, DATA_DIR, type Payload, cleanPayloadPath, timestampPrefix } from "./atomic-writer.js";

const file = (text: string, mode = 0o644) => ({ data: Buffer.from(text), mode });
const payload = (entries: Record<string, string>, mode = 0o644): Payload => new Map(Object.entries(entries).map(([k, v]) => [k, file(v, mode)]));

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "ck-atomic-"));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const versions = () => readdirSync(dir).filter((n) => /^\.\.\d{4}_/.test(n));

describe("AtomicWriter", () => {
  it("writes a timestamped version, a ..data link to it and user-visible links through ..data", async () => {
    const w = new AtomicWriter(dir, () => new Date("2026-03-04T05:06:07Z"));
    expect(await w.write(payload({ "a.txt": "A", "sub/b.txt": "B" }))).toBe(true);
    const [ts] = versions();
    expect(ts).toMatch(/^\.\.2026_03_04_05_06_07\./);
    expect(readlinkSync(join(dir, DATA_DIR))).toBe(ts);
    expect(readlinkSync(join(dir, "a.txt"))).toBe("..data/a.txt");
    expect(readlinkSync(join(dir, "sub"))).toBe("..data/sub");
    expect(readFileSync(join(dir, "a.txt"), "utf8")).toBe("A");
    expect(readFileSync(join(dir, "sub", "b.txt"), "utf8")).toBe("B");
    expect(statSync(join(dir, ts!)).mode & 0o777).toBe(0o755);
  });

  it("gives each file the mode asked for, whatever the umask", async () => {
    const w = new AtomicWriter(dir);
    const old = process.umask(0o077);
    try {
      await w.write(new Map([["open", file("x", 0o644)], ["secret", file("y", 0o400)], ["exec", file("z", 0o755)]]));
    } finally {
      process.umask(old);
    }
    expect(statSync(join(dir, "open")).mode & 0o777).toBe(0o644);
    expect(statSync(join(dir, "secret")).mode & 0o777).toBe(0o400);
    expect(statSync(join(dir, "exec")).mode & 0o777).toBe(0o755);
  });

  it("does nothing when the payload has not changed", async () => {
    const w = new AtomicWriter(dir);
    await w.write(payload({ k: "v" }));
    const before = versions();
    expect(await w.write(payload({ k: "v" }))).toBe(false);
    expect(versions()).toEqual(before);
  });

  it("rewrites when only a mode changed", async () => {
    const w = new AtomicWriter(dir);
    await w.write(payload({ k: "v" }, 0o644));
    expect(await w.write(payload({ k: "v" }, 0o600))).toBe(true);
    expect(statSync(join(dir, "k")).mode & 0o777).toBe(0o600);
  });

  it("keeps the old content visible until the swap, then shows all of the new one and drops the old version", async () => {
    const w = new AtomicWriter(dir);
    await w.write(payload({ one: "1-old", two: "2-old" }));
    const oldVersion = versions()[0];
    let seenDuring: string[] = [];
    await w.write(payload({ one: "1-new", two: "2-new" }), {
      beforeSwap: (newDir) => {
        // The new version is complete on disk, but readers still see the old one through ..data.
        expect(readFileSync(join(newDir, "one"), "utf8")).toBe("1-new");
        seenDuring = [readFileSync(join(dir, "one"), "utf8"), readFileSync(join(dir, "two"), "utf8")];
      },
    });
    expect(seenDuring).toEqual(["1-old", "2-old"]);
    expect(readFileSync(join(dir, "one"), "utf8")).toBe("1-new");
    expect(readFileSync(join(dir, "two"), "utf8")).toBe("2-new");
    expect(versions()).toHaveLength(1);
    expect(versions()[0]).not.toBe(oldVersion);
  });

  it("removes user-visible names that left the payload and adds new ones", async () => {
    const w = new AtomicWriter(dir);
    await w.write(payload({ gone: "x", kept: "y" }));
    await w.write(payload({ kept: "y2", fresh: "z" }));
    expect(() => lstatSync(join(dir, "gone"))).toThrow();
    expect(readFileSync(join(dir, "fresh"), "utf8")).toBe("z");
    expect(readdirSync(dir).sort()).toEqual(["..data", versions()[0], "fresh", "kept"].sort());
  });

  it("repairs a user-visible link someone removed", async () => {
    const w = new AtomicWriter(dir);
    await w.write(payload({ k: "v" }));
    rmSync(join(dir, "k"));
    expect(await w.write(payload({ k: "v" }))).toBe(true);
    expect(readFileSync(join(dir, "k"), "utf8")).toBe("v");
  });

  it("refuses absolute paths, '..' elements and a name that is both file and directory", async () => {
    const w = new AtomicWriter(dir);
    await expect(w.write(payload({ "/etc/passwd": "x" }))).rejects.toThrow(/must be a relative path/);
    await expect(w.write(payload({ "a/../../x": "x" }))).rejects.toThrow(/must not contain '\.\.'/);
    await expect(w.write(payload({ "..data": "x" }))).rejects.toThrow(/must not start with '\.\.'/);
    await expect(w.write(payload({ a: "x", "a/b": "y" }))).rejects.toThrow(/both a file and a directory/);
    expect(readdirSync(dir)).toEqual([]);
  });

  it("normalizes paths and names the timestamp prefix like upstream", () => {
    expect(cleanPayloadPath("a//./b")).toBe("a/b");
    expect(timestampPrefix(new Date("2026-12-31T23:59:58Z"))).toBe("..2026_12_31_23_59_58.");
  });
});
