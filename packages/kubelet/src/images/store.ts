// Book 9.5 and 3.4.2: the node's image store — content-addressed blobs, a name → manifest index, and
// each layer unpacked once, with OCI whiteouts turned into overlayfs whiteouts so layers stack as lowerdirs.
import { execFile } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { once } from "node:events";
import { createReadStream, createWriteStream } from "node:fs";
import * as fs from "node:fs/promises";
import * as path from "node:path";
import { promisify } from "node:util";
import { createGunzip } from "node:zlib";
import { type ReadEntry, Unpack } from "tar";
import {
  checkDigest,
  type ImageConfigFile,
  type ImageManifest,
  InvalidImageError,
  documentKind,
  parseConfig,
  parseManifest,
} from "./oci.js";
import { formatReference, isDigest, parseReference, repositoryName } from "./reference.js";

export const DEFAULT_IMAGE_ROOT = "/var/lib/corekube/images";

const run = promisify(execFile);

/** A store-level failure (corrupt index, missing blob, unpack failure) with a readable message. */
export class ImageStoreError extends Error {
  override name = "ImageStoreError";
}

/** A blob whose bytes do not hash to (or are not as long as) what its descriptor promised. */
export class DigestMismatchError extends ImageStoreError {
  override name = "DigestMismatchError";
  constructor(
    readonly expected: string,
    readonly actual: string,
    what = "blob",
  ) {
    super(`${what} ${expected}: content does not match (got ${actual})`);
  }
}

export interface ImageConfig {
  entrypoint: string[];
  cmd: string[];
  env: string[];
  workingDir: string;
  user: string;
  exposedPorts: string[];
  labels: Record<string, string>;
  stopSignal?: string;
  os: string;
  architecture: string;
}

export interface ImageInfo {
  /** The normalised reference the image was found by (e.g. docker.io/library/busybox:latest). */
  ref: string;
  /** Every reference in the store that points at this manifest. */
  names: string[];
  /** Manifest digest: what `gc(inUse)` takes to keep an image's blobs and layers. */
  digest: string;
  /** Config digest: the image ID, as CRI's ImageService reports it. */
  id: string;
  manifest: ImageManifest;
  config: ImageConfig;
  /** Unpacked layer directories, base layer first. For an overlay mount, reverse them into lowerdir. */
  layers: string[];
  diffIds: string[];
  /** Bytes of manifest, config and (compressed) layers. */
  size: number;
}

export interface ImageSummary {
  ref: string;
  digest: string;
  id: string;
  size: number;
  createdAt: string;
}

export interface GcResult {
  removedBlobs: string[];
  removedLayers: string[];
}

export interface GcOptions {
  /**
   * Unpacked layer directories (or their diff IDs) to keep whatever the index says: the lowerdirs of
   * containers whose image lost its last name while they still exist.
   */
  keepLayers?: Iterable<string>;
}

/** One piece of an image on disk; images that share a layer list the same key. */
export interface ImagePart {
  /** `blob:<digest>` for a stored blob, `layer:<diffId>` for an unpacked layer directory. */
  key: string;
  bytes: number;
}

/** An indexed image (all its names together) and the disk space each of its pieces takes. */
export interface ImageDiskUsage {
  /** Manifest digest: what `remove` takes to forget every name of the image. */
  digest: string;
  /** Config digest (the image ID). */
  id: string;
  names: string[];
  /** When the first of its names was committed. */
  createdAt: string;
  /** Unpacked layer directories, base layer first (what containers mount as lowerdirs). */
  layerDirs: string[];
  parts: ImagePart[];
}

interface IndexRecord {
  digest: string;
  indexDigest?: string;
  createdAt: string;
}

interface IndexFile {
  version: 1;
  images: Record<string, IndexRecord>;
}

interface LayerMeta {
  diffId: string;
  blob: string;
  whiteouts: string[];
  opaqueDirs: string[];
  unpackedAt: string;
}

export interface ExpectedBlob {
  digest: string;
  size?: number;
}

export interface CommitOptions {
  /** The image index (manifest list) the manifest was chosen from, kept alive with the image. */
  indexDigest?: string;
}

function hexOf(digest: string): string {
  return checkDigest(digest, "digest").slice("sha256:".length);
}

function describeError(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** A content-addressed, on-disk image store; one per node (several processes may read it). */
export class ImageStore {
  readonly root: string;
  private readonly blobDir: string;
  private readonly layerDir: string;
  private readonly tmpDir: string;
  private readonly indexFile: string;
  private indexChain: Promise<unknown> = Promise.resolve();
  private readonly unpacking = new Map<string, Promise<string>>();
  private initialized?: Promise<void>;
  // Layers never change once unpacked, so their measured size is remembered (diff ID hex → bytes).
  private readonly layerBytes = new Map<string, number>();
  // Pulls and imports hold a lease; gc waits for them and holds new ones back while it runs.
  private leases = 0;
  private gcRunning?: Promise<unknown>;
  private readonly leaseWaiters: (() => void)[] = [];

  constructor(opts: { root?: string } = {}) {
    this.root = path.resolve(opts.root ?? DEFAULT_IMAGE_ROOT);
    this.blobDir = path.join(this.root, "blobs", "sha256");
    this.layerDir = path.join(this.root, "layers");
    this.tmpDir = path.join(this.root, "tmp");
    this.indexFile = path.join(this.root, "images.json");
  }

  init(): Promise<void> {
    this.initialized ??= (async () => {
      for (const d of [this.blobDir, this.layerDir, this.tmpDir]) await fs.mkdir(d, { recursive: true });
    })();
    return this.initialized;
  }

  /** Runs `fn` while gc is held off, so blobs it writes before committing are not collected. */
  async withLease<T>(fn: () => Promise<T>): Promise<T> {
    await this.init();
    while (this.gcRunning) await this.gcRunning.catch(() => {});
    this.leases++;
    try {
      return await fn();
    } finally {
      this.leases--;
      if (this.leases === 0) for (const w of this.leaseWaiters.splice(0)) w();
    }
  }

  blobPath(digest: string): string {
    return path.join(this.blobDir, hexOf(digest));
  }

  /** The directory a layer is unpacked into, named by its diff ID (the sha256 of the uncompressed tar). */
  layerPath(diffId: string): string {
    return path.join(this.layerDir, hexOf(diffId));
  }

  async hasBlob(digest: string): Promise<boolean> {
    return exists(this.blobPath(digest));
  }

  async readBlob(digest: string): Promise<Buffer> {
    try {
      return await fs.readFile(this.blobPath(digest));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "ENOENT") throw new ImageStoreError(`blob ${digest} is not in the store`);
      throw e;
    }
  }

  /** Stores bytes under their sha256; with `expected`, refuses bytes that do not match it. */
  async putBlob(bytes: Uint8Array, expected?: ExpectedBlob): Promise<string> {
    async function* one() {
      yield bytes;
    }
    const digest = expected?.digest ?? `sha256:${createHash("sha256").update(bytes).digest("hex")}`;
    return this.putBlobStream(one(), { digest, size: expected?.size ?? bytes.length });
  }

  /**
   * Streams a blob into the store, hashing as it goes, and moves it into place only if both the
   * digest and the size match. Nothing partial or wrong is ever visible under blobs/sha256/.
   */
  async putBlobStream(source: AsyncIterable<Uint8Array>, expected: ExpectedBlob): Promise<string> {
    await this.init();
    const target = this.blobPath(expected.digest);
    const have = await fs.lstat(target).catch(() => undefined);
    if (have) {
      if (expected.size !== undefined && have.size !== expected.size) {
        throw new DigestMismatchError(expected.digest, `${expected.size} bytes promised for a blob of ${have.size}`);
      }
      for await (const _ of source) {
        // Drain what the caller opened; the content is already here.
      }
      return expected.digest;
    }
    const tmp = path.join(this.tmpDir, `blob-${randomBytes(8).toString("hex")}`);
    const hash = createHash("sha256");
    let size = 0;
    const out = createWriteStream(tmp, { mode: 0o644 });
    const failed = once(out, "error").then(([e]) => {
      throw e;
    });
    failed.catch(() => {});
    try {
      for await (const chunk of source) {
        size += chunk.length;
        if (expected.size !== undefined && size > expected.size) {
          throw new DigestMismatchError(expected.digest, `more than the ${expected.size} bytes promised`);
        }
        hash.update(chunk);
        if (!out.write(chunk)) await Promise.race([once(out, "drain"), failed]);
      }
      out.end();
      await Promise.race([once(out, "finish"), failed]);
      const actual = `sha256:${hash.digest("hex")}`;
      if (actual !== expected.digest) throw new DigestMismatchError(expected.digest, actual);
      if (expected.size !== undefined && size !== expected.size) {
        throw new DigestMismatchError(expected.digest, `${size} bytes where ${expected.size} were promised`);
      }
      await fs.rename(tmp, target);
      return expected.digest;
    } catch (e) {
      // The file may still be opening: wait for the stream to close, or the open could land after
      // the removal and leave a half-written blob behind.
      const closed = once(out, "close").catch(() => undefined);
      out.destroy();
      await closed;
      await fs.rm(tmp, { force: true });
      throw e;
    }
  }

  /** Copies a file into the store, verifying it against its descriptor. */
  async importBlobFile(file: string, expected: ExpectedBlob): Promise<string> {
    if (await this.hasBlob(expected.digest)) return expected.digest;
    return this.putBlobStream(createReadStream(file), expected);
  }

  /**
   * Records `ref` → manifest: checks the manifest, its config and every layer blob are here, unpacks
   * the layers (verifying each diff ID), then writes the index. Returns the stored image.
   */
  async commit(ref: string, manifestDigest: string, opts: CommitOptions = {}): Promise<ImageInfo> {
    const name = formatReference(parseReference(ref));
    checkDigest(manifestDigest, "manifest digest");
    await this.init();
    const loaded = await this.loadImage(manifestDigest);
    await this.unpackAll(loaded.manifest, loaded.configFile);
    if (opts.indexDigest !== undefined && !(await this.hasBlob(opts.indexDigest))) {
      throw new ImageStoreError(`image index ${opts.indexDigest} is not in the store`);
    }
    await this.updateIndex((idx) => {
      const rec: IndexRecord = { digest: manifestDigest, createdAt: new Date().toISOString() };
      if (opts.indexDigest) rec.indexDigest = opts.indexDigest;
      idx.images[name] = rec;
    });
    const info = await this.get(name);
    if (!info) throw new ImageStoreError(`image ${name} vanished while being committed`);
    return info;
  }

  /** Finds an image by reference ("busybox", "host:5000/a:1", "name@sha256:…") or by manifest/config digest. */
  async get(ref: string): Promise<ImageInfo | undefined> {
    await this.init();
    const idx = await this.readIndex();
    let name: string;
    let digest: string | undefined;
    if (isDigest(ref)) {
      const hit = Object.entries(idx.images).find(([, r]) => r.digest === ref);
      if (hit) [name, digest] = [hit[0], hit[1].digest];
      else {
        for (const [n, r] of Object.entries(idx.images)) {
          const m = await this.tryManifest(r.digest);
          if (m?.config.digest === ref) {
            [name, digest] = [n, r.digest];
            break;
          }
        }
        if (digest === undefined) return undefined;
        name ??= ref;
      }
    } else {
      const parsed = parseReference(ref);
      name = formatReference(parsed);
      digest = idx.images[name]?.digest;
      if (digest === undefined && parsed.digest !== undefined) {
        // name@digest finds an image of that repository stored under another name (e.g. its tag).
        const repo = repositoryName(parsed);
        const same = Object.entries(idx.images).find(([n, r]) => r.digest === parsed.digest && repositoryName(parseReference(n)) === repo);
        if (same) digest = same[1].digest;
      }
      if (digest === undefined) return undefined;
    }
    const { manifest, configFile, size } = await this.loadImage(digest);
    const layers = await this.unpackAll(manifest, configFile);
    const c = configFile.config ?? {};
    return {
      ref: name!,
      names: Object.entries(idx.images)
        .filter(([, r]) => r.digest === digest)
        .map(([n]) => n)
        .sort(),
      digest,
      id: manifest.config.digest,
      manifest,
      config: {
        entrypoint: c.Entrypoint ?? [],
        cmd: c.Cmd ?? [],
        env: c.Env ?? [],
        workingDir: c.WorkingDir ?? "",
        user: c.User ?? "",
        exposedPorts: Object.keys(c.ExposedPorts ?? {}),
        labels: c.Labels ?? {},
        ...(c.StopSignal ? { stopSignal: c.StopSignal } : {}),
        os: configFile.os ?? "linux",
        architecture: configFile.architecture ?? "",
      },
      layers,
      diffIds: configFile.rootfs.diff_ids,
      size,
    };
  }

  /** The manifest digest a reference points at, without touching layers. */
  async resolve(ref: string): Promise<string | undefined> {
    const idx = await this.readIndex();
    return idx.images[formatReference(parseReference(ref))]?.digest;
  }

  async list(): Promise<ImageSummary[]> {
    await this.init();
    const idx = await this.readIndex();
    const out: ImageSummary[] = [];
    for (const [ref, r] of Object.entries(idx.images).sort(([a], [b]) => a.localeCompare(b))) {
      const m = await this.tryManifest(r.digest);
      const size = m ? m.config.size + m.layers.reduce((s, l) => s + l.size, 0) : 0;
      out.push({ ref, digest: r.digest, id: m?.config.digest ?? "", size, createdAt: r.createdAt });
    }
    return out;
  }

  /**
   * Forgets a reference (or, given a digest, every reference to that manifest). Content stays until
   * gc, so running containers keep their layers. Returns the references removed.
   */
  async remove(ref: string): Promise<string[]> {
    await this.init();
    const removed: string[] = [];
    const byDigest = isDigest(ref);
    const name = byDigest ? undefined : formatReference(parseReference(ref));
    await this.updateIndex((idx) => {
      for (const [n, r] of Object.entries(idx.images)) {
        if (n === name || (byDigest && r.digest === ref)) {
          delete idx.images[n];
          removed.push(n);
        }
      }
    });
    return removed;
  }

  /**
   * Deletes blobs and unpacked layers that no indexed image and no manifest in `inUse` (the manifest
   * digests of images that containers still run from) need, keeping the layers in `opts.keepLayers`.
   * Waits for pulls and imports in progress.
   */
  async gc(inUse: Set<string> = new Set(), opts: GcOptions = {}): Promise<GcResult> {
    await this.init();
    const keep = new Set<string>();
    for (const l of opts.keepLayers ?? []) {
      const hex = isDigest(l) ? hexOf(l) : path.basename(l);
      if (/^[0-9a-f]{64}$/.test(hex)) keep.add(hex);
    }
    while (this.gcRunning) await this.gcRunning.catch(() => {});
    const job = (async () => {
      while (this.leases > 0) await new Promise<void>((r) => this.leaseWaiters.push(r));
      return this.collect(inUse, keep);
    })();
    this.gcRunning = job;
    try {
      return await job;
    } finally {
      this.gcRunning = undefined;
    }
  }

  private async collect(inUse: Set<string>, keepLayerHexes: Set<string>): Promise<GcResult> {
    const idx = await this.readIndex();
    const keepBlobs = new Set<string>();
    const keepLayers = new Set<string>(keepLayerHexes);
    const roots = new Set<string>([...Object.values(idx.images).map((r) => r.digest), ...[...inUse].filter(isDigest)]);
    for (const r of Object.values(idx.images)) if (r.indexDigest) keepBlobs.add(r.indexDigest);
    for (const digest of roots) {
      const m = await this.tryManifest(digest);
      if (!m) continue;
      keepBlobs.add(digest);
      keepBlobs.add(m.config.digest);
      for (const l of m.layers) keepBlobs.add(l.digest);
      try {
        const cfg = parseConfig(await this.readBlob(m.config.digest), m.layers.length);
        for (const d of cfg.rootfs.diff_ids) keepLayers.add(hexOf(d));
      } catch {
        // A config that is gone or broken keeps nothing; its image cannot be run anyway.
      }
    }
    const removedBlobs: string[] = [];
    for (const hex of await fs.readdir(this.blobDir)) {
      if (keepBlobs.has(`sha256:${hex}`)) continue;
      await fs.rm(path.join(this.blobDir, hex), { force: true });
      removedBlobs.push(`sha256:${hex}`);
    }
    const removedLayers: string[] = [];
    for (const entry of await fs.readdir(this.layerDir)) {
      const hex = entry.endsWith(".json") ? entry.slice(0, -5) : entry;
      if (keepLayers.has(hex) || this.unpacking.has(hex)) continue;
      await fs.rm(path.join(this.layerDir, entry), { recursive: true, force: true });
      this.layerBytes.delete(hex);
      if (!entry.endsWith(".json")) removedLayers.push(`sha256:${hex}`);
    }
    // Leftovers of interrupted writes; nothing of ours is in flight while gc holds the store.
    for (const entry of await fs.readdir(this.tmpDir)) await fs.rm(path.join(this.tmpDir, entry), { recursive: true, force: true });
    return { removedBlobs: removedBlobs.sort(), removedLayers: removedLayers.sort() };
  }

  /**
   * Every indexed image with the bytes its pieces take on disk: manifest, config and image index
   * blobs, compressed layer blobs, and unpacked layer directories (measured in allocated blocks).
   * Shared pieces carry the same key, so a caller can tell what deleting an image would really free.
   * An image whose manifest or config is unreadable is listed with the pieces that could be found.
   */
  async diskUsage(): Promise<ImageDiskUsage[]> {
    await this.init();
    const idx = await this.readIndex();
    const byDigest = new Map<string, { names: string[]; createdAt: string; indexDigests: Set<string> }>();
    for (const [name, r] of Object.entries(idx.images)) {
      const e = byDigest.get(r.digest) ?? { names: [], createdAt: r.createdAt, indexDigests: new Set<string>() };
      e.names.push(name);
      if (r.createdAt < e.createdAt) e.createdAt = r.createdAt;
      if (r.indexDigest) e.indexDigests.add(r.indexDigest);
      byDigest.set(r.digest, e);
    }
    const out: ImageDiskUsage[] = [];
    for (const [digest, e] of [...byDigest].sort(([a], [b]) => a.localeCompare(b))) {
      const parts: ImagePart[] = [];
      const blob = async (d: string) => {
        const st = await fs.stat(this.blobPath(d)).catch(() => undefined);
        if (st) parts.push({ key: `blob:${d}`, bytes: st.size });
      };
      await blob(digest);
      for (const d of e.indexDigests) await blob(d);
      const m = await this.tryManifest(digest);
      let diffIds: string[] = [];
      if (m) {
        await blob(m.config.digest);
        for (const l of m.layers) await blob(l.digest);
        try {
          diffIds = parseConfig(await this.readBlob(m.config.digest), m.layers.length).rootfs.diff_ids;
        } catch {
          // A broken config: its layers cannot be found by diff ID, so only the blobs count.
        }
      }
      const layerDirs: string[] = [];
      for (const d of diffIds) {
        const dir = this.layerPath(d);
        const bytes = await this.measureLayer(hexOf(d), dir);
        if (bytes === undefined) continue;
        layerDirs.push(dir);
        parts.push({ key: `layer:${d}`, bytes });
      }
      out.push({ digest, id: m?.config.digest ?? "", names: e.names.sort(), createdAt: e.createdAt, layerDirs, parts });
    }
    return out;
  }

  private async measureLayer(hex: string, dir: string): Promise<number | undefined> {
    const known = this.layerBytes.get(hex);
    if (known !== undefined) return known;
    if (!(await exists(dir))) return undefined;
    const bytes = (await diskBytes(dir)) + ((await fs.lstat(`${dir}.json`).catch(() => undefined))?.size ?? 0);
    this.layerBytes.set(hex, bytes);
    return bytes;
  }

  /** Whiteouts and opaque directories recorded when a layer was unpacked (for runtimes without overlayfs). */
  async layerWhiteouts(diffId: string): Promise<{ whiteouts: string[]; opaqueDirs: string[] } | undefined> {
    try {
      const meta = JSON.parse(await fs.readFile(`${this.layerPath(diffId)}.json`, "utf8")) as LayerMeta;
      return { whiteouts: meta.whiteouts, opaqueDirs: meta.opaqueDirs };
    } catch {
      return undefined;
    }
  }

  // ---- internals ----

  private async tryManifest(digest: string): Promise<ImageManifest | undefined> {
    try {
      return parseManifest(await fs.readFile(this.blobPath(digest)));
    } catch {
      return undefined;
    }
  }

  private async loadImage(manifestDigest: string): Promise<{ manifest: ImageManifest; configFile: ImageConfigFile; size: number }> {
    const bytes = await this.readBlob(manifestDigest);
    let manifest: ImageManifest;
    try {
      if (documentKind(bytes) !== "manifest") throw new InvalidImageError(`${manifestDigest} is an image index, not a manifest`);
      manifest = parseManifest(bytes);
    } catch (e) {
      throw new ImageStoreError(`manifest ${manifestDigest}: ${describeError(e)}`);
    }
    let configFile: ImageConfigFile;
    try {
      configFile = parseConfig(await this.readBlob(manifest.config.digest), manifest.layers.length);
    } catch (e) {
      throw new ImageStoreError(`config of ${manifestDigest}: ${describeError(e)}`);
    }
    for (const l of manifest.layers) {
      if (!(await this.hasBlob(l.digest))) throw new ImageStoreError(`layer ${l.digest} of ${manifestDigest} is not in the store`);
    }
    return { manifest, configFile, size: bytes.length + manifest.config.size + manifest.layers.reduce((s, l) => s + l.size, 0) };
  }

  private async unpackAll(manifest: ImageManifest, config: ImageConfigFile): Promise<string[]> {
    return Promise.all(manifest.layers.map((l, i) => this.unpackLayer(l.digest, config.rootfs.diff_ids[i]!)));
  }

  /** Unpacks a layer blob once into layers/<diffID hex>/; concurrent callers share the work. */
  private unpackLayer(blobDigest: string, diffId: string): Promise<string> {
    const hex = hexOf(diffId);
    const target = path.join(this.layerDir, hex);
    let job = this.unpacking.get(hex);
    if (!job) {
      job = (async () => {
        if (await exists(target)) return target;
        const tmp = await fs.mkdtemp(path.join(this.tmpDir, `layer-${hex.slice(0, 12)}-`));
        try {
          const result = await extractLayer(this.blobPath(blobDigest), tmp);
          if (result.diffId !== diffId) throw new DigestMismatchError(diffId, result.diffId, `layer ${blobDigest} diff ID`);
          const meta: LayerMeta = { diffId, blob: blobDigest, whiteouts: result.whiteouts, opaqueDirs: result.opaqueDirs, unpackedAt: new Date().toISOString() };
          await writeFileAtomic(`${target}.json`, `${JSON.stringify(meta, null, 2)}\n`, this.tmpDir);
          try {
            await fs.rename(tmp, target);
          } catch (e) {
            // Another process unpacked the same layer first: theirs is as good as ours.
            const code = (e as NodeJS.ErrnoException).code;
            if (code !== "ENOTEMPTY" && code !== "EEXIST") throw e;
            await fs.rm(tmp, { recursive: true, force: true });
          }
          return target;
        } catch (e) {
          await fs.rm(tmp, { recursive: true, force: true });
          if (e instanceof ImageStoreError) throw e;
          throw new ImageStoreError(`unpacking layer ${blobDigest}: ${describeError(e)}`);
        }
      })().finally(() => this.unpacking.delete(hex));
      this.unpacking.set(hex, job);
    }
    return job;
  }

  private async readIndex(): Promise<IndexFile> {
    let text: string;
    try {
      text = await fs.readFile(this.indexFile, "utf8");
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "ENOENT") return { version: 1, images: {} };
      throw e;
    }
    try {
      const idx = JSON.parse(text) as IndexFile;
      if (!idx || typeof idx.images !== "object" || idx.images === null) throw new Error("no images map");
      return idx;
    } catch (e) {
      throw new ImageStoreError(`image index ${this.indexFile} is corrupt: ${describeError(e)}`);
    }
  }

  /** Read-modify-write of images.json, serialised in this process and replaced atomically on disk. */
  private updateIndex(change: (idx: IndexFile) => void): Promise<void> {
    const next = this.indexChain.then(async () => {
      const idx = await this.readIndex();
      change(idx);
      await writeFileAtomic(this.indexFile, `${JSON.stringify(idx, null, 2)}\n`, this.tmpDir);
    });
    this.indexChain = next.catch(() => {});
    return next;
  }
}

async function exists(p: string): Promise<boolean> {
  try {
    await fs.lstat(p);
    return true;
  } catch {
    return false;
  }
}

/** Bytes allocated to a directory tree (hard-linked files counted once), as `du` would count them. */
async function diskBytes(root: string): Promise<number> {
  const seen = new Set<string>();
  let total = 0;
  const walk = async (p: string): Promise<void> => {
    const st = await fs.lstat(p).catch(() => undefined);
    if (!st) return;
    const inode = `${st.dev}:${st.ino}`;
    if (seen.has(inode)) return;
    seen.add(inode);
    total += st.blocks * 512;
    if (st.isDirectory()) for (const name of await fs.readdir(p).catch(() => [] as string[])) await walk(path.join(p, name));
  };
  await walk(root);
  return total;
}

/** Write to a temp file, fsync, rename over the target: readers see the old or the new file, never half. */
export async function writeFileAtomic(file: string, data: string, tmpDir = path.dirname(file)): Promise<void> {
  const tmp = path.join(tmpDir, `.${path.basename(file)}.${randomBytes(6).toString("hex")}`);
  const fh = await fs.open(tmp, "w", 0o644);
  try {
    await fh.writeFile(data);
    await fh.sync();
  } finally {
    await fh.close();
  }
  try {
    await fs.rename(tmp, file);
  } catch (e) {
    await fs.rm(tmp, { force: true });
    throw e;
  }
}

// ---- layer extraction ----

export interface ExtractResult {
  /** sha256 of the uncompressed tar stream. */
  diffId: string;
  /** Paths (relative to the layer root) the layer deletes from the layers below. */
  whiteouts: string[];
  /** Directories whose lower contents the layer hides. */
  opaqueDirs: string[];
}

const WH_PREFIX = ".wh.";
const WH_OPAQUE = ".wh..wh..opq";

interface SpecialEntry {
  path: string;
  kind: "c" | "b" | "p";
  major: number;
  minor: number;
  mode: number;
  uid: number;
  gid: number;
}

function cleanEntryPath(p: string): string {
  const n = path.posix.normalize(`/${p}`).slice(1).replace(/\/+$/, "");
  if (n.split("/").includes("..")) throw new ImageStoreError(`layer entry "${p}" escapes the layer`);
  return n;
}

/**
 * Unpacks one layer tar (gzip or plain) into `dest` and converts OCI whiteouts to the overlayfs
 * form: `.wh.NAME` becomes a 0/0 character device NAME, and `.wh..wh..opq` becomes the
 * trusted.overlay.opaque=y xattr on its directory. Device and FIFO entries, which the tar package
 * does not create, are made with mknod.
 */
export async function extractLayer(blobFile: string, dest: string): Promise<ExtractResult> {
  const whiteouts = new Set<string>();
  const opaqueDirs = new Set<string>();
  const specials: SpecialEntry[] = [];
  let problem: Error | undefined;
  const isRoot = process.getuid?.() === 0;

  // Symlinks this layer created so far: no later entry may be written through one. (The layer
  // starts from an empty directory, so these are the only symlinks under `dest`.)
  const symlinks = new Set<string>();
  // Each file's and directory's mode from the tar; set exactly once extraction is done (tar's own
  // create calls go through the process umask, which would turn /tmp's 1777 into 1755).
  const modes = new Map<string, number>();
  const throughSymlink = (rel: string, raw: string) => {
    const parts = rel.split("/");
    for (let i = 1; i < parts.length; i++) {
      const prefix = parts.slice(0, i).join("/");
      if (symlinks.has(prefix)) throw new ImageStoreError(`layer entry "${raw}" goes through the symlink "${prefix}"`);
    }
  };

  // preservePaths keeps symlink targets verbatim (an absolute "/bin/busybox" means the container's
  // root, not ours); in exchange this filter does the path checks tar would otherwise do.
  const unpack = new Unpack({
    cwd: dest,
    strict: true,
    preserveOwner: isRoot,
    preservePaths: true,
    filter: (p, entry) => {
      const e = entry as ReadEntry;
      try {
        const rel = cleanEntryPath(p);
        throughSymlink(rel, p);
        const base = path.posix.basename(rel);
        const dir = path.posix.dirname(rel);
        if (base === WH_OPAQUE) {
          opaqueDirs.add(dir === "." ? "" : dir);
          return false;
        }
        if (base.startsWith(`${WH_PREFIX}${WH_PREFIX}`)) return false; // other AUFS metadata (.wh..wh.plnk, ...)
        if (base.startsWith(WH_PREFIX)) {
          const name = base.slice(WH_PREFIX.length);
          if (name === "" || name === "." || name === "..") throw new ImageStoreError(`bad whiteout "${p}"`);
          whiteouts.add(dir === "." ? name : `${dir}/${name}`);
          return false;
        }
        if (e.type === "CharacterDevice" || e.type === "BlockDevice" || e.type === "FIFO") {
          specials.push({
            path: rel,
            kind: e.type === "CharacterDevice" ? "c" : e.type === "BlockDevice" ? "b" : "p",
            major: e.header?.devmaj ?? 0,
            minor: e.header?.devmin ?? 0,
            mode: (e.mode ?? 0o644) & 0o7777,
            uid: e.uid ?? 0,
            gid: e.gid ?? 0,
          });
          symlinks.delete(rel);
          return false;
        }
        e.path = rel === "" ? "." : rel;
        if (e.type === "Link") {
          // A hard link's target is a path inside the layer (never the host's): clean it the same way.
          const target = cleanEntryPath(String(e.linkpath ?? ""));
          if (target === "") throw new ImageStoreError(`hard link "${p}" has no target`);
          throughSymlink(target, String(e.linkpath));
          e.linkpath = target;
          modes.delete(rel);
          if (symlinks.has(target)) symlinks.add(rel);
          else symlinks.delete(rel);
        } else if (e.type === "SymbolicLink") {
          if (rel === "") throw new ImageStoreError("layer replaces its root with a symlink");
          symlinks.add(rel);
          modes.delete(rel);
        } else {
          symlinks.delete(rel);
          if (typeof e.mode === "number") modes.set(rel, e.mode & 0o7777);
        }
        return true;
      } catch (err) {
        problem ??= err as Error;
        return false;
      }
    },
  });
  const done = new Promise<void>((resolve, reject) => {
    unpack.on("close", () => resolve());
    unpack.on("error", (e: Error) => reject(e));
  });
  done.catch(() => {});

  const hash = createHash("sha256");
  const head = Buffer.alloc(2);
  const fh = await fs.open(blobFile, "r");
  await fh.read(head, 0, 2, 0);
  await fh.close();
  const raw = createReadStream(blobFile);
  const source = head[0] === 0x1f && head[1] === 0x8b ? raw.pipe(createGunzip()) : raw;
  raw.on("error", (e) => source.destroy(e));
  let unpackError: unknown;
  done.catch((e) => {
    unpackError = e;
    source.destroy(e as Error);
  });
  try {
    for await (const chunk of source as AsyncIterable<Buffer>) {
      hash.update(chunk);
      if (!unpack.write(chunk)) await Promise.race([once(unpack as never, "drain"), done]);
    }
    unpack.end();
    await done;
  } catch (e) {
    throw new ImageStoreError(`bad layer archive: ${describeError(unpackError ?? e)}`);
  }
  if (problem) throw problem;

  for (const s of specials) {
    const target = await safeLayerPath(dest, s.path, true);
    await fs.rm(target, { recursive: true, force: true });
    const args = ["-m", (s.mode & 0o777).toString(8), target, s.kind];
    if (s.kind !== "p") args.push(String(s.major), String(s.minor));
    await runTool("mknod", args, `create device ${s.path}`);
    if (isRoot) await fs.lchown(target, s.uid, s.gid);
  }
  for (const d of opaqueDirs) {
    const target = d === "" ? dest : await safeLayerPath(dest, d, true);
    await fs.mkdir(target, { recursive: true });
    await setOpaque(target);
  }
  for (const w of whiteouts) {
    const target = await safeLayerPath(dest, w, true);
    await fs.rm(target, { recursive: true, force: true });
    await runTool("mknod", ["-m", "000", target, "c", "0", "0"], `create whiteout for ${w}`);
  }
  for (const [rel, mode] of modes) {
    const target = rel === "" ? dest : path.join(dest, rel);
    const st = await fs.lstat(target).catch(() => undefined);
    if (st && (st.isFile() || st.isDirectory()) && (st.mode & 0o7777) !== mode) await fs.chmod(target, mode);
  }
  return { diffId: `sha256:${hash.digest("hex")}`, whiteouts: [...whiteouts].sort(), opaqueDirs: [...opaqueDirs].sort() };
}

/** Resolves `rel` under `root`, creating missing parents and refusing to pass through a symlink. */
async function safeLayerPath(root: string, rel: string, makeParents: boolean): Promise<string> {
  const parts = cleanEntryPath(rel).split("/").filter(Boolean);
  let cur = root;
  for (const part of parts.slice(0, -1)) {
    cur = path.join(cur, part);
    let st: import("node:fs").Stats | undefined;
    try {
      st = await fs.lstat(cur);
    } catch {
      st = undefined;
    }
    if (!st) {
      if (!makeParents) break;
      await fs.mkdir(cur, { mode: 0o755 });
    } else if (st.isSymbolicLink()) {
      throw new ImageStoreError(`layer path "${rel}" goes through the symlink "${path.relative(root, cur)}"`);
    } else if (!st.isDirectory()) {
      throw new ImageStoreError(`layer path "${rel}": "${path.relative(root, cur)}" is not a directory`);
    }
  }
  return path.join(root, ...parts);
}

async function runTool(cmd: string, args: string[], what: string): Promise<void> {
  try {
    await run(cmd, args);
  } catch (e) {
    const err = e as NodeJS.ErrnoException & { stderr?: string };
    if (err.code === "ENOENT") throw new ImageStoreError(`cannot ${what}: "${cmd}" is not installed`);
    throw new ImageStoreError(`cannot ${what}: ${(err.stderr || err.message).trim()}`);
  }
}

/**
 * Marks a directory opaque for overlayfs. Node has no xattr call, so this runs `setfattr` (Debian's
 * `attr` package); the trusted.* namespace needs root (CAP_SYS_ADMIN), as overlay mounts do anyway.
 */
async function setOpaque(dir: string): Promise<void> {
  try {
    await run("setfattr", ["-n", "trusted.overlay.opaque", "-v", "y", dir]);
  } catch (e) {
    const err = e as NodeJS.ErrnoException & { stderr?: string };
    if (err.code === "ENOENT") {
      throw new ImageStoreError(
        `cannot mark ${dir} opaque: "setfattr" is not installed (apt-get install attr); overlayfs needs the trusted.overlay.opaque xattr`,
      );
    }
    throw new ImageStoreError(`cannot mark ${dir} opaque: ${(err.stderr || err.message).trim()}`);
  }
}
