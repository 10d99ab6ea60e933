// Book 7.2: hostPath type checks and the *OrCreate types.
import { mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { checkHostPath } from "./hostpath.js";

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "ck-hostpath-"));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe("checkHostPath", () => {
  it("creates a missing DirectoryOrCreate with mode 0755, parents included", () => {
    const p = join(dir, "a", "b");
    checkHostPath(p, "DirectoryOrCreate");
    expect(statSync(p).isDirectory()).toBe(true);
    expect(statSync(p).mode & 0o777).toBe(0o755);
  });

  it("creates a missing FileOrCreate as an empty 0644 file", () => {
    const p = join(dir, "f");
    checkHostPath(p, "FileOrCreate");
    expect(statSync(p).isFile()).toBe(true);
    expect(statSync(p).size).toBe(0);
    expect(statSync(p).mode & 0o777).toBe(0o644);
  });

  it("reports upstream's messages when the path is of the wrong type", () => {
    const f = join(dir, "file");
    writeFileSync(f, "x");
    const d = join(dir, "dir");
    mkdirSync(d);
    expect(() => checkHostPath(f, "Directory")).toThrow(`hostPath type check failed: ${f} is not a directory`);
    expect(() => checkHostPath(f, "DirectoryOrCreate")).toThrow(`hostPath type check failed: ${f} is not a directory`);
    expect(() => checkHostPath(d, "File")).toThrow(`hostPath type check failed: ${d} is not a file`);
    expect(() => checkHostPath(d, "FileOrCreate")).toThrow(`hostPath type check failed: ${d} is not a file`);
    expect(() => checkHostPath(f, "Socket")).toThrow(`hostPath type check failed: ${f} is not a socket file`);
    expect(() => checkHostPath(f, "CharDevice")).toThrow(`hostPath type check failed: ${f} is not a character device`);
    expect(() => checkHostPath("/dev/null", "BlockDevice")).toThrow("hostPath type check failed: /dev/null is not a block device");
    expect(() => checkHostPath(join(dir, "missing"), "Directory")).toThrow("is not a directory");
  });

  it("accepts the right types, and anything for the empty type", async () => {
    checkHostPath(dir, "Directory");
    checkHostPath("/dev/null", "CharDevice");
    checkHostPath(join(dir, "does-not-exist"), "");
    checkHostPath(join(dir, "does-not-exist"), undefined);
    const sock = join(dir, "s.sock");
    const server = createServer();
    await new Promise<void>((r) => server.listen(sock, r));
    try {
      checkHostPath(sock, "Socket");
    } finally {
      await new Promise((r) => server.close(r));
    }
  });

  it("refuses relative paths and unknown types", () => {
    expect(() => checkHostPath("relative/x", "")).toThrow(/must be an absolute path/);
    expect(() => checkHostPath(dir, "Folder")).toThrow(/"Folder" is an invalid hostPath type/);
  });
});
