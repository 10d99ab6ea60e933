// Book 9.5 (node disk pressure): the kubelet's image garbage collector — when the image filesystem
// passes a high-water mark, delete unused images, least recently used first, down to a low-water mark.
//
// The decision is a pure function (planImageGc) of the images, their times, what is in use and the
// filesystem's numbers; ImageGcManager gathers those inputs (store, runtime, statfs, clock), applies
// the plan through the store and reports events the way the upstream kubelet does.
import { statfs as statfsDefault } from "node:fs/promises";
import type { Container } from "../runtime/cri.js";
import type { GcOptions, GcResult, ImageDiskUsage, ImagePart } from "./store.js";
import { formatReference, isDigest, parseReference } from "./reference.js";

export interface ImageGcPolicy {
  /** Usage (percent of the image filesystem) at or above which image GC runs. 100 turns GC off. */
  highThresholdPercent: number;
  /** Usage GC frees space down to. */
  lowThresholdPercent: number;
  /** An image first seen less than this long ago is never deleted to free space (ms). */
  minAgeMs: number;
  /** With a value above 0, images unused for longer than this are deleted whatever the usage (ms). */
  maxAgeMs: number;
}

export const DEFAULT_IMAGE_GC_POLICY: Readonly<ImageGcPolicy> = Object.freeze({
  highThresholdPercent: 85,
  lowThresholdPercent: 80,
  minAgeMs: 2 * 60_000,
  maxAgeMs: 0,
});

/** How often the kubelet runs image GC (upstream's ImageGCPeriod). */
export const IMAGE_GC_PERIOD_MS = 5 * 60_000;

/** Event reasons, as the upstream kubelet names them. */
export const IMAGE_GC_EVENTS = {
  /** From the manager: usage is over the high threshold and not enough could be freed. */
  FreeDiskSpaceFailed: "FreeDiskSpaceFailed",
  /** From the periodic loop: garbage collection failed twice in a row. */
  ImageGCFailed: "ImageGCFailed",
  /** From the manager: the image filesystem reported a capacity of zero. */
  InvalidDiskCapacity: "InvalidDiskCapacity",
} as const;

export interface ImageGcEvent {
  type: "Normal" | "Warning";
  reason: string;
  message: string;
}

/** Problems with a policy, as readable sentences; empty when it is fine. */
export function validateImageGcPolicy(p: ImageGcPolicy): string[] {
  const errs: string[] = [];
  const pct = (name: string, v: number) => {
    if (!Number.isInteger(v) || v < 0 || v > 100) errs.push(`${name} must be an integer between 0 and 100, got ${v}`);
  };
  pct("image GC high threshold percent", p.highThresholdPercent);
  pct("image GC low threshold percent", p.lowThresholdPercent);
  if (p.lowThresholdPercent > p.highThresholdPercent) {
    errs.push(`image GC low threshold (${p.lowThresholdPercent}%) must not be above the high threshold (${p.highThresholdPercent}%)`);
  }
  if (!Number.isFinite(p.minAgeMs) || p.minAgeMs < 0) errs.push(`image minimum GC age must be zero or more, got ${p.minAgeMs}ms`);
  if (!Number.isFinite(p.maxAgeMs) || p.maxAgeMs < 0) errs.push(`image maximum GC age must be zero or more, got ${p.maxAgeMs}ms`);
  else if (p.maxAgeMs > 0 && p.maxAgeMs <= p.minAgeMs) {
    errs.push(`image maximum GC age (${p.maxAgeMs}ms) must be greater than the minimum GC age (${p.minAgeMs}ms)`);
  }
  return errs;
}

// ---- the pure decision ----

export interface GcCandidate {
  /** Manifest digest: the image's identity here (every name of it goes together). */
  digest: string;
  names: string[];
  /** Its pieces on disk; a key shared with another image is freed only when the last holder goes. */
  parts: ImagePart[];
  /** When the collector first saw the image (ms since the epoch). */
  firstDetected: number;
  /** When a container last used it; undefined if none has since the collector started. */
  lastUsed?: number;
  inUse: boolean;
  pinned: boolean;
}

export interface FsUsage {
  capacityBytes: number;
  availableBytes: number;
}

export interface GcDeletion {
  digest: string;
  names: string[];
  /** What deleting it frees, given the images deleted before it and those that stay. */
  bytes: number;
  reason: "age" | "space";
}

export interface GcPlanInput {
  images: GcCandidate[];
  policy: ImageGcPolicy;
  now: number;
  /** When GC began on this node: maxAge only applies once this is more than maxAge ago. */
  startedAt: number;
  /** Filesystem numbers; omitted only when `bytesToFree` says how much to free. */
  fs?: FsUsage;
  /** Free this much regardless of thresholds (upstream's DeleteUnusedImages uses "everything"). */
  bytesToFree?: number;
  /** Part keys something outside the image list still needs (layers of containers whose image lost its names). */
  heldParts?: Iterable<string>;
}

export interface GcPlan {
  /** In the order to delete them: age-based first, then by least recent use. */
  deletions: GcDeletion[];
  usagePercent?: number;
  /** What the space pass aimed to free (0 when usage was under the high threshold). */
  bytesToFree: number;
  /** What all the deletions free together. */
  bytesFreed: number;
  /** Set when the space pass could not find enough: upstream's FreeDiskSpaceFailed. */
  shortfall?: { wanted: number; found: number };
  /** Set when the filesystem reported no capacity. */
  invalidCapacity?: boolean;
}

/** Least recently used first; never-used images before used ones; ties by first detection, then digest. */
function evictionOrder(a: GcCandidate, b: GcCandidate): number {
  const la = a.lastUsed ?? Number.NEGATIVE_INFINITY;
  const lb = b.lastUsed ?? Number.NEGATIVE_INFINITY;
  if (la !== lb) return la < lb ? -1 : 1;
  if (a.firstDetected !== b.firstDetected) return a.firstDetected - b.firstDetected;
  return a.digest < b.digest ? -1 : a.digest > b.digest ? 1 : 0;
}

/**
 * Decides which images to delete. Images in use or pinned are never chosen. With maxAge set (and GC
 * running for longer than maxAge), images unused for more than maxAge go first. Then, if usage is at
 * or above the high threshold, unused images at least minAge old go in eviction order until the
 * bytes freed reach what brings usage down to the low threshold.
 */
export function planImageGc(input: GcPlanInput): GcPlan {
  const { policy, now } = input;
  const holders = new Map<string, number>();
  for (const img of input.images) for (const key of new Set(img.parts.map((p) => p.key))) holders.set(key, (holders.get(key) ?? 0) + 1);
  const held = new Set(input.heldParts ?? []);
  const deletions: GcDeletion[] = [];
  let bytesFreed = 0;
  const remove = (img: GcCandidate, reason: GcDeletion["reason"]) => {
    let bytes = 0;
    const seen = new Set<string>();
    for (const part of img.parts) {
      if (seen.has(part.key)) continue;
      seen.add(part.key);
      const left = (holders.get(part.key) ?? 1) - 1;
      holders.set(part.key, left);
      if (left === 0 && !held.has(part.key)) bytes += part.bytes;
    }
    deletions.push({ digest: img.digest, names: [...img.names], bytes, reason });
    bytesFreed += bytes;
  };

  let eligible = input.images.filter((i) => !i.inUse && !i.pinned).sort(evictionOrder);

  if (policy.maxAgeMs > 0 && now - input.startedAt > policy.maxAgeMs) {
    const keep: GcCandidate[] = [];
    for (const img of eligible) {
      // Unlike upstream, a never-used image ages from when it was first seen, not from the epoch.
      if (now - (img.lastUsed ?? img.firstDetected) > policy.maxAgeMs) remove(img, "age");
      else keep.push(img);
    }
    eligible = keep;
  }

  const plan: GcPlan = { deletions, bytesToFree: 0, bytesFreed: 0 };
  let want = input.bytesToFree;
  if (want === undefined) {
    if (!input.fs) throw new Error("planImageGc needs filesystem usage or an explicit bytesToFree");
    const capacity = input.fs.capacityBytes;
    if (!(capacity > 0)) {
      plan.invalidCapacity = true;
      plan.bytesFreed = bytesFreed;
      return plan;
    }
    const available = Math.min(Math.max(input.fs.availableBytes, 0), capacity);
    plan.usagePercent = 100 - Math.floor((available * 100) / capacity);
    if (plan.usagePercent >= policy.highThresholdPercent) want = Math.floor((capacity * (100 - policy.lowThresholdPercent)) / 100) - available;
  }
  if (want !== undefined && want > 0) {
    plan.bytesToFree = want;
    for (const img of eligible) {
      if (bytesFreed >= want) break;
      // Just pulled images are likely about to be used: leave them be.
      if (now - img.firstDetected < policy.minAgeMs) continue;
      remove(img, "space");
    }
    if (bytesFreed < want && Number.isFinite(want)) plan.shortfall = { wanted: want, found: bytesFreed };
  }
  plan.bytesFreed = bytesFreed;
  return plan;
}

// ---- the manager ----

/** What the collector needs from the image store (ImageStore has all of it). */
export interface ImageGcStore {
  readonly root: string;
  diskUsage(): Promise<ImageDiskUsage[]>;
  remove(ref: string): Promise<string[]>;
  gc(inUse?: Set<string>, opts?: GcOptions): Promise<GcResult>;
}

/** What the collector needs from the runtime: every container it knows, running or not. */
export interface ImageGcRuntime {
  ListContainers(): Promise<Container[]>;
}

export interface ImageGcManagerOptions {
  store: ImageGcStore;
  runtime: ImageGcRuntime;
  policy?: Partial<ImageGcPolicy>;
  /** The sandbox (pause) image, if the runtime uses one: never collected. */
  pauseImage?: string;
  /** More references or digests never to collect. */
  pinnedImages?: string[];
  /** Usage of the filesystem holding `dir` (default: statfs of the store's root). */
  statfs?: (dir: string) => Promise<FsUsage>;
  /** Milliseconds since the epoch (default Date.now). */
  now?: () => number;
  onEvent?: (e: ImageGcEvent) => void;
  log?: (msg: string) => void;
}

export interface ImageGcRecord {
  firstDetected: number;
  lastUsed?: number;
}

export interface ImageGcResult extends GcPlan {
  /** The deletions that happened (a failed removal is left out and reported in `error`). */
  deleted: GcDeletion[];
  /** Bytes the completed deletions freed. */
  freedBytes: number;
  removedBlobs: string[];
  removedLayers: string[];
  /** Why this run counts as failed (upstream's returned error); undefined on success. */
  error?: string;
}

async function statfsUsage(dir: string): Promise<FsUsage> {
  const s = await statfsDefault(dir);
  return { capacityBytes: s.blocks * s.bsize, availableBytes: s.bavail * s.bsize };
}

/** A reference as the store names it, plus the digest it pins (if any); undefined when it does not parse. */
function normaliseRef(ref: string): { name?: string; digest?: string } | undefined {
  if (isDigest(ref)) return { digest: ref };
  try {
    const parsed = parseReference(ref);
    return { name: formatReference(parsed), digest: parsed.digest };
  } catch {
    return undefined;
  }
}

function layerKey(dir: string): string | undefined {
  const base = dir.replace(/\/+$/, "").split("/").pop() ?? "";
  return /^[0-9a-f]{64}$/.test(base) ? `layer:sha256:${base}` : undefined;
}

export class ImageGcManager {
  readonly policy: ImageGcPolicy;
  private readonly store: ImageGcStore;
  private readonly runtime: ImageGcRuntime;
  private readonly pinned: Set<string>;
  private readonly statfs: (dir: string) => Promise<FsUsage>;
  private readonly now: () => number;
  private readonly onEvent: (e: ImageGcEvent) => void;
  private readonly log: (msg: string) => void;
  private readonly startedAt: number;
  private readonly recordsByDigest = new Map<string, ImageGcRecord>();
  private running?: Promise<ImageGcResult>;
  private timer?: ReturnType<typeof setTimeout>;
  private loop?: Promise<void>;
  private stopped = true;
  private lastFailed = false;

  constructor(opts: ImageGcManagerOptions) {
    this.policy = { ...DEFAULT_IMAGE_GC_POLICY, ...opts.policy };
    const errs = validateImageGcPolicy(this.policy);
    if (errs.length) throw new Error(`invalid image GC policy: ${errs.join("; ")}`);
    this.store = opts.store;
    this.runtime = opts.runtime;
    this.pinned = new Set();
    for (const ref of [...(opts.pauseImage ? [opts.pauseImage] : []), ...(opts.pinnedImages ?? [])]) {
      const n = normaliseRef(ref);
      if (n === undefined) throw new Error(`pinned image ${JSON.stringify(ref)} is not a valid image reference or digest`);
      if (n.name) this.pinned.add(n.name);
      if (n.digest) this.pinned.add(n.digest);
    }
    this.statfs = opts.statfs ?? statfsUsage;
    this.now = opts.now ?? Date.now;
    this.onEvent = opts.onEvent ?? (() => {});
    this.log = opts.log ?? (() => {});
    this.startedAt = this.now();
  }

  /** First-detected and last-used times, by manifest digest (a copy). */
  records(): Map<string, ImageGcRecord> {
    return new Map([...this.recordsByDigest].map(([k, v]) => [k, { ...v }]));
  }

  /** One pass: record times, delete old images (maxAge), and free space if usage is over the high threshold. */
  garbageCollect(): Promise<ImageGcResult> {
    return this.exclusive(() => this.collect());
  }

  /** Deletes every unused, unpinned image at least minAge old (upstream's DeleteUnusedImages, for eviction). */
  deleteUnusedImages(): Promise<ImageGcResult> {
    return this.exclusive(() => this.collect(Number.POSITIVE_INFINITY));
  }

  /** Runs garbageCollect now and then every `intervalMs` after each pass ends, until stop(). */
  start(intervalMs = IMAGE_GC_PERIOD_MS): void {
    if (!Number.isFinite(intervalMs) || intervalMs <= 0) throw new Error(`image GC interval must be a positive number of ms, got ${intervalMs}`);
    if (!this.stopped) return;
    if (this.policy.highThresholdPercent === 100) {
      this.log("image GC: high threshold is 100%, image garbage collection is off");
      return;
    }
    this.stopped = false;
    const tick = async () => {
      this.timer = undefined;
      if (this.stopped) return;
      const r = await this.garbageCollect();
      if (r.error) {
        if (this.lastFailed) {
          this.onEvent({ type: "Warning", reason: IMAGE_GC_EVENTS.ImageGCFailed, message: r.error });
          this.log(`image GC failed again: ${r.error}`);
        } else this.log(`image GC failed once (may pass next time): ${r.error}`);
        this.lastFailed = true;
      } else this.lastFailed = false;
      if (!this.stopped) this.timer = setTimeout(() => void (this.loop = tick()), intervalMs);
    };
    this.loop = tick();
  }

  /** Stops the loop and waits for a pass in progress. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    await this.loop;
    await this.running?.catch(() => {});
  }

  private exclusive(fn: () => Promise<ImageGcResult>): Promise<ImageGcResult> {
    if (this.running) return this.running;
    const job = fn().finally(() => {
      this.running = undefined;
    });
    this.running = job;
    return job;
  }

  private emptyResult(error: string): ImageGcResult {
    return { deletions: [], deleted: [], bytesToFree: 0, bytesFreed: 0, freedBytes: 0, removedBlobs: [], removedLayers: [], error };
  }

  private async collect(forceBytes?: number): Promise<ImageGcResult> {
    const now = this.now();
    let images: ImageDiskUsage[];
    let containers: Container[];
    try {
      [images, containers] = await Promise.all([this.store.diskUsage(), this.runtime.ListContainers()]);
    } catch (e) {
      // Without the full picture nothing is safe to delete.
      return this.emptyResult(`image GC could not list images or containers: ${(e as Error).message}`);
    }

    // (a) which images containers use, by the layers they mount or the reference they name.
    const usedLayerLists = new Set<string>();
    const usedRefs = new Set<string>();
    const heldParts = new Set<string>();
    const containerLayerDirs: string[] = [];
    for (const c of containers) {
      const layers = c.image?.layers ?? [];
      usedLayerLists.add(layers.join("\n"));
      for (const l of layers) {
        containerLayerDirs.push(l);
        const k = layerKey(l);
        if (k) heldParts.add(k);
      }
      const ref = c.image?.ref ? normaliseRef(c.image.ref) : undefined;
      if (ref?.name) usedRefs.add(ref.name);
      if (ref?.digest) usedRefs.add(ref.digest);
    }
    const candidates: GcCandidate[] = [];
    const inUseDigests = new Set<string>();
    const present = new Set<string>();
    for (const img of images) {
      present.add(img.digest);
      const inUse =
        (img.layerDirs.length > 0 && usedLayerLists.has(img.layerDirs.join("\n"))) ||
        usedRefs.has(img.digest) ||
        (img.id !== "" && usedRefs.has(img.id)) ||
        img.names.some((n) => usedRefs.has(n));
      const pinned = this.pinned.has(img.digest) || this.pinned.has(img.id) || img.names.some((n) => this.pinned.has(n));
      let rec = this.recordsByDigest.get(img.digest);
      if (!rec) {
        rec = { firstDetected: now };
        this.recordsByDigest.set(img.digest, rec);
      }
      if (inUse) {
        rec.lastUsed = now;
        inUseDigests.add(img.digest);
      }
      candidates.push({ digest: img.digest, names: img.names, parts: img.parts, firstDetected: rec.firstDetected, lastUsed: rec.lastUsed, inUse, pinned });
    }
    for (const d of [...this.recordsByDigest.keys()]) if (!present.has(d)) this.recordsByDigest.delete(d);

    // (b) the filesystem, unless the caller asked to free everything.
    let fs: FsUsage | undefined;
    if (forceBytes === undefined) {
      try {
        fs = await this.statfs(this.store.root);
      } catch (e) {
        return this.emptyResult(`image GC could not read usage of the image filesystem: ${(e as Error).message}`);
      }
    }
    const plan = planImageGc({ images: candidates, policy: this.policy, now, startedAt: this.startedAt, fs, bytesToFree: forceBytes, heldParts });

    // (c) apply it: forget the names, then let the store drop what nothing needs any more.
    const deleted: GcDeletion[] = [];
    const failures: string[] = [];
    for (const d of plan.deletions) {
      try {
        await this.store.remove(d.digest);
        deleted.push(d);
        this.recordsByDigest.delete(d.digest);
        this.log(`image GC: removed ${d.names.join(", ") || d.digest} (${d.reason}) to free ${d.bytes} bytes`);
      } catch (e) {
        failures.push(`${d.digest}: ${(e as Error).message}`);
      }
    }
    let swept: GcResult = { removedBlobs: [], removedLayers: [] };
    if (deleted.length > 0) {
      try {
        swept = await this.store.gc(inUseDigests, { keepLayers: containerLayerDirs });
      } catch (e) {
        failures.push(`sweeping unreferenced content: ${(e as Error).message}`);
      }
    }
    const freedBytes = deleted.reduce((s, d) => s + d.bytes, 0);
    const result: ImageGcResult = { ...plan, deleted, freedBytes, ...swept };

    // (d) report.
    if (plan.invalidCapacity) {
      result.error = "invalid capacity 0 on image filesystem";
      this.onEvent({ type: "Warning", reason: IMAGE_GC_EVENTS.InvalidDiskCapacity, message: result.error });
    } else if (failures.length > 0) {
      result.error = `wanted to free ${plan.bytesToFree} bytes, but freed ${freedBytes} bytes with errors in image deletion: ${failures.join("; ")}`;
    } else if (plan.shortfall) {
      result.error = `Failed to garbage collect required amount of images. Attempted to free ${plan.shortfall.wanted} bytes, but only found ${plan.shortfall.found} bytes eligible to free.`;
      this.onEvent({ type: "Warning", reason: IMAGE_GC_EVENTS.FreeDiskSpaceFailed, message: result.error });
    }
    return result;
  }
}
