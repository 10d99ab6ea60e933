// Book 9.5: builders for the image tests: a gzipped layer tar made from a few files, and an image (layers,
// config, OCI manifest) written into an ImageStore's blobs. Shared by the store's and image GC's tests.
import { createHash } from "node:crypto";
import * as fs from "node:fs/promises";
import * as path from "node:path";
import { gzipSync } from "node:zlib";
import { c as createTar } from "tar";
import { MEDIA_TYPES } from "./oci.js";
import type { ImageStore } from "./store.js";

export const sha256Digest = (b: Uint8Array): string => `sha256:${createHash("sha256").update(b).digest("hex")}`;

/** A file's content, a symlink, or an empty directory. */
export type LayerEntry = string | { symlink: string } | { dir: true };

export interface TestLayer {
  gz: Buffer;
  diffId: string;
}

/** A gzipped layer tar holding exactly `entries` (paths relative to the layer root), built under `scratch`. */
export async function makeLayer(scratch: string, entries: Record<string, LayerEntry>): Promise<TestLayer> {
  const dir = await fs.mkdtemp(path.join(scratch, "src-"));
  for (const [p, e] of Object.entries(entries)) {
    const full = path.join(dir, p);
    if (typeof e === "object" && "dir" in e) {
      await fs.mkdir(full, { recursive: true });
      continue;
    }
    await fs.mkdir(path.dirname(full), { recursive: true });
    if (typeof e === "string") await fs.writeFile(full, e);
    else await fs.symlink(e.symlink, full);
  }
  const chunks: Buffer[] = [];
  const names = (await fs.readdir(dir)).sort();
  for await (const chunk of createTar({ cwd: dir, portable: true }, names) as AsyncIterable<Buffer>) chunks.push(Buffer.from(chunk));
  await fs.rm(dir, { recursive: true, force: true });
  const tarBytes = Buffer.concat(chunks);
  return { gz: gzipSync(tarBytes), diffId: sha256Digest(tarBytes) };
}

export interface BuiltImage {
  manifestDigest: string;
  configDigest: string;
  layerDigests: string[];
}

/**
 * Puts an image into the store's blobs: its layers, a config whose `config` field is `imageConfig`, and an
 * OCI manifest. `diffIds` overrides the config's rootfs.diff_ids (to test a mismatch).
 */
export async function putImage(store: ImageStore, layers: TestLayer[], imageConfig: Record<string, unknown>, diffIds?: string[]): Promise<BuiltImage> {
  const layerDigests: string[] = [];
  for (const l of layers) layerDigests.push(await store.putBlob(l.gz));
  const config = Buffer.from(
    JSON.stringify({ architecture: "amd64", os: "linux", config: imageConfig, rootfs: { type: "layers", diff_ids: diffIds ?? layers.map((l) => l.diffId) } }),
  );
  const configDigest = await store.putBlob(config);
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: MEDIA_TYPES.ociManifest,
      config: { mediaType: MEDIA_TYPES.ociConfig, digest: configDigest, size: config.length },
      layers: layers.map((l, i) => ({ mediaType: MEDIA_TYPES.ociLayerGzip, digest: layerDigests[i], size: l.gz.length })),
    }),
  );
  return { manifestDigest: await store.putBlob(manifest), configDigest, layerDigests };
}
