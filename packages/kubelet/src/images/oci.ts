// Book 3.4.2: the OCI image format's pieces — descriptors, manifests, indexes, image configs and
// their media types (OCI and the Docker v2 schema 2 equivalents) — and the checks we run on them.

export const MEDIA_TYPES = {
  ociIndex: "application/vnd.oci.image.index.v1+json",
  ociManifest: "application/vnd.oci.image.manifest.v1+json",
  ociConfig: "application/vnd.oci.image.config.v1+json",
  ociLayer: "application/vnd.oci.image.layer.v1.tar",
  ociLayerGzip: "application/vnd.oci.image.layer.v1.tar+gzip",
  ociLayerZstd: "application/vnd.oci.image.layer.v1.tar+zstd",
  ociLayerNondistributable: "application/vnd.oci.image.layer.nondistributable.v1.tar",
  ociLayerNondistributableGzip: "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip",
  dockerManifestList: "application/vnd.docker.distribution.manifest.list.v2+json",
  dockerManifest: "application/vnd.docker.distribution.manifest.v2+json",
  dockerManifestSchema1: "application/vnd.docker.distribution.manifest.v1+json",
  dockerManifestSchema1Signed: "application/vnd.docker.distribution.manifest.v1+prettyjws",
  dockerConfig: "application/vnd.docker.container.image.v1+json",
  dockerLayerGzip: "application/vnd.docker.image.rootfs.diff.tar.gzip",
  dockerForeignLayerGzip: "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip",
} as const;

/** What a puller must put in Accept: all four, or distribution answers 404 for the kinds left out. */
export const MANIFEST_ACCEPT = [MEDIA_TYPES.ociIndex, MEDIA_TYPES.ociManifest, MEDIA_TYPES.dockerManifestList, MEDIA_TYPES.dockerManifest];

const INDEX_TYPES = new Set<string>([MEDIA_TYPES.ociIndex, MEDIA_TYPES.dockerManifestList]);
const MANIFEST_TYPES = new Set<string>([MEDIA_TYPES.ociManifest, MEDIA_TYPES.dockerManifest]);
const LAYER_TYPES = new Set<string>([
  MEDIA_TYPES.ociLayer,
  MEDIA_TYPES.ociLayerGzip,
  MEDIA_TYPES.ociLayerNondistributable,
  MEDIA_TYPES.ociLayerNondistributableGzip,
  MEDIA_TYPES.dockerLayerGzip,
  MEDIA_TYPES.dockerForeignLayerGzip,
]);

export interface Platform {
  os: string;
  architecture: string;
  variant?: string;
}

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  annotations?: Record<string, string>;
  platform?: Platform;
  urls?: string[];
}

export interface ImageManifest {
  schemaVersion: 2;
  mediaType?: string;
  config: Descriptor;
  layers: Descriptor[];
  annotations?: Record<string, string>;
}

export interface ImageIndex {
  schemaVersion: 2;
  mediaType?: string;
  manifests: Descriptor[];
  annotations?: Record<string, string>;
}

/** The image config blob (only the parts a kubelet reads). */
export interface ImageConfigFile {
  architecture?: string;
  os?: string;
  variant?: string;
  created?: string;
  config?: {
    Entrypoint?: string[] | null;
    Cmd?: string[] | null;
    Env?: string[] | null;
    WorkingDir?: string;
    User?: string;
    ExposedPorts?: Record<string, object>;
    Labels?: Record<string, string> | null;
    StopSignal?: string;
    Volumes?: Record<string, object> | null;
  };
  rootfs: { type: string; diff_ids: string[] };
}

export class InvalidImageError extends Error {
  override name = "InvalidImageError";
}

export function isIndexMediaType(t: string | undefined): boolean {
  return t !== undefined && INDEX_TYPES.has(t);
}
export function isManifestMediaType(t: string | undefined): boolean {
  return t !== undefined && MANIFEST_TYPES.has(t);
}

const DIGEST = /^sha256:[a-f0-9]{64}$/;

export function checkDigest(d: unknown, what: string): string {
  if (typeof d !== "string" || !DIGEST.test(d)) {
    if (typeof d === "string" && /^[a-z0-9]+:/.test(d) && !d.startsWith("sha256:")) throw new InvalidImageError(`${what}: unsupported digest algorithm in "${d}" (only sha256)`);
    throw new InvalidImageError(`${what}: "${String(d)}" is not a sha256 digest`);
  }
  return d;
}

function checkDescriptor(d: unknown, what: string): Descriptor {
  if (!d || typeof d !== "object") throw new InvalidImageError(`${what} is not a descriptor`);
  const o = d as Record<string, unknown>;
  if (typeof o.mediaType !== "string") throw new InvalidImageError(`${what} has no mediaType`);
  checkDigest(o.digest, what);
  if (typeof o.size !== "number" || !Number.isSafeInteger(o.size) || o.size < 0) throw new InvalidImageError(`${what} has no valid size`);
  return o as unknown as Descriptor;
}

function parseJson(bytes: Uint8Array, what: string): Record<string, unknown> {
  let v: unknown;
  try {
    v = JSON.parse(Buffer.from(bytes).toString("utf8"));
  } catch (e) {
    throw new InvalidImageError(`${what} is not JSON: ${(e as Error).message}`);
  }
  if (!v || typeof v !== "object" || Array.isArray(v)) throw new InvalidImageError(`${what} is not a JSON object`);
  return v as Record<string, unknown>;
}

/** Tells a manifest from an index by the document's own mediaType, then the transport's, then its shape. */
export function documentKind(bytes: Uint8Array, contentType?: string): "index" | "manifest" {
  const doc = parseJson(bytes, "manifest");
  const t = typeof doc.mediaType === "string" ? doc.mediaType : contentType;
  if (t === MEDIA_TYPES.dockerManifestSchema1 || t === MEDIA_TYPES.dockerManifestSchema1Signed || doc.schemaVersion === 1) {
    throw new InvalidImageError("Docker schema 1 manifests are not supported (push the image again with a current client)");
  }
  if (isIndexMediaType(t)) return "index";
  if (isManifestMediaType(t)) return "manifest";
  if (Array.isArray(doc.manifests)) return "index";
  if (doc.config && Array.isArray(doc.layers)) return "manifest";
  throw new InvalidImageError(`unsupported manifest media type "${t ?? "(none)"}"`);
}

export function parseIndex(bytes: Uint8Array): ImageIndex {
  const doc = parseJson(bytes, "image index");
  if (doc.schemaVersion !== 2) throw new InvalidImageError("image index: schemaVersion must be 2");
  if (!Array.isArray(doc.manifests)) throw new InvalidImageError("image index has no manifests list");
  doc.manifests.forEach((m, i) => checkDescriptor(m, `image index entry ${i}`));
  return doc as unknown as ImageIndex;
}

export function parseManifest(bytes: Uint8Array): ImageManifest {
  const doc = parseJson(bytes, "image manifest");
  if (doc.schemaVersion !== 2) throw new InvalidImageError("image manifest: schemaVersion must be 2");
  if (doc.mediaType !== undefined && !isManifestMediaType(doc.mediaType as string)) {
    throw new InvalidImageError(`image manifest has media type "${String(doc.mediaType)}"`);
  }
  checkDescriptor(doc.config, "image config descriptor");
  if (!Array.isArray(doc.layers)) throw new InvalidImageError("image manifest has no layers list");
  doc.layers.forEach((l, i) => {
    const d = checkDescriptor(l, `layer ${i}`);
    if (d.mediaType === MEDIA_TYPES.ociLayerZstd || d.mediaType.endsWith("+zstd")) {
      throw new InvalidImageError(`layer ${i} is zstd-compressed (${d.mediaType}), which this node cannot unpack`);
    }
    if (!LAYER_TYPES.has(d.mediaType)) throw new InvalidImageError(`layer ${i} has unsupported media type "${d.mediaType}"`);
  });
  return doc as unknown as ImageManifest;
}

export function parseConfig(bytes: Uint8Array, layerCount: number): ImageConfigFile {
  const doc = parseJson(bytes, "image config");
  const rootfs = doc.rootfs as { type?: unknown; diff_ids?: unknown } | undefined;
  if (!rootfs || !Array.isArray(rootfs.diff_ids)) throw new InvalidImageError("image config has no rootfs.diff_ids");
  rootfs.diff_ids.forEach((d, i) => checkDigest(d, `rootfs.diff_ids[${i}]`));
  if (rootfs.diff_ids.length !== layerCount) {
    throw new InvalidImageError(`image config lists ${rootfs.diff_ids.length} diff_ids but the manifest has ${layerCount} layers`);
  }
  return doc as unknown as ImageConfigFile;
}

/** The node's platform in OCI words (Node's "x64" is OCI's "amd64"). */
export function hostPlatform(): Platform {
  const arch: Record<string, [string, string?]> = {
    x64: ["amd64"],
    arm64: ["arm64", "v8"],
    arm: ["arm", "v7"],
    ia32: ["386"],
    ppc64: ["ppc64le"],
    s390x: ["s390x"],
    riscv64: ["riscv64"],
    loong64: ["loong64"],
  };
  const [architecture, variant] = arch[process.arch] ?? [process.arch];
  return variant ? { os: "linux", architecture, variant } : { os: "linux", architecture };
}

/**
 * Picks the index entry for a platform: os and architecture must match; a matching variant wins over
 * none; attestation entries (platform unknown/unknown) never match. Returns undefined if none fits.
 */
export function selectPlatform(index: ImageIndex, want: Platform = hostPlatform()): Descriptor | undefined {
  const candidates = index.manifests.filter(
    (m) => (isManifestMediaType(m.mediaType) || isIndexMediaType(m.mediaType)) && m.annotations?.["vnd.docker.reference.type"] !== "attestation-manifest",
  );
  const fits = candidates.filter((m) => m.platform && m.platform.os === want.os && m.platform.architecture === want.architecture);
  if (fits.length > 0) {
    return fits.find((m) => want.variant !== undefined && m.platform?.variant === want.variant) ?? fits.find((m) => !m.platform?.variant) ?? fits[0];
  }
  // An index with a single entry that names no platform (as some tools write) is taken as is.
  if (candidates.length === 1 && !candidates[0]!.platform) return candidates[0];
  return undefined;
}

export function platformString(p: Platform): string {
  return `${p.os}/${p.architecture}${p.variant ? `/${p.variant}` : ""}`;
}
