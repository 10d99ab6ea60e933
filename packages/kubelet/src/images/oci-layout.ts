// Book 3.4.2 and 9.5: importing an OCI image layout (oci-layout, index.json, blobs/) — a directory
// or a tar of one, as `skopeo copy … oci:`, `umoci` or `docker save` write — so pods run without a registry.
import { mkdtemp, readFile, rm, stat } from "node:fs/promises";
import * as path from "node:path";
import { extract } from "tar";
import { checkDigest, documentKind, hostPlatform, type ImageIndex, type ImageManifest, parseIndex, parseManifest, platformString, selectPlatform } from "./oci.js";
import { formatReference, InvalidReferenceError, parseReference } from "./reference.js";
import type { ImageInfo, ImageStore } from "./store.js";

const REF_NAME = "org.opencontainers.image.ref.name";
const CONTAINERD_NAME = "io.containerd.image.name";

export interface ImportOptions {
  /**
   * Name to give the image. With one image in the layout it names that image; with several it is the
   * repository that tag-only names (ref.name "latest") are put under.
   */
  name?: string;
}

export interface ImportedImage {
  ref: string;
  digest: string;
  info: ImageInfo;
}

export class ImageImportError extends Error {
  override name = "ImageImportError";
}

/** Imports every image of an OCI layout directory or tar into the store; returns what was tagged. */
export async function importOciLayout(store: ImageStore, source: string, opts: ImportOptions = {}): Promise<ImportedImage[]> {
  let st: import("node:fs").Stats;
  try {
    st = await stat(source);
  } catch {
    throw new ImageImportError(`cannot import "${source}": no such file or directory`);
  }
  await store.init();
  if (st.isDirectory()) return store.withLease(() => importDir(store, source, opts));
  const tmp = await mkdtemp(path.join(store.root, "tmp", "import-"));
  try {
    try {
      await extract({ file: source, cwd: tmp, strict: true, preserveOwner: false });
    } catch (e) {
      throw new ImageImportError(`cannot import "${source}": not a readable tar of an OCI layout (${(e as Error).message})`);
    }
    return await store.withLease(() => importDir(store, tmp, opts, source));
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}

interface Candidate {
  digest: string;
  refName?: string;
  fullName?: string;
  indexDigest?: string;
}

async function importDir(store: ImageStore, dir: string, opts: ImportOptions, shownAs = dir): Promise<ImportedImage[]> {
  const fail = (why: string) => new ImageImportError(`cannot import "${shownAs}": ${why}`);
  let layoutVersion: unknown;
  try {
    layoutVersion = JSON.parse(await readFile(path.join(dir, "oci-layout"), "utf8")).imageLayoutVersion;
  } catch {
    throw fail("not an OCI image layout (no readable oci-layout file)");
  }
  if (typeof layoutVersion !== "string" || !layoutVersion.startsWith("1.")) throw fail(`unsupported imageLayoutVersion "${String(layoutVersion)}"`);
  let index: ImageIndex;
  try {
    index = parseIndex(await readFile(path.join(dir, "index.json")));
  } catch (e) {
    throw fail(`index.json: ${(e as Error).message}`);
  }
  const blobFile = (digest: string) => path.join(dir, "blobs", "sha256", checkDigest(digest, "descriptor").slice(7));
  const copy = async (digest: string, size: number) => {
    try {
      await store.importBlobFile(blobFile(digest), { digest, size });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "ENOENT") throw fail(`blob ${digest} is missing from the layout`);
      throw e;
    }
  };

  // Each top-level entry is a manifest, or an index we resolve to this node's platform.
  const candidates: Candidate[] = [];
  for (const d of index.manifests) {
    const c: Candidate = { digest: d.digest };
    if (d.annotations?.[REF_NAME]) c.refName = d.annotations[REF_NAME];
    if (d.annotations?.[CONTAINERD_NAME]) c.fullName = d.annotations[CONTAINERD_NAME];
    await copy(d.digest, d.size);
    let bytes = await store.readBlob(d.digest);
    for (let depth = 0; documentKind(bytes, d.mediaType) === "index"; depth++) {
      if (depth > 2) throw fail(`image indexes nested too deep at ${d.digest}`);
      const chosen = selectPlatform(parseIndex(bytes));
      if (!chosen) throw fail(`no image for ${platformString(hostPlatform())} in ${d.digest}`);
      c.indexDigest ??= c.digest;
      await copy(chosen.digest, chosen.size);
      c.digest = chosen.digest;
      bytes = await store.readBlob(chosen.digest);
    }
    candidates.push(c);
  }
  if (candidates.length === 0) throw fail("index.json lists no images");

  // Copy every config and layer blob (verified by digest and size) before naming anything.
  for (const digest of new Set(candidates.map((c) => c.digest))) {
    let m: ImageManifest;
    try {
      m = parseManifest(await store.readBlob(digest));
    } catch (e) {
      throw fail(`manifest ${digest}: ${(e as Error).message}`);
    }
    await copy(m.config.digest, m.config.size);
    for (const l of m.layers) await copy(l.digest, l.size);
  }

  const names = nameCandidates(candidates, opts.name, fail);
  const out: ImportedImage[] = [];
  for (const [ref, c] of names) {
    const info = await store.commit(ref, c.digest, c.indexDigest ? { indexDigest: c.indexDigest } : {});
    out.push({ ref, digest: c.digest, info });
  }
  return out;
}

/** Works out the reference(s) each image is stored under. */
function nameCandidates(candidates: Candidate[], name: string | undefined, fail: (why: string) => Error): Map<string, Candidate> {
  const parse = (s: string, from: string) => {
    try {
      return parseReference(s);
    } catch (e) {
      if (e instanceof InvalidReferenceError) throw fail(`${from}: ${e.message}`);
      throw e;
    }
  };
  const names = new Map<string, Candidate>();
  const distinct = new Set(candidates.map((c) => c.digest));
  const given = name !== undefined ? parse(name, "--name") : undefined;
  if (given && distinct.size === 1) {
    names.set(formatReference(given), candidates[0]!);
    return names;
  }
  const isFull = (s: string) => /[/:@]/.test(s);
  for (const c of candidates) {
    if (c.fullName) names.set(formatReference(parse(c.fullName, CONTAINERD_NAME)), c);
    if (c.refName && isFull(c.refName)) names.set(formatReference(parse(c.refName, REF_NAME)), c);
    else if (c.refName && given) names.set(formatReference({ registry: given.registry, repository: given.repository, tag: c.refName }), c);
  }
  const unnamed = candidates.filter((c) => ![...names.values()].some((n) => n.digest === c.digest));
  if (unnamed.length > 0) {
    const hint = unnamed.map((c) => c.refName ?? c.digest).join(", ");
    if (given) throw fail(`the layout holds ${distinct.size} images; cannot tell which one --name means (${hint})`);
    throw fail(`image ${hint} has no full name in the layout; give one with --name (e.g. --name busybox:latest)`);
  }
  return names;
}
