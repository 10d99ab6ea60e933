// Book 4.1, 9.4: unit tests for the pure parts of the runtime: quoting, fstab escaping, capabilities,
// in-root path resolution, passwd/group lookups, /proc/<pid>/stat parsing and the setup script.
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { parseLdd } from "./helper.js";
import {
  ALL_CAPABILITIES,
  buildSetupScript,
  capabilityMask,
  computeCapabilities,
  DEFAULT_CAPABILITIES,
  fstabEscape,
  lookupGroups,
  lookupPasswd,
  parseStatStartTime,
  resolveInRoot,
  shellQuote,
} from "./spec.js";

describe("shellQuote", () => {
  it("passes any value through /bin/sh unchanged", () => {
    const values = ["plain", "it's", "$(touch /tmp/pwned)", "a b\tc\nd", "`x`", "\\", "'", '"', ""];
    const out = execFileSync("/bin/sh", ["-c", `printf '%s\\0' ${values.map(shellQuote).join(" ")}`], { encoding: "utf8" });
    expect(out.split("\0").slice(0, -1)).toEqual(values);
  });
  it("rejects NUL bytes", () => {
    expect(() => shellQuote("a\0b")).toThrow(/NUL/);
  });
});

describe("fstabEscape", () => {
  it("octal-escapes whitespace and backslashes", () => {
    expect(fstabEscape("/a b\\c\td")).toBe("/a\\040b\\134c\\011d");
    expect(() => fstabEscape("")).toThrow();
  });
});

describe("computeCapabilities", () => {
  it("is containerd's default set, with CapBnd mask a80425fb", () => {
    expect(computeCapabilities(undefined, false).sort()).toEqual([...DEFAULT_CAPABILITIES].sort());
    expect(capabilityMask(DEFAULT_CAPABILITIES).toString(16)).toBe("a80425fb");
  });
  it("adds and drops, accepting CAP_ prefixes and ALL", () => {
    const caps = computeCapabilities({ add: ["NET_ADMIN", "CAP_SYS_TIME"], drop: ["KILL", "cap_chown"] }, false);
    expect(caps).toContain("net_admin");
    expect(caps).toContain("sys_time");
    expect(caps).not.toContain("kill");
    expect(caps).not.toContain("chown");
    expect(computeCapabilities({ drop: ["ALL"], add: ["NET_BIND_SERVICE"] }, false)).toEqual([]);
    expect(computeCapabilities({ add: ["ALL"] }, false)).toHaveLength(ALL_CAPABILITIES.length);
    expect(computeCapabilities({ drop: ["ALL"] }, true)).toHaveLength(ALL_CAPABILITIES.length);
  });
  it("rejects unknown names", () => {
    expect(() => computeCapabilities({ add: ["FLY"] }, false)).toThrow(/unknown capability "FLY"/);
  });
});

describe("resolveInRoot", () => {
  const root = mkdtempSync(join(tmpdir(), "ck-resolve-"));
  afterAll(() => rmSync(root, { recursive: true, force: true }));
  mkdirSync(join(root, "real", "etc"), { recursive: true });
  symlinkSync("/real/etc", join(root, "etc")); // absolute link: relative to the container root
  symlinkSync("../../../../../../host", join(root, "up")); // climbing out stops at the root
  symlinkSync("loop2", join(root, "loop1"));
  symlinkSync("loop1", join(root, "loop2"));

  it("follows the image's symlinks inside the root", () => {
    expect(resolveInRoot(root, "/etc/hosts")).toBe(join(root, "real", "etc", "hosts"));
    expect(resolveInRoot(root, "/up/x")).toBe(join(root, "host", "x"));
    expect(resolveInRoot(root, "/../../a/./b")).toBe(join(root, "a", "b"));
  });
  it("gives up on symlink loops", () => {
    expect(() => resolveInRoot(root, "/loop1/x")).toThrow(/too many symlinks/);
  });
});

describe("passwd and group lookups", () => {
  it("finds the primary gid, home and supplementary groups", () => {
    const passwd = "root:x:0:0:root:/root:/bin/sh\napp:x:1000:2000:app:/home/app:/bin/sh\n";
    expect(lookupPasswd(passwd, 1000)).toEqual({ name: "app", gid: 2000, home: "/home/app" });
    expect(lookupPasswd(passwd, 5)).toBeUndefined();
    expect(lookupGroups("wheel:x:10:root,app\nusers:x:100:\nvideo:x:44:app\n", "app")).toEqual([10, 44]);
  });
});

describe("parseStatStartTime", () => {
  it("reads field 22 even when the command name has spaces and parentheses", () => {
    const stat = "1234 (a (b) c) S 1 1234 1234 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 987654 1000 10";
    expect(parseStatStartTime(stat)).toEqual({ state: "S", startTime: "987654" });
  });
});

describe("parseLdd", () => {
  it("separates the loader from the libraries", () => {
    const text = "\tlinux-vdso.so.1 (0x00007ffd)\n\tlibc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x00007f00)\n\t/lib64/ld-linux-x86-64.so.2 (0x00007f01)\n";
    expect(parseLdd(text)).toEqual({ loader: "/lib64/ld-linux-x86-64.so.2", libraries: ["/lib/x86_64-linux-gnu/libc.so.6"] });
  });
});

describe("buildSetupScript", () => {
  const input = {
    rootfs: "/state/c/rootfs",
    fstab: "/state/c/fstab",
    mountBin: "/usr/bin/mount",
    loaderName: "ld-linux-x86-64.so.2",
    readonlyRootfs: false,
    workingDir: "/w d",
    env: ["A=it's"],
    uid: 1000,
    gid: 1000,
    groups: [],
    capabilities: ["chown", "kill"],
    noNewPrivs: true,
    argv: ["/bin/echo", "$HOME"],
  };
  it("waits for the shim, pivots, drops the old root and execs through setpriv", () => {
    const s = buildSetupScript(input);
    const lines = s.trim().split("\n");
    expect(lines[1]).toMatch(/^read -r go <&3/);
    expect(s).toContain("pivot_root . .ck-oldroot");
    expect(s).toContain("umount -l /.ck-oldroot");
    expect(s).toContain("cd '/w d'");
    expect(s).not.toContain("remount,bind,ro");
    const last = lines[lines.length - 1] as string;
    expect(last).toContain("'A=it'\\''s'");
    expect(last).toContain("'--bounding-set' '-all,+chown,+kill'");
    expect(last).toContain("'--clear-groups'");
    expect(last).toContain("'--no-new-privs'");
    expect(last.endsWith("'--' '/bin/echo' '$HOME'")).toBe(true);
    expect(buildSetupScript({ ...input, readonlyRootfs: true, groups: [5, 6] })).toMatch(/remount,bind,ro[\s\S]*'--groups' '5,6'/);
  });
  it("refuses an empty command", () => {
    expect(() => buildSetupScript({ ...input, argv: [] })).toThrow(/no command/);
  });
});
