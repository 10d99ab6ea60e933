// Book 7.3 and 9.3: fsGroup and the volume manager (run as root, so chown works): emptyDir,
// configMap, secret, downwardAPI and projected files belong to the pod's fsGroup with group bits and
// setgid directories; hostPath is left alone; OnRootMismatch skips the walk when the root is right.
import { chmodSync, chownSync, lchownSync, lstatSync, mkdirSync, mkdtempSync, readlinkSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Pod } from "@corekube/api";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { VolumeManager } from "./manager.js";
import { changeOwnership } from "./ownership.js";
import { FakeMounter, FakeVolumeApi } from "./testing.js";
import { type Volume, VolumeError } from "./types.js";

const G = 2345;
let root: string;
let api: FakeVolumeApi;
let clock: Date;
let vm: VolumeManager;

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), "ck-fsgroup-"));
  api = new FakeVolumeApi();
  clock = new Date("2026-01-01T00:00:00Z");
  vm = new VolumeManager({ rootDir: root, nodeName: "node-1", api, mounter: new FakeMounter(), nodeAllocatable: { cpu: "8", memory: "16Gi" }, now: () => clock });
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

function pod(volumes: Volume[], securityContext?: Record<string, unknown>): Pod {
  return {
    metadata: { name: "web", namespace: "shop", uid: "uid-1" },
    spec: { containers: [{ name: "app" }], volumes, ...(securityContext ? { securityContext } : {}) } as Pod["spec"],
  };
}

const volDir = (plugin: string, name: string) => join(root, "pods", "uid-1", "volumes", `kubernetes.io~${plugin}`, name);
const gid = (p: string) => statSync(p).gid;
const mode = (p: string) => statSync(p).mode & 0o7777;
const SETGID = 0o2000;

describe("fsGroup on pod volumes", () => {
  it("gives every kind of pod volume to the fsGroup, group-readable, with setgid directories; hostPath untouched", async () => {
    api.setConfigMap("shop", "cfg", { "app.conf": "port=80\n", nested: "n" });
    api.setSecret("shop", "creds", { password: "hunter2" });
    const host = join(root, "host");
    mkdirSync(host);
    chmodSync(host, 0o700);
    writeFileSync(join(host, "f"), "x", { mode: 0o600 });
    await vm.setUp(
      pod(
        [
          { name: "scratch", emptyDir: {} },
          { name: "cfg", configMap: { name: "cfg", items: [{ key: "app.conf", path: "app.conf", mode: 0o600 }, { key: "nested", path: "sub/dir/n" }] } },
          { name: "creds", secret: { secretName: "creds", defaultMode: 0o400 } },
          { name: "info", downwardAPI: { items: [{ path: "name", fieldRef: { fieldPath: "metadata.name" } }] } },
          { name: "all", projected: { sources: [{ configMap: { name: "cfg", items: [{ key: "nested", path: "n" }] } }] } },
          { name: "h", hostPath: { path: host } },
        ],
        { fsGroup: G },
      ),
    );

    const scratch = volDir("empty-dir", "scratch");
    expect(gid(scratch)).toBe(G);
    expect(mode(scratch)).toBe(0o777 | SETGID);
    // What a container writes there later belongs to the group too (the setgid directory does it).
    writeFileSync(join(scratch, "out.log"), "hello");
    mkdirSync(join(scratch, "cache"));
    expect(gid(join(scratch, "out.log"))).toBe(G);
    expect(gid(join(scratch, "cache"))).toBe(G);

    const cfg = volDir("configmap", "cfg");
    expect(gid(cfg)).toBe(G);
    expect(mode(cfg) & (0o550 | SETGID)).toBe(0o550 | SETGID);
    expect(gid(join(cfg, "app.conf"))).toBe(G);
    expect(mode(join(cfg, "app.conf"))).toBe(0o640);
    expect(mode(join(cfg, "sub/dir/n"))).toBe(0o644);
    expect(gid(join(cfg, "sub/dir"))).toBe(G);
    expect(mode(join(cfg, "sub/dir")) & SETGID).toBe(SETGID);
    expect(gid(join(cfg, "..data"))).toBe(G);

    const creds = volDir("secret", "creds");
    expect(gid(join(creds, "password"))).toBe(G);
    expect(mode(join(creds, "password"))).toBe(0o440);

    expect(gid(join(volDir("downward-api", "info"), "name"))).toBe(G);
    expect(mode(join(volDir("downward-api", "info"), "name"))).toBe(0o644);
    expect(gid(join(volDir("projected", "all"), "n"))).toBe(G);

    expect(gid(host)).toBe(0);
    expect(mode(host)).toBe(0o700);
    expect(gid(join(host, "f"))).toBe(0);
    expect(mode(join(host, "f"))).toBe(0o600);
  });

  it("changes nothing without an fsGroup", async () => {
    api.setSecret("shop", "creds", { password: "hunter2" });
    await vm.setUp(pod([{ name: "scratch", emptyDir: {} }, { name: "creds", secret: { secretName: "creds", defaultMode: 0o400 } }]));
    expect(mode(volDir("empty-dir", "scratch"))).toBe(0o777);
    expect(gid(join(volDir("secret", "creds"), "password"))).toBe(0);
    expect(mode(join(volDir("secret", "creds"), "password"))).toBe(0o400);
  });

  it("does not rewrite unchanged content on the next sync, and gives a new version the group before it shows", async () => {
    api.setConfigMap("shop", "cfg", { a: "1" });
    const p = pod([{ name: "cfg", configMap: { name: "cfg", defaultMode: 0o400 } }], { fsGroup: G, fsGroupChangePolicy: "OnRootMismatch" });
    await vm.setUp(p);
    const dir = volDir("configmap", "cfg");
    const first = readlinkSync(join(dir, "..data"));
    clock = new Date("2026-01-01T00:01:00Z");
    await vm.setUp(p);
    expect(readlinkSync(join(dir, "..data"))).toBe(first);

    // The root is right, so OnRootMismatch skips the walk; the new version still carries the group.
    api.setConfigMap("shop", "cfg", { a: "2", b: "3" });
    clock = new Date("2026-01-01T00:02:00Z");
    await vm.setUp(p);
    expect(readlinkSync(join(dir, "..data"))).not.toBe(first);
    for (const f of ["a", "b"]) {
      expect(gid(join(dir, f))).toBe(G);
      expect(mode(join(dir, f))).toBe(0o440);
    }
  });

  it("walks the volume again each sync with Always, but not with OnRootMismatch while the root is right", async () => {
    api.setConfigMap("shop", "cfg", { a: "1" });
    const always = pod([{ name: "cfg", configMap: { name: "cfg" } }], { fsGroup: G });
    const onMismatch = pod([{ name: "cfg", configMap: { name: "cfg" } }], { fsGroup: G, fsGroupChangePolicy: "OnRootMismatch" });
    const dir = volDir("configmap", "cfg");
    const file = join(dir, "..data", "a");
    await vm.setUp(onMismatch);
    expect(gid(file)).toBe(G);

    chownSync(file, 0, 0); // someone on the host took the file's group away
    await vm.setUp(onMismatch);
    expect(gid(file)).toBe(0);
    await vm.setUp(always);
    expect(gid(file)).toBe(G);

    // A root that lost its group is a mismatch: the whole volume is walked again.
    chownSync(file, 0, 0);
    chownSync(dir, 0, 0);
    await vm.setUp(onMismatch);
    expect(gid(dir)).toBe(G);
    expect(gid(file)).toBe(G);
  });

  it("sets an emptyDir up once: later syncs leave the containers' files alone unless the root is off", async () => {
    const p = pod([{ name: "scratch", emptyDir: {} }], { fsGroup: G });
    await vm.setUp(p);
    const dir = volDir("empty-dir", "scratch");
    writeFileSync(join(dir, "private"), "x", { mode: 0o600 });
    chmodSync(join(dir, "private"), 0o600);
    await vm.setUp(p);
    expect(mode(join(dir, "private"))).toBe(0o600);

    chmodSync(dir, 0o755); // the root lost its group bits and setgid: the walk adds them back
    await vm.setUp(p);
    expect(mode(dir)).toBe(0o775 | SETGID);
    expect(mode(join(dir, "private"))).toBe(0o660);
  });

  it("refuses a bad fsGroup or fsGroupChangePolicy with a FailedMount naming it", async () => {
    for (const [sc, want] of [
      [{ fsGroup: -1 }, /invalid securityContext.fsGroup -1/],
      [{ fsGroup: "2000" }, /invalid securityContext.fsGroup "2000"/],
      [{ fsGroup: 1.5 }, /invalid securityContext.fsGroup 1.5/],
      [{ fsGroup: G, fsGroupChangePolicy: "Sometimes" }, /invalid securityContext.fsGroupChangePolicy "Sometimes"/],
    ] as const) {
      const e = await vm.setUp(pod([{ name: "scratch", emptyDir: {} }], sc)).then(
        () => undefined,
        (x: unknown) => x,
      );
      expect(e).toBeInstanceOf(VolumeError);
      expect((e as VolumeError).reason).toBe("FailedMount");
      expect((e as Error).message).toMatch(want);
    }
  });
});

describe("changeOwnership", () => {
  it("changes a symlink's own group but never follows it", async () => {
    const vol = join(root, "vol");
    const outside = join(root, "outside");
    mkdirSync(vol);
    writeFileSync(outside, "x", { mode: 0o600 });
    chmodSync(outside, 0o600);
    symlinkSync(outside, join(vol, "link"));
    lchownSync(join(vol, "link"), 0, 0);
    await changeOwnership(vol, G, false);
    expect(lstatSync(join(vol, "link")).gid).toBe(G);
    expect(gid(outside)).toBe(0);
    expect(mode(outside)).toBe(0o600);
    expect(mode(vol)).toBe(0o755 | 0o660 | 0o110 | SETGID);
  });
});
