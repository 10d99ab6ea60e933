// Book 9.5 and 3.4.2: the image store — digests verified on write, layers unpacked once with OCI
// whiteouts turned into overlayfs ones (checked by mounting an overlay), names, removal and gc.
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import * as fs from "node:fs/promises";
import * as os from "node:os";
import * as path from "node:path";
import { promisify } from "node:util";
import { gzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DigestMismatchError, ImageStore, ImageStoreError } from "./store.js";
import { type BuiltImage, type LayerEntry, makeLayer as makeTestLayer, putImage as putTestImage, sha256Digest, type TestLayer } from "./testing.js";

const run = promisify(execFile);
const sha = sha256Digest;

let tmp: string;
beforeAll(async () => {
  tmp = await fs.mkdtemp(path.join(os.tmpdir(), "ck-store-"));
});
afterAll(async () => {
  await fs.rm(tmp, { recursive: true, force: true });
});

const makeLayer = (entries: Record<string, LayerEntry>) => makeTestLayer(tmp, entries);

/** Puts an image with a full config (entrypoint, env, user, ...) and `cmd` into the store's blobs. */
function putImage(store: ImageStore, layers: TestLayer[], cmd: string[], diffIds?: string[]): Promise<BuiltImage> {
  const config = { Cmd: cmd, Env: ["PATH=/bin", "A=1"], WorkingDir: "/work", User: "1000:1000", Entrypoint: ["/bin/tini", "--"], ExposedPorts: { "80/tcp": {} } };
  return putTestImage(store, layers, config, diffIds);
}

async function overlayWorks(): Promise<boolean> {
  if (process.getuid?.() !== 0) return false;
  const d = await fs.mkdtemp(path.join(tmp, "ovl-probe-"));
  try {
    await Promise.all(["l1", "l2", "m"].map((x) => fs.mkdir(path.join(d, x))));
    await run("mount", ["-t", "overlay", "overlay", "-o", `lowerdir=${d}/l2:${d}/l1`, `${d}/m`]);
    await run("umount", [`${d}/m`]);
    return true;
  } catch {
    return false;
  } finally {
    await fs.rm(d, { recursive: true, force: true });
  }
}

describe("ImageStore blobs", () => {
  it("stores content under its sha256 and refuses content that does not match", async () => {
    const store = new ImageStore({ root: path.join(tmp, "blobs") });
    const good = Buffer.from("hello layer");
    const d = await store.putBlob(good, { digest: sha(good), size: good.length });
    expect(d).toBe(sha(good));
    expect(await fs.readFile(path.join(store.root, "blobs", "sha256", d.slice(7)))).toEqual(good);

    const other = `sha256:${"0".repeat(64)}`;
    await expect(store.putBlob(Buffer.from("tampered"), { digest: other })).rejects.toThrow(DigestMismatchError);
    await expect(store.putBlob(good, { digest: sha(good), size: good.length + 1 })).rejects.toThrow(/promised/);
    await expect(store.putBlob(Buffer.from("x".repeat(50)), { digest: other, size: 10 })).rejects.toThrow(/more than the 10 bytes/);
    expect(await store.hasBlob(other)).toBe(false);
    // Nothing half-written is left behind.
    expect(await fs.readdir(path.join(store.root, "tmp"))).toEqual([]);
    await expect(store.putBlob(good, { digest: "sha256:../../etc/passwd" })).rejects.toThrow(/not a sha256 digest/);
  });
});

describe("ImageStore images", () => {
  it("round-trips an image: commit, get (config and layers in order), list, a second store instance, remove", async () => {
    const root = path.join(tmp, "roundtrip");
    const store = new ImageStore({ root });
    const base = await makeLayer({ "bin/app": "#!/bin/sh\n", "etc/os-release": "ID=test\n" });
    const top = await makeLayer({ "etc/app.conf": "x=1\n" });
    const built = await putImage(store, [base, top], ["serve", "--port=80"]);

    const info = await store.commit("example.com/team/app:1", built.manifestDigest);
    expect(info.ref).toBe("example.com/team/app:1");
    expect(info.digest).toBe(built.manifestDigest);
    expect(info.id).toBe(built.configDigest);
    expect(info.config).toMatchObject({
      entrypoint: ["/bin/tini", "--"],
      cmd: ["serve", "--port=80"],
      env: ["PATH=/bin", "A=1"],
      workingDir: "/work",
      user: "1000:1000",
      exposedPorts: ["80/tcp"],
    });
    expect(info.diffIds).toEqual([base.diffId, top.diffId]);
    expect(info.layers).toEqual([path.join(root, "layers", base.diffId.slice(7)), path.join(root, "layers", top.diffId.slice(7))]);
    expect(await fs.readFile(path.join(info.layers[0]!, "etc/os-release"), "utf8")).toBe("ID=test\n");
    expect(existsSync(path.join(info.layers[0]!, "etc/app.conf"))).toBe(false);
    expect(await fs.readFile(path.join(info.layers[1]!, "etc/app.conf"), "utf8")).toBe("x=1\n");

    await store.commit("example.com/team/app:latest", built.manifestDigest);
    const again = new ImageStore({ root });
    expect((await again.list()).map((i) => [i.ref, i.digest])).toEqual([
      ["example.com/team/app:1", built.manifestDigest],
      ["example.com/team/app:latest", built.manifestDigest],
    ]);
    expect((await again.get("example.com/team/app"))?.names).toEqual(["example.com/team/app:1", "example.com/team/app:latest"]);
    expect((await again.get(built.manifestDigest))?.digest).toBe(built.manifestDigest);
    expect((await again.get(built.configDigest))?.digest).toBe(built.manifestDigest);
    expect((await again.get(`example.com/team/app@${built.manifestDigest}`))?.digest).toBe(built.manifestDigest);
    expect(await again.get("example.com/team/other")).toBeUndefined();

    expect(await again.remove("example.com/team/app:1")).toEqual(["example.com/team/app:1"]);
    expect(await again.get("example.com/team/app:1")).toBeUndefined();
    expect((await again.list()).map((i) => i.ref)).toEqual(["example.com/team/app:latest"]);
    expect(await again.remove("example.com/team/app:1")).toEqual([]);
    const onDisk = JSON.parse(await fs.readFile(path.join(root, "images.json"), "utf8"));
    expect(Object.keys(onDisk.images)).toEqual(["example.com/team/app:latest"]);
  });

  it("refuses to commit an image whose layer does not match its diff ID, and leaves no layer behind", async () => {
    const store = new ImageStore({ root: path.join(tmp, "baddiff") });
    const layer = await makeLayer({ "a.txt": "a" });
    const built = await putImage(store, [layer], ["sh"], [`sha256:${"1".repeat(64)}`]);
    await expect(store.commit("bad:1", built.manifestDigest)).rejects.toThrow(/diff ID.*does not match/);
    expect(await fs.readdir(path.join(store.root, "layers"))).toEqual([]);
    expect(await store.list()).toEqual([]);
  });

  it("gives clear errors for a missing blob and a bad reference", async () => {
    const store = new ImageStore({ root: path.join(tmp, "errors") });
    await expect(store.commit("x:1", `sha256:${"2".repeat(64)}`)).rejects.toThrow(ImageStoreError);
    await expect(store.commit("x:1", `sha256:${"2".repeat(64)}`)).rejects.toThrow(/not in the store/);
    await expect(store.get("Not/Valid")).rejects.toThrow(/lowercase/);
  });

  it("refuses a whiteout that reaches outside the layer through a symlink", async () => {
    const store = new ImageStore({ root: path.join(tmp, "escape") });
    const outside = await fs.mkdtemp(path.join(tmp, "outside-"));
    await fs.writeFile(path.join(outside, "victim"), "keep me");
    // A tar whose first entry is the symlink "link" and whose second is the whiteout "link/.wh.victim".
    const a = await fs.mkdtemp(path.join(tmp, "evil-a-"));
    const b = await fs.mkdtemp(path.join(tmp, "evil-b-"));
    await fs.symlink(outside, path.join(a, "link"));
    await fs.mkdir(path.join(b, "link"));
    await fs.writeFile(path.join(b, "link/.wh.victim"), "");
    const tarFile = path.join(tmp, "evil.tar");
    await run("tar", ["-cf", tarFile, "-C", a, "link", "-C", b, "link/.wh.victim"]);
    const tarBytes = await fs.readFile(tarFile);
    const evil = { gz: gzipSync(tarBytes), diffId: sha(tarBytes) };
    const built = await putImage(store, [evil], ["sh"]);
    await expect(store.commit("evil:1", built.manifestDigest)).rejects.toThrow(/symlink/);
    expect(await fs.readFile(path.join(outside, "victim"), "utf8")).toBe("keep me");
  });
});

describe("whiteouts", () => {
  let canMount = false;
  beforeAll(async () => {
    canMount = await overlayWorks();
  });

  it("turns .wh.NAME into a 0/0 character device and .wh..wh..opq into trusted.overlay.opaque", async () => {
    const store = new ImageStore({ root: path.join(tmp, "wh") });
    const lower = await makeLayer({
      "etc/gone": "delete me",
      "etc/stays": "still here",
      "data/keep/a": "a",
      "opq/old1": "1",
      "opq/sub/old2": "2",
    });
    const upper = await makeLayer({
      "etc/.wh.gone": "",
      "opq/.wh..wh..opq": "",
      "opq/new": "new",
      "data/.wh.nothere": "",
    });
    const built = await putImage(store, [lower, upper], ["sh"]);
    const info = await store.commit("wh:1", built.manifestDigest);
    const [l0, l1] = info.layers as [string, string];

    // The lower layer is untouched.
    expect(await fs.readFile(path.join(l0, "etc/gone"), "utf8")).toBe("delete me");
    // The upper layer has overlay whiteouts and no .wh. files.
    const st = await fs.lstat(path.join(l1, "etc/gone"));
    expect(st.isCharacterDevice()).toBe(true);
    expect(st.rdev).toBe(0);
    expect((await fs.lstat(path.join(l1, "data/nothere"))).isCharacterDevice()).toBe(true);
    expect(existsSync(path.join(l1, "etc/.wh.gone"))).toBe(false);
    expect(existsSync(path.join(l1, "opq/.wh..wh..opq"))).toBe(false);
    const { stdout } = await run("getfattr", ["--only-values", "-n", "trusted.overlay.opaque", path.join(l1, "opq")]);
    expect(stdout).toBe("y");
    expect(await store.layerWhiteouts(info.diffIds[1]!)).toEqual({ whiteouts: ["data/nothere", "etc/gone"], opaqueDirs: ["opq"] });

    if (!canMount) {
      console.warn("whiteouts: overlay mounts are not possible here; skipped the mounted view");
      return;
    }
    // Stacked as lowerdirs (topmost first) the deleted file is gone and the opaque dir shows only the new file.
    const merged = await fs.mkdtemp(path.join(tmp, "merged-"));
    await run("mount", ["-t", "overlay", "overlay", "-o", `lowerdir=${l1}:${l0}`, merged]);
    try {
      expect(existsSync(path.join(merged, "etc/gone"))).toBe(false);
      expect(await fs.readFile(path.join(merged, "etc/stays"), "utf8")).toBe("still here");
      expect((await fs.readdir(path.join(merged, "opq"))).sort()).toEqual(["new"]);
      expect(await fs.readFile(path.join(merged, "data/keep/a"), "utf8")).toBe("a");
      expect(existsSync(path.join(merged, "data/nothere"))).toBe(false);
    } finally {
      await run("umount", [merged]);
      await fs.rm(merged, { recursive: true, force: true });
    }
  });
});

describe("gc", () => {
  it("removes blobs and layers no name and no running container needs, and keeps shared ones", async () => {
    const store = new ImageStore({ root: path.join(tmp, "gc") });
    const shared = await makeLayer({ "bin/sh": "shell" });
    const onlyA = await makeLayer({ "a.txt": "a" });
    const onlyB = await makeLayer({ "b.txt": "b" });
    const a = await putImage(store, [shared, onlyA], ["a"]);
    const b = await putImage(store, [shared, onlyB], ["b"]);
    await store.commit("a:1", a.manifestDigest);
    await store.commit("b:1", b.manifestDigest);
    const stray = await store.putBlob(Buffer.from("nobody uses me"));

    let r = await store.gc(new Set());
    expect(r.removedBlobs).toEqual([stray]);
    expect(r.removedLayers).toEqual([]);

    await store.remove("a:1");
    r = await store.gc(new Set());
    expect(r.removedBlobs.sort()).toEqual([a.manifestDigest, a.configDigest, a.layerDigests[1]!].sort());
    expect(r.removedLayers).toEqual([onlyA.diffId]);
    expect(existsSync(store.layerPath(shared.diffId))).toBe(true);
    expect(existsSync(store.layerPath(onlyA.diffId))).toBe(false);
    expect(existsSync(`${store.layerPath(onlyA.diffId)}.json`)).toBe(false);
    expect((await store.get("b:1"))?.layers).toHaveLength(2);

    // A container still runs b: its name is gone but its digest is in use, so nothing goes.
    await store.remove("b:1");
    r = await store.gc(new Set([b.manifestDigest]));
    expect(r).toEqual({ removedBlobs: [], removedLayers: [] });
    r = await store.gc(new Set());
    expect(r.removedBlobs).toHaveLength(4);
    expect(r.removedLayers.sort()).toEqual([shared.diffId, onlyB.diffId].sort());
    expect(await fs.readdir(path.join(store.root, "blobs", "sha256"))).toEqual([]);
    expect(await fs.readdir(path.join(store.root, "layers"))).toEqual([]);
  });

  it("keeps the layers named in keepLayers even when no image needs them", async () => {
    const store = new ImageStore({ root: path.join(tmp, "gc-keep") });
    const layer = await makeLayer({ "k.txt": "k" });
    const built = await putImage(store, [layer], ["k"]);
    const info = await store.commit("keep:1", built.manifestDigest);
    await store.remove("keep:1");
    const r = await store.gc(new Set(), { keepLayers: [info.layers[0]!, "/not/a/layer", "sha256:bad"] });
    expect(r.removedLayers).toEqual([]);
    expect(r.removedBlobs).toHaveLength(3);
    expect(existsSync(info.layers[0]!)).toBe(true);
    expect((await store.gc(new Set())).removedLayers).toEqual([layer.diffId]);
  });

  it("diskUsage lists each image once with its pieces, shared pieces under the same key", async () => {
    const store = new ImageStore({ root: path.join(tmp, "usage") });
    const shared = await makeLayer({ "lib/x": "x".repeat(10_000) });
    const own = await makeLayer({ "own": "o" });
    const a = await putImage(store, [shared], ["a"]);
    const b = await putImage(store, [shared, own], ["b"]);
    await store.commit("a:1", a.manifestDigest);
    await store.commit("a:latest", a.manifestDigest);
    await store.commit("b:1", b.manifestDigest);
    const usage = await store.diskUsage();
    expect(usage.map((u) => [u.digest, u.names])).toEqual(
      [
        [a.manifestDigest, ["docker.io/library/a:1", "docker.io/library/a:latest"]],
        [b.manifestDigest, ["docker.io/library/b:1"]],
      ].sort(([x], [y]) => String(x).localeCompare(String(y))),
    );
    const ua = usage.find((u) => u.digest === a.manifestDigest)!;
    const ub = usage.find((u) => u.digest === b.manifestDigest)!;
    expect(ua.id).toBe(a.configDigest);
    expect(ua.layerDirs).toEqual([store.layerPath(shared.diffId)]);
    expect(ua.parts.map((p) => p.key).sort()).toEqual(
      [`blob:${a.manifestDigest}`, `blob:${a.configDigest}`, `blob:${a.layerDigests[0]}`, `layer:${shared.diffId}`].sort(),
    );
    const sharedA = ua.parts.find((p) => p.key === `layer:${shared.diffId}`)!;
    const sharedB = ub.parts.find((p) => p.key === `layer:${shared.diffId}`)!;
    expect(sharedA.bytes).toBe(sharedB.bytes);
    expect(sharedA.bytes).toBeGreaterThan(0);
    expect(ua.parts.find((p) => p.key === `blob:${a.layerDigests[0]}`)?.bytes).toBe(shared.gz.length);
  });

  it("waits for a pull in progress, so blobs not yet named survive", async () => {
    const store = new ImageStore({ root: path.join(tmp, "gc-lease") });
    const layer = await makeLayer({ "x": "x" });
    let release!: () => void;
    let built!: BuiltImage;
    const pull = store.withLease(async () => {
      built = await putImage(store, [layer], ["x"]);
      await new Promise<void>((r) => {
        release = r;
      });
      return store.commit("leased:1", built.manifestDigest);
    });
    while (!release) await new Promise((r) => setTimeout(r, 5));
    const gc = store.gc(new Set());
    release();
    await pull;
    expect((await gc).removedBlobs).toEqual([]);
    expect((await store.get("leased:1"))?.digest).toBe(built.manifestDigest);
  });
});
