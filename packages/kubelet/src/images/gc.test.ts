// Book 9.5 (node disk pressure): image garbage collection — which images go (pure planner), how the
// manager tracks first-detected/last-used times and reports events, and a run against a real store.
import { existsSync } from "node:fs";
import * as fs from "node:fs/promises";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import type { Container } from "../runtime/cri.js";
import {
  DEFAULT_IMAGE_GC_POLICY,
  type FsUsage,
  type GcCandidate,
  IMAGE_GC_EVENTS,
  type ImageGcEvent,
  ImageGcManager,
  type ImageGcPolicy,
  type ImageGcStore,
  planImageGc,
  validateImageGcPolicy,
} from "./gc.js";
import { type GcOptions, type ImageDiskUsage, ImageStore } from "./store.js";
import { makeLayer as makeTestLayer, putImage, type TestLayer } from "./testing.js";

const MIN = 60_000;
const policy: ImageGcPolicy = { ...DEFAULT_IMAGE_GC_POLICY };
const d = (c: string) => `sha256:${c.repeat(64)}`;

function img(digest: string, over: Partial<GcCandidate> = {}): GcCandidate {
  return {
    digest,
    names: [`example.com/${digest.slice(7, 10)}:1`],
    parts: [{ key: `blob:${digest}`, bytes: 100 }],
    firstDetected: 0,
    inUse: false,
    pinned: false,
    ...over,
  };
}

/** 1000-byte disk with `used` bytes taken. */
const disk = (used: number): FsUsage => ({ capacityBytes: 1000, availableBytes: 1000 - used });

describe("planImageGc", () => {
  const now = 60 * MIN;

  it("does nothing while usage is under the high threshold", () => {
    const plan = planImageGc({ images: [img(d("a"))], policy, now, startedAt: 0, fs: disk(840) });
    expect(plan.usagePercent).toBe(84);
    expect(plan.deletions).toEqual([]);
    expect(plan.bytesToFree).toBe(0);
    expect(plan.shortfall).toBeUndefined();
  });

  it("at the high threshold frees down to the low one, least recently used first, never-used before used", () => {
    const images = [
      img(d("a"), { lastUsed: 30 * MIN }),
      img(d("b"), { lastUsed: 10 * MIN }),
      img(d("c")), // never used, detected later than d
      img(d("d"), { firstDetected: -5 * MIN }), // never used, detected first
      img(d("e"), { lastUsed: 20 * MIN }),
    ];
    // 850 used of 1000 → 85%: to reach 80% (800 used) free 50; 900 used → free 100.
    let plan = planImageGc({ images, policy, now, startedAt: 0, fs: disk(850) });
    expect(plan.usagePercent).toBe(85);
    expect(plan.bytesToFree).toBe(50);
    expect(plan.deletions.map((x) => x.digest)).toEqual([d("d")]);

    plan = planImageGc({ images, policy, now, startedAt: 0, fs: disk(1000) });
    expect(plan.bytesToFree).toBe(200);
    expect(plan.deletions.map((x) => x.digest)).toEqual([d("d"), d("c")]);
    expect(plan.deletions.every((x) => x.reason === "space")).toBe(true);
    expect(plan.bytesFreed).toBe(200);

    plan = planImageGc({ images, policy, now, startedAt: 0, bytesToFree: 350 });
    expect(plan.deletions.map((x) => x.digest)).toEqual([d("d"), d("c"), d("b"), d("e")]);
  });

  it("never picks images in use, pinned ones, or ones first seen less than minAge ago (and keeps looking past them)", () => {
    const images = [
      img(d("a"), { inUse: true, lastUsed: now }),
      img(d("b"), { pinned: true }),
      img(d("c"), { firstDetected: now - 1 * MIN }), // younger than the 2 minute minAge
      img(d("e"), { firstDetected: now - 2 * MIN, lastUsed: now - 1 * MIN }),
    ];
    const plan = planImageGc({ images, policy, now, startedAt: 0, fs: disk(1000) });
    expect(plan.deletions.map((x) => x.digest)).toEqual([d("e")]);
    expect(plan.shortfall).toEqual({ wanted: 200, found: 100 });
  });

  it("counts a shared layer only when the last image holding it goes, and never one a container holds", () => {
    const L = (n: string, bytes: number) => ({ key: `layer:${n}`, bytes });
    const images = [
      img(d("a"), { lastUsed: 1, parts: [{ key: `blob:${d("a")}`, bytes: 10 }, L("shared", 300), L("onlyA", 40)] }),
      img(d("b"), { lastUsed: 2, parts: [{ key: `blob:${d("b")}`, bytes: 10 }, L("shared", 300), L("withC", 70)] }),
      img(d("c"), { inUse: true, lastUsed: now, parts: [{ key: `blob:${d("c")}`, bytes: 10 }, L("withC", 70)] }),
      img(d("f"), { lastUsed: 3, parts: [{ key: `blob:${d("f")}`, bytes: 10 }, L("orphanHeld", 500)] }),
    ];
    const plan = planImageGc({ images, policy, now, startedAt: 0, bytesToFree: 10_000, heldParts: ["layer:orphanHeld"] });
    expect(plan.deletions.map((x) => [x.digest, x.bytes])).toEqual([
      [d("a"), 50], // its blob and onlyA; b still holds the shared layer
      [d("b"), 310], // its blob and now the shared layer; c still holds withC
      [d("f"), 10], // a container mounts its layer directly
    ]);
    expect(plan.bytesFreed).toBe(370);
    expect(plan.shortfall).toEqual({ wanted: 10_000, found: 370 });
  });

  it("with maxAge deletes images unused for longer, but only once GC has run for longer than maxAge", () => {
    const p = { ...policy, maxAgeMs: 30 * MIN };
    const images = [
      img(d("a"), { lastUsed: now - 31 * MIN }),
      img(d("b"), { lastUsed: now - 29 * MIN }),
      img(d("c"), { firstDetected: now - 40 * MIN }), // never used, seen 40 minutes ago
      img(d("e"), { firstDetected: now - 10 * MIN }), // never used, seen recently
      img(d("f"), { inUse: true, lastUsed: now, firstDetected: 0 }),
    ];
    const early = planImageGc({ images, policy: p, now, startedAt: now - 30 * MIN, fs: disk(0) });
    expect(early.deletions).toEqual([]);
    const plan = planImageGc({ images, policy: p, now, startedAt: now - 31 * MIN, fs: disk(0) });
    expect(plan.deletions.map((x) => [x.digest, x.reason])).toEqual([
      [d("c"), "age"],
      [d("a"), "age"],
    ]);
    expect(plan.bytesToFree).toBe(0);
    // Age deletions count towards the space target, and space deletions skip what age already took.
    const both = planImageGc({ images, policy: p, now, startedAt: 0, fs: disk(900) });
    expect(both.deletions.map((x) => [x.digest, x.reason])).toEqual([
      [d("c"), "age"],
      [d("a"), "age"],
    ]);
    const more = planImageGc({ images, policy: p, now, startedAt: 0, bytesToFree: 300 });
    expect(more.deletions.map((x) => [x.digest, x.reason])).toEqual([
      [d("c"), "age"],
      [d("a"), "age"],
      [d("e"), "space"],
    ]);
  });

  it("reports a filesystem without capacity instead of dividing by zero", () => {
    const plan = planImageGc({ images: [img(d("a"))], policy, now, startedAt: 0, fs: { capacityBytes: 0, availableBytes: 0 } });
    expect(plan.invalidCapacity).toBe(true);
    expect(plan.deletions).toEqual([]);
  });

  it("validates a policy with readable messages", () => {
    expect(validateImageGcPolicy(policy)).toEqual([]);
    expect(validateImageGcPolicy({ ...policy, highThresholdPercent: 101 }).join()).toMatch(/between 0 and 100, got 101/);
    expect(validateImageGcPolicy({ ...policy, lowThresholdPercent: 90 }).join()).toMatch(/low threshold \(90%\) must not be above the high threshold \(85%\)/);
    expect(validateImageGcPolicy({ ...policy, minAgeMs: -1 }).join()).toMatch(/minimum GC age must be zero or more/);
    expect(validateImageGcPolicy({ ...policy, maxAgeMs: MIN }).join()).toMatch(/maximum GC age .* must be greater than the minimum/);
    expect(() => new ImageGcManager({ store: new FakeStore(), runtime: runtimeOf([]), policy: { lowThresholdPercent: 95 } })).toThrow(/invalid image GC policy/);
  });
});

// ---- the manager, with fakes ----

class FakeStore implements ImageGcStore {
  readonly root = "/fake/images";
  images = new Map<string, ImageDiskUsage>();
  removed: string[] = [];
  gcCalls: { inUse: string[]; keepLayers: string[] }[] = [];
  failRemove = new Set<string>();

  add(c: string, bytes: number, names = [`example.com/${c}:1`]): ImageDiskUsage {
    const digest = d(c);
    const u: ImageDiskUsage = {
      digest,
      id: `sha256:${"0".repeat(8)}${c.repeat(56)}`,
      names,
      createdAt: "2024-01-01T00:00:00Z",
      layerDirs: [`/fake/images/layers/${c.repeat(64)}`],
      parts: [{ key: `layer:${digest}`, bytes }],
    };
    this.images.set(digest, u);
    return u;
  }
  async diskUsage() {
    return [...this.images.values()];
  }
  async remove(ref: string) {
    if (this.failRemove.has(ref)) throw new Error("read-only file system");
    this.removed.push(ref);
    const u = this.images.get(ref);
    this.images.delete(ref);
    return u?.names ?? [];
  }
  async gc(inUse = new Set<string>(), opts: GcOptions = {}) {
    this.gcCalls.push({ inUse: [...inUse].sort(), keepLayers: [...(opts.keepLayers ?? [])] });
    return { removedBlobs: [], removedLayers: [] };
  }
}

function container(layers: string[], ref?: string, state: Container["state"] = "CONTAINER_RUNNING"): Container {
  return {
    id: Math.random().toString(16).slice(2),
    podSandboxId: "s",
    metadata: { name: "c", attempt: 0 },
    image: { layers, ...(ref ? { ref } : {}) },
    state,
    createdAt: "",
    labels: {},
    annotations: {},
  };
}

function runtimeOf(list: Container[] | (() => Container[])) {
  return { ListContainers: async () => (typeof list === "function" ? list() : list) };
}

function setup(opts: { used?: number; pinned?: string[]; pause?: string; policy?: Partial<ImageGcPolicy> } = {}) {
  const store = new FakeStore();
  let containers: Container[] = [];
  let t = 1_000_000;
  const usage = { used: opts.used ?? 0, capacity: 1000 };
  const events: ImageGcEvent[] = [];
  const mgr = new ImageGcManager({
    store,
    runtime: runtimeOf(() => containers),
    statfs: async () => ({ capacityBytes: usage.capacity, availableBytes: usage.capacity - usage.used }),
    now: () => t,
    onEvent: (e) => events.push(e),
    pinnedImages: opts.pinned,
    pauseImage: opts.pause,
    policy: opts.policy,
  });
  return {
    store,
    mgr,
    events,
    usage,
    setContainers: (c: Container[]) => {
      containers = c;
    },
    advance: (ms: number) => {
      t += ms;
    },
    now: () => t,
  };
}

describe("ImageGcManager", () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it("records first-detected and last-used times, and frees space from the least recently used image", async () => {
    const s = setup();
    const a = s.store.add("a", 100);
    const b = s.store.add("b", 100);
    s.store.add("c", 100);
    // a is used (by layers) now; b (by reference, an exited container) too.
    s.setContainers([container(a.layerDirs), container(["/elsewhere/x"], "example.com/b:1", "CONTAINER_EXITED")]);
    const t0 = s.now();
    let r = await s.mgr.garbageCollect();
    expect(r.deleted).toEqual([]);
    expect(r.error).toBeUndefined();
    expect(s.mgr.records().get(d("a"))).toEqual({ firstDetected: t0, lastUsed: t0 });
    expect(s.mgr.records().get(d("c"))).toEqual({ firstDetected: t0 });

    // Later only b is used; a was last used at t0, c never.
    s.advance(5 * MIN);
    s.setContainers([container(b.layerDirs)]);
    await s.mgr.garbageCollect();
    expect(s.mgr.records().get(d("a"))?.lastUsed).toBe(t0);
    expect(s.mgr.records().get(d("b"))?.lastUsed).toBe(s.now());

    // Disk fills: 900/1000 → free 100 → c (never used) goes first, a stays.
    s.advance(MIN);
    s.usage.used = 900;
    r = await s.mgr.garbageCollect();
    expect(r.deleted.map((x) => x.digest)).toEqual([d("c")]);
    expect(r.freedBytes).toBe(100);
    expect(s.store.removed).toEqual([d("c")]);
    expect(s.mgr.records().has(d("c"))).toBe(false);
    // The sweep keeps what containers use: the in-use image and every mounted layer.
    expect(s.store.gcCalls).toEqual([{ inUse: [d("b")], keepLayers: b.layerDirs }]);
    expect(s.events).toEqual([]);

    // Still full: next is a (last used at t0); b is in use.
    s.usage.used = 1000;
    r = await s.mgr.garbageCollect();
    expect(r.deleted.map((x) => x.digest)).toEqual([d("a")]);
    expect(r.error).toMatch(/Attempted to free 200 bytes, but only found 100 bytes eligible to free\./);
  });

  it("leaves a newly seen image alone until minAge has passed", async () => {
    const s = setup({ used: 1000 });
    s.store.add("a", 500);
    let r = await s.mgr.garbageCollect();
    expect(r.deleted).toEqual([]);
    s.advance(2 * MIN - 1);
    r = await s.mgr.garbageCollect();
    expect(r.deleted).toEqual([]);
    s.advance(1);
    r = await s.mgr.garbageCollect();
    expect(r.deleted.map((x) => x.digest)).toEqual([d("a")]);
    expect(r.error).toBeUndefined();
  });

  it("emits FreeDiskSpaceFailed with upstream's message when it cannot free enough, and nothing on success", async () => {
    const s = setup({ used: 950 });
    s.store.add("a", 10);
    await s.mgr.garbageCollect(); // a is brand new: nothing eligible yet
    s.advance(3 * MIN);
    const r = await s.mgr.garbageCollect();
    expect(r.deleted.map((x) => x.digest)).toEqual([d("a")]);
    const failed = (found: number) => ({
      type: "Warning",
      reason: IMAGE_GC_EVENTS.FreeDiskSpaceFailed,
      message: `Failed to garbage collect required amount of images. Attempted to free 150 bytes, but only found ${found} bytes eligible to free.`,
    });
    expect(s.events).toEqual([failed(0), failed(10)]);
    expect(r.error).toBe(s.events[1]!.message);

    const ok = setup({ used: 840 });
    ok.store.add("b", 500);
    await ok.mgr.garbageCollect(); // not over the threshold: no event
    ok.usage.used = 900;
    ok.advance(3 * MIN);
    const good = await ok.mgr.garbageCollect();
    expect(good.deleted).toHaveLength(1);
    expect(good.error).toBeUndefined();
    expect(ok.events).toEqual([]);
  });

  it("never deletes the pause image or a pinned one (by name or digest)", async () => {
    const s = setup({ used: 1000, pause: "registry.k8s.io/pause:3.9", pinned: ["busybox", d("c")] });
    s.store.add("a", 100, ["registry.k8s.io/pause:3.9"]);
    s.store.add("b", 100, ["docker.io/library/busybox:latest"]);
    s.store.add("c", 100);
    s.store.add("e", 100);
    await s.mgr.garbageCollect();
    s.advance(10 * MIN);
    const r = await s.mgr.garbageCollect();
    expect(r.deleted.map((x) => x.digest)).toEqual([d("e")]);
    expect(() => new ImageGcManager({ store: s.store, runtime: runtimeOf([]), pinnedImages: ["Not/Valid"] })).toThrow(/pinned image "Not\/Valid" is not a valid/);
  });

  it("deletes nothing when it cannot list containers, and reports a zero-capacity filesystem", async () => {
    const store = new FakeStore();
    store.add("a", 100);
    const events: ImageGcEvent[] = [];
    let t = 0;
    const broken = new ImageGcManager({
      store,
      runtime: { ListContainers: async () => Promise.reject(new Error("runtime is down")) },
      statfs: async () => ({ capacityBytes: 1000, availableBytes: 0 }),
      now: () => (t += 10 * MIN),
    });
    const r = await broken.garbageCollect();
    expect(r.error).toMatch(/could not list images or containers: runtime is down/);
    expect(store.removed).toEqual([]);

    const zero = new ImageGcManager({ store, runtime: runtimeOf([]), statfs: async () => ({ capacityBytes: 0, availableBytes: 0 }), onEvent: (e) => events.push(e) });
    const z = await zero.garbageCollect();
    expect(z.error).toBe("invalid capacity 0 on image filesystem");
    expect(events.map((e) => e.reason)).toEqual([IMAGE_GC_EVENTS.InvalidDiskCapacity]);
  });

  it("keeps going past an image that fails to delete and says so", async () => {
    const s = setup({ used: 1000 });
    s.store.add("a", 100);
    s.store.add("b", 100);
    s.store.failRemove.add(d("a"));
    await s.mgr.garbageCollect();
    s.advance(10 * MIN);
    // Both were detected at once; the digest breaks the tie, so a is tried first.
    const r = await s.mgr.garbageCollect();
    expect(r.deleted.map((x) => x.digest)).toEqual([d("b")]);
    expect(r.error).toMatch(/with errors in image deletion: sha256:a+: read-only file system/);
  });

  it("deleteUnusedImages removes every unused image old enough, whatever the usage", async () => {
    const s = setup({ used: 0 });
    const a = s.store.add("a", 100);
    s.store.add("b", 100);
    s.setContainers([container(a.layerDirs)]);
    s.advance(3 * MIN);
    await s.mgr.garbageCollect();
    s.store.add("c", 100);
    s.advance(3 * MIN);
    const r = await s.mgr.deleteUnusedImages();
    expect(r.deleted.map((x) => x.digest)).toEqual([d("b")]); // c was first seen just now
  });

  it("runs on a loop and emits ImageGCFailed only when a pass fails twice in a row", async () => {
    vi.useFakeTimers();
    const s = setup({ used: 1000 });
    s.store.add("a", 10); // too little to reach the low threshold: every pass falls short
    s.mgr.start(1000);
    await vi.advanceTimersByTimeAsync(0);
    expect(s.events.map((e) => e.reason)).toEqual([IMAGE_GC_EVENTS.FreeDiskSpaceFailed]);
    await vi.advanceTimersByTimeAsync(1000);
    expect(s.events.map((e) => e.reason)).toEqual([
      IMAGE_GC_EVENTS.FreeDiskSpaceFailed,
      IMAGE_GC_EVENTS.FreeDiskSpaceFailed,
      IMAGE_GC_EVENTS.ImageGCFailed,
    ]);
    expect(s.events[2]!.message).toMatch(/Attempted to free 200 bytes/);
    await s.mgr.stop();
    const count = s.events.length;
    await vi.advanceTimersByTimeAsync(5000);
    expect(s.events.length).toBe(count);
    expect(() => s.mgr.start(0)).toThrow(/positive number of ms/);
  });

  it("does not start a loop when the high threshold is 100%", async () => {
    vi.useFakeTimers();
    const s = setup({ used: 1000, policy: { highThresholdPercent: 100 } });
    s.store.add("a", 10);
    s.mgr.start(1000);
    await vi.advanceTimersByTimeAsync(5000);
    expect(s.events).toEqual([]);
    expect(s.store.removed).toEqual([]);
    await s.mgr.stop();
  });
});

// ---- against a real store ----

let tmp: string;
beforeAll(async () => {
  tmp = await fs.mkdtemp(path.join(os.tmpdir(), "ck-imagegc-"));
});
afterAll(async () => {
  await fs.rm(tmp, { recursive: true, force: true });
});

const makeLayer = (files: Record<string, string>) => makeTestLayer(tmp, files);

async function commitImage(store: ImageStore, ref: string, layers: TestLayer[]) {
  return store.commit(ref, (await putImage(store, layers, { Cmd: [ref] })).manifestDigest);
}

const uniqueBytes = (usage: ImageDiskUsage[]) => {
  const parts = new Map<string, number>();
  for (const u of usage) for (const p of u.parts) parts.set(p.key, p.bytes);
  return [...parts.values()].reduce((s, b) => s + b, 0);
};

describe("ImageGcManager with a real ImageStore", () => {
  it("deletes the unused image but keeps the layer it shares with the image a container uses", async () => {
    const store = new ImageStore({ root: path.join(tmp, "store") });
    const shared = await makeLayer({ "bin/sh": "x".repeat(20_000) });
    const onlyOld = await makeLayer({ "old.txt": "o".repeat(9_000) });
    const onlyUsed = await makeLayer({ "used.txt": "u".repeat(7_000) });
    const old = await commitImage(store, "example.com/old:1", [shared, onlyOld]);
    const used = await commitImage(store, "example.com/used:1", [shared, onlyUsed]);

    const before = await store.diskUsage();
    expect(before.map((u) => u.digest).sort()).toEqual([old.digest, used.digest].sort());
    expect(before.find((u) => u.digest === old.digest)?.layerDirs).toEqual(old.layers);

    let t = 0;
    const events: ImageGcEvent[] = [];
    const mgr = new ImageGcManager({
      store,
      // The container was started from the image's layers (as the kubelet passes them) and the user's reference.
      runtime: runtimeOf([container(used.layers, "example.com/used:1")]),
      // Full disk: asks for far more than there is, so everything eligible goes.
      statfs: async () => ({ capacityBytes: 10_000_000, availableBytes: 0 }),
      now: () => t,
      onEvent: (e) => events.push(e),
    });
    await mgr.garbageCollect();
    t += 5 * MIN;
    const r = await mgr.garbageCollect();

    expect(r.deleted.map((x) => x.names)).toEqual([["example.com/old:1"]]);
    expect(await store.get("example.com/old:1")).toBeUndefined();
    expect((await store.get("example.com/used:1"))?.digest).toBe(used.digest);
    // The shared layer stays (the used image needs it); the old image's own layer is gone.
    expect(existsSync(store.layerPath(shared.diffId))).toBe(true);
    expect(existsSync(store.layerPath(onlyUsed.diffId))).toBe(true);
    expect(existsSync(store.layerPath(onlyOld.diffId))).toBe(false);
    expect(r.removedLayers).toEqual([onlyOld.diffId]);
    expect(r.removedBlobs.sort()).toEqual([old.digest, old.id, old.manifest.layers[1]!.digest].sort());
    // What it says it freed is exactly what left the store.
    expect(r.freedBytes).toBe(uniqueBytes(before) - uniqueBytes(await store.diskUsage()));
    expect(r.freedBytes).toBeGreaterThan(0);
    expect(events.map((e) => e.reason)).toEqual([IMAGE_GC_EVENTS.FreeDiskSpaceFailed, IMAGE_GC_EVENTS.FreeDiskSpaceFailed]);
  });

  it("keeps the layers of a container whose image lost its name", async () => {
    const store = new ImageStore({ root: path.join(tmp, "store-orphan") });
    const layer = await makeLayer({ "app": "a".repeat(5000) });
    const info = await commitImage(store, "example.com/app:1", [layer]);
    await store.remove("example.com/app:1");
    const other = await commitImage(store, "example.com/other:1", [await makeLayer({ "o": "o" })]);
    let t = 0;
    const mgr = new ImageGcManager({
      store,
      runtime: runtimeOf([container(info.layers, "example.com/app:1")]),
      statfs: async () => ({ capacityBytes: 1000, availableBytes: 0 }),
      now: () => t,
    });
    await mgr.garbageCollect();
    t += 5 * MIN;
    const r = await mgr.garbageCollect();
    expect(r.deleted.map((x) => x.digest)).toEqual([other.digest]);
    expect(existsSync(info.layers[0]!)).toBe(true);
  });
});
