// Book 9.5 and 3.4.2: the image puller — the OCI distribution API over undici (manifest or index →
// this node's manifest → config and layers, each verified), Bearer/Basic auth from imagePullSecrets.
import { createHash } from "node:crypto";
import { Readable } from "node:stream";
import { Agent, type Dispatcher, fetch, type Response } from "undici";
import {
  documentKind,
  hostPlatform,
  type ImageManifest,
  InvalidImageError,
  MANIFEST_ACCEPT,
  type Platform,
  parseIndex,
  parseManifest,
  platformString,
  selectPlatform,
} from "./oci.js";
import {
  formatReference,
  type ImageReference,
  InvalidReferenceError,
  isLoopbackRegistry,
  parseReference,
  registryApiHost,
} from "./reference.js";
import { DigestMismatchError, type ImageInfo, type ImageStore } from "./store.js";

export type ImagePullErrorCode =
  | "InvalidImageName"
  | "NotFound"
  | "Unauthorized"
  | "RegistryUnavailable"
  | "DigestMismatch"
  | "NoMatchingPlatform"
  | "InvalidImage"
  | "RegistryError";

/** A failed pull; `message` is what a kubelet shows in the pod's ErrImagePull status. */
export class ImagePullError extends Error {
  override name = "ImagePullError";
  constructor(
    readonly image: string,
    readonly code: ImagePullErrorCode,
    readonly detail: string,
    readonly status?: number,
  ) {
    super(`failed to pull image "${image}": ${detail}`);
  }
}

/** A Secret of type kubernetes.io/dockerconfigjson, decoded: {"auths": {"host": {"auth": base64(user:pass)}}}. */
export interface DockerConfigJson {
  auths?: Record<string, { auth?: string; username?: string; password?: string; identitytoken?: string }>;
}

export interface Credentials {
  username: string;
  password: string;
}

export interface PullerOptions {
  /** Talk plain http to these registries (host[:port]) besides the loopback ones. */
  insecureRegistries?: string[];
  /** Platform to choose from an index (default: linux and this host's architecture). */
  platform?: Platform;
  /** undici dispatcher (default: a keep-alive Agent owned by the puller). */
  dispatcher?: Dispatcher;
  /** Parallel layer downloads per pull (default 3). */
  maxConcurrentDownloads?: number;
  /** Largest manifest or index accepted, in bytes (default 4 MiB). */
  maxManifestBytes?: number;
}

export interface PullOptions {
  /** Decoded imagePullSecrets; the first whose auths match the registry is used. */
  auth?: DockerConfigJson | DockerConfigJson[];
  /** Use http for this registry even if it is not loopback. */
  insecure?: boolean;
}

/** What `fetch` leaves in the store: every blob of the image, verified, but no name yet. */
export interface FetchedImage {
  ref: string;
  manifestDigest: string;
  indexDigest?: string;
  manifest: ImageManifest;
  /** Bytes actually downloaded (blobs already in the store are skipped). */
  bytesFetched: number;
}

interface Challenge {
  scheme: string;
  params: Record<string, string>;
}

/** Parses a WWW-Authenticate header: `Bearer realm="…",service="…",scope="…"`. */
export function parseChallenge(header: string): Challenge | undefined {
  const m = /^\s*([A-Za-z]+)\s*(.*)$/.exec(header);
  if (!m) return undefined;
  const params: Record<string, string> = {};
  const re = /([A-Za-z_]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^,\s]*))\s*,?/g;
  for (let p = re.exec(m[2]!); p; p = re.exec(m[2]!)) params[p[1]!.toLowerCase()] = p[2] !== undefined ? p[2].replace(/\\(.)/g, "$1") : p[3]!;
  return { scheme: m[1]!.toLowerCase(), params };
}

function stripScheme(key: string): string {
  return key.replace(/^[a-z]+:\/\//i, "").replace(/\/.*$/, "");
}

/** The credentials a dockerconfigjson holds for a registry (Docker Hub's keys included), if any. */
export function credentialsFor(registry: string, configs: DockerConfigJson | DockerConfigJson[] | undefined): Credentials | undefined {
  const hub = new Set(["docker.io", "index.docker.io", "registry-1.docker.io", "registry.hub.docker.com"]);
  const same = (a: string) => a === registry || (hub.has(a) && hub.has(registry));
  for (const cfg of [configs ?? []].flat()) {
    const auths = cfg?.auths ?? (cfg as unknown as DockerConfigJson["auths"]); // legacy .dockercfg has no "auths" wrapper
    if (!auths || typeof auths !== "object") continue;
    for (const [key, entry] of Object.entries(auths)) {
      if (!entry || typeof entry !== "object" || !same(stripScheme(key))) continue;
      if (entry.username !== undefined && entry.password !== undefined) return { username: entry.username, password: entry.password };
      if (typeof entry.auth === "string") {
        const decoded = Buffer.from(entry.auth, "base64").toString("utf8");
        const colon = decoded.indexOf(":");
        if (colon > 0) return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
      }
    }
  }
  return undefined;
}

function basic(c: Credentials): string {
  return `Basic ${Buffer.from(`${c.username}:${c.password}`).toString("base64")}`;
}

/** Turns undici's "fetch failed" into the underlying reason (ECONNREFUSED 127.0.0.1:5000, ...). */
function networkReason(e: unknown): string {
  const cause = (e as { cause?: { code?: string; message?: string } }).cause;
  if (cause?.message) return cause.message;
  return (e as Error).message ?? String(e);
}

/** A registry's JSON error body ({"errors":[{"code","message"}]}) as one line. */
async function registryReason(res: Response): Promise<{ text: string; code?: string }> {
  let body = "";
  try {
    body = await res.text();
  } catch {
    // No body to read; the status says enough.
  }
  try {
    const errors = (JSON.parse(body) as { errors?: { code?: string; message?: string }[] }).errors;
    if (Array.isArray(errors) && errors.length > 0) {
      return { text: errors.map((x) => x.message || x.code || "error").join("; "), code: errors[0]!.code };
    }
  } catch {
    // Not JSON: fall through to the status line.
  }
  return { text: `${res.status} ${res.statusText || "error"}`.trim() };
}

/**
 * Pulls images into an ImageStore. One puller per kubelet: it caches Bearer tokens and merges
 * concurrent pulls of the same image (same reference and credentials) into one.
 */
export class ImagePuller {
  private readonly dispatcher: Dispatcher;
  private readonly ownsDispatcher: boolean;
  private readonly inFlight = new Map<string, Promise<ImageInfo>>();
  private readonly tokens = new Map<string, string>();

  constructor(
    readonly store: ImageStore,
    private readonly opts: PullerOptions = {},
  ) {
    this.ownsDispatcher = !opts.dispatcher;
    this.dispatcher = opts.dispatcher ?? new Agent({ connect: { timeout: 10_000 }, headersTimeout: 30_000, bodyTimeout: 60_000 });
  }

  /** Pulls (or re-uses the in-flight pull of) an image and names it in the store. */
  pull(image: string, opts: PullOptions = {}): Promise<ImageInfo> {
    let key: string;
    try {
      key = formatReference(parseReference(image));
    } catch (e) {
      return Promise.reject(this.wrap(image, e));
    }
    const creds = this.credsKey(parseReference(image).registry, opts);
    const dedupKey = `${key}\u0000${creds}\u0000${opts.insecure ? 1 : 0}`;
    let job = this.inFlight.get(dedupKey);
    if (!job) {
      job = this.store
        .withLease(async () => {
          const fetched = await this.fetchImage(image, opts);
          try {
            return await this.store.commit(fetched.ref, fetched.manifestDigest, fetched.indexDigest ? { indexDigest: fetched.indexDigest } : {});
          } catch (e) {
            throw this.wrap(image, e);
          }
        })
        .finally(() => this.inFlight.delete(dedupKey));
      this.inFlight.set(dedupKey, job);
    }
    return job;
  }

  /** Downloads and verifies every blob of an image into the store, without naming or unpacking it. */
  async fetchImage(image: string, opts: PullOptions = {}): Promise<FetchedImage> {
    let ref: ImageReference;
    try {
      ref = parseReference(image);
    } catch (e) {
      throw this.wrap(image, e);
    }
    const s = new Session(this, image, ref, opts);
    try {
      return await s.run();
    } catch (e) {
      throw this.wrap(image, e);
    }
  }

  async close(): Promise<void> {
    if (this.ownsDispatcher) await this.dispatcher.close();
  }

  // ---- used by Session ----

  /** @internal */
  get settings() {
    return {
      dispatcher: this.dispatcher,
      platform: this.opts.platform ?? hostPlatform(),
      concurrency: Math.max(1, this.opts.maxConcurrentDownloads ?? 3),
      maxManifestBytes: this.opts.maxManifestBytes ?? 4 * 1024 * 1024,
      insecure: new Set(this.opts.insecureRegistries ?? []),
      tokens: this.tokens,
    };
  }

  private credsKey(registry: string, opts: PullOptions): string {
    const c = credentialsFor(registry, opts.auth);
    return c ? createHash("sha256").update(`${c.username}:${c.password}`).digest("hex") : "";
  }

  private wrap(image: string, e: unknown): ImagePullError {
    if (e instanceof ImagePullError) return e;
    if (e instanceof InvalidReferenceError) return new ImagePullError(image, "InvalidImageName", e.message);
    if (e instanceof DigestMismatchError) return new ImagePullError(image, "DigestMismatch", e.message);
    if (e instanceof InvalidImageError) return new ImagePullError(image, "InvalidImage", e.message);
    return new ImagePullError(image, "RegistryError", (e as Error)?.message ?? String(e));
  }
}

/** One pull's conversation with one registry. */
class Session {
  private readonly base: string;
  private readonly creds: Credentials | undefined;
  private readonly cfg: ImagePuller["settings"];
  private readonly scope: string;
  private authHeader: string | undefined;
  private bytesFetched = 0;

  constructor(
    private readonly puller: ImagePuller,
    private readonly image: string,
    private readonly ref: ImageReference,
    opts: PullOptions,
  ) {
    this.cfg = puller.settings;
    const host = registryApiHost(ref.registry);
    const http = opts.insecure || isLoopbackRegistry(ref.registry) || this.cfg.insecure.has(ref.registry);
    this.base = `${http ? "http" : "https"}://${host}/v2/${ref.repository}`;
    this.creds = credentialsFor(ref.registry, opts.auth);
    this.scope = `repository:${ref.repository}:pull`;
    this.authHeader = this.cfg.tokens.get(this.tokenKey());
  }

  private tokenKey(): string {
    return `${this.ref.registry}\u0000${this.scope}\u0000${this.creds?.username ?? ""}`;
  }

  private fail(code: ImagePullErrorCode, detail: string, status?: number): ImagePullError {
    return new ImagePullError(this.image, code, detail, status);
  }

  async run(): Promise<FetchedImage> {
    const store = this.puller.store;
    await store.init();
    const reference = this.ref.digest ?? this.ref.tag ?? "latest";
    let { bytes, contentType } = await this.getManifest(reference, this.ref.digest);
    let digest = sha256(bytes);
    let indexDigest: string | undefined;
    for (let depth = 0; documentKind(bytes, contentType) === "index"; depth++) {
      if (depth > 2) throw this.fail("InvalidImage", "image indexes nested too deep");
      await store.putBlob(bytes, { digest });
      indexDigest ??= digest;
      const chosen = selectPlatform(parseIndex(bytes), this.cfg.platform);
      if (!chosen) {
        throw this.fail("NoMatchingPlatform", `no matching manifest for ${platformString(this.cfg.platform)} in the manifest list entries`);
      }
      ({ bytes, contentType } = await this.getManifest(chosen.digest, chosen.digest, chosen.size));
      digest = chosen.digest;
    }
    const manifest = parseManifest(bytes);
    const blobs = [manifest.config, ...manifest.layers];
    let next = 0;
    const worker = async () => {
      while (next < blobs.length) {
        const d = blobs[next++]!;
        if (!(await store.hasBlob(d.digest))) await this.getBlob(d.digest, d.size);
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.cfg.concurrency, blobs.length) }, worker));
    // The manifest goes in last, so a stored manifest always has its blobs beside it.
    await store.putBlob(bytes, { digest });
    const result: FetchedImage = { ref: formatReference(this.ref), manifestDigest: digest, manifest, bytesFetched: this.bytesFetched };
    if (indexDigest) result.indexDigest = indexDigest;
    return result;
  }

  /** GET a manifest by tag or digest with all four media types accepted; verifies digest and size. */
  private async getManifest(reference: string, expectDigest?: string, expectSize?: number): Promise<{ bytes: Buffer; contentType: string }> {
    const res = await this.request(`${this.base}/manifests/${reference}`, MANIFEST_ACCEPT.join(", "));
    if (!res.ok) await this.raise(res, "manifest");
    const declared = Number(res.headers.get("content-length") ?? "0");
    if (declared > this.cfg.maxManifestBytes) {
      await res.body?.cancel();
      throw this.fail("InvalidImage", `manifest is ${declared} bytes, more than the ${this.cfg.maxManifestBytes} allowed`);
    }
    const bytes = Buffer.from(await res.arrayBuffer());
    if (bytes.length > this.cfg.maxManifestBytes) throw this.fail("InvalidImage", `manifest is larger than ${this.cfg.maxManifestBytes} bytes`);
    this.bytesFetched += bytes.length;
    const actual = sha256(bytes);
    const header = res.headers.get("docker-content-digest");
    if (expectDigest && actual !== expectDigest) throw this.fail("DigestMismatch", `manifest ${expectDigest}: content does not match (got ${actual})`);
    if (header?.startsWith("sha256:") && header !== actual) throw this.fail("DigestMismatch", `manifest ${reference}: registry says ${header} but content is ${actual}`);
    if (expectSize !== undefined && bytes.length !== expectSize) {
      throw this.fail("DigestMismatch", `manifest ${reference}: ${bytes.length} bytes where ${expectSize} were promised`);
    }
    return { bytes, contentType: (res.headers.get("content-type") ?? "").split(";")[0]!.trim() };
  }

  /** Streams a blob into the store; the store refuses it unless sha256 and size match. */
  private async getBlob(digest: string, size: number): Promise<void> {
    const res = await this.request(`${this.base}/blobs/${digest}`, "*/*");
    if (!res.ok || !res.body) await this.raise(res, "blob");
    const body = Readable.fromWeb(res.body as import("node:stream/web").ReadableStream<Uint8Array>);
    let n = 0;
    const counted = (async function* () {
      for await (const chunk of body as AsyncIterable<Buffer>) {
        n += chunk.length;
        yield chunk;
      }
    })();
    try {
      await this.puller.store.putBlobStream(counted, { digest, size });
    } catch (e) {
      body.destroy();
      if (e instanceof DigestMismatchError) throw this.fail("DigestMismatch", e.message);
      if ((e as { cause?: unknown }).cause || (e as Error).name === "TypeError") throw this.fail("RegistryUnavailable", `downloading ${digest}: ${networkReason(e)}`);
      throw e;
    } finally {
      this.bytesFetched += n;
    }
  }

  /** One authenticated GET: on 401 answers the challenge (Bearer token or Basic) and tries once more. */
  private async request(url: string, accept: string): Promise<Response> {
    let res = await this.send(url, accept);
    if (res.status !== 401) return res;
    const challenge = parseChallenge(res.headers.get("www-authenticate") ?? "");
    await res.body?.cancel();
    if (challenge?.scheme === "bearer") {
      this.authHeader = `Bearer ${await this.fetchToken(challenge)}`;
      this.cfg.tokens.set(this.tokenKey(), this.authHeader);
    } else if (challenge?.scheme === "basic" && this.creds) {
      this.authHeader = basic(this.creds);
    } else {
      throw this.fail("Unauthorized", `unauthorized: ${this.creds ? "credentials were refused" : "the registry requires credentials (no imagePullSecret matches it)"}`, 401);
    }
    res = await this.send(url, accept);
    if (res.status === 401 || res.status === 403) {
      this.cfg.tokens.delete(this.tokenKey());
      const why = await registryReason(res);
      throw this.fail("Unauthorized", `unauthorized: ${why.text}`, res.status);
    }
    return res;
  }

  private async send(url: string, accept: string): Promise<Response> {
    const headers: Record<string, string> = { accept, "user-agent": "corekube-kubelet" };
    if (this.authHeader) headers.authorization = this.authHeader;
    try {
      return await fetch(url, { headers, dispatcher: this.cfg.dispatcher, redirect: "follow" });
    } catch (e) {
      throw this.fail("RegistryUnavailable", `cannot reach registry ${this.ref.registry}: ${networkReason(e)}`);
    }
  }

  /** The token dance: GET realm?service=…&scope=… (with Basic credentials if we have them). */
  private async fetchToken(ch: Challenge): Promise<string> {
    const realm = ch.params.realm;
    if (!realm) throw this.fail("Unauthorized", "registry asked for a Bearer token but named no realm", 401);
    let url: URL;
    try {
      url = new URL(realm);
    } catch {
      throw this.fail("Unauthorized", `registry's token realm "${realm}" is not a URL`, 401);
    }
    if (ch.params.service) url.searchParams.set("service", ch.params.service);
    for (const s of (ch.params.scope ?? this.scope).split(" ").filter(Boolean)) url.searchParams.append("scope", s);
    const headers: Record<string, string> = { accept: "application/json", "user-agent": "corekube-kubelet" };
    if (this.creds) headers.authorization = basic(this.creds);
    let res: Response;
    try {
      res = await fetch(url, { headers, dispatcher: this.cfg.dispatcher });
    } catch (e) {
      throw this.fail("RegistryUnavailable", `cannot reach token service ${url.host}: ${networkReason(e)}`);
    }
    if (!res.ok) {
      const why = await registryReason(res);
      throw this.fail("Unauthorized", `unauthorized: token service answered ${why.text}`, res.status);
    }
    let body: { token?: string; access_token?: string };
    try {
      body = (await res.json()) as typeof body;
    } catch {
      throw this.fail("Unauthorized", "token service answered with something that is not JSON", res.status);
    }
    const token = body.token ?? body.access_token;
    if (!token) throw this.fail("Unauthorized", "token service gave no token", res.status);
    return token;
  }

  private async raise(res: Response, what: "manifest" | "blob"): Promise<never> {
    const why = await registryReason(res);
    if (res.status === 404) {
      const text = why.code === undefined && what === "manifest" ? "manifest unknown" : why.text;
      throw this.fail("NotFound", text, 404);
    }
    if (res.status === 401 || res.status === 403) throw this.fail("Unauthorized", `unauthorized: ${why.text}`, res.status);
    if (res.status >= 500) throw this.fail("RegistryUnavailable", `registry error: ${why.text}`, res.status);
    throw this.fail("RegistryError", `${what} request failed: ${why.text}`, res.status);
  }
}

function sha256(bytes: Uint8Array): string {
  return `sha256:${createHash("sha256").update(bytes).digest("hex")}`;
}

/** One-shot pull with a throwaway puller (tests and the CLI); a kubelet keeps one ImagePuller. */
export async function pullImage(store: ImageStore, image: string, opts: PullOptions & PullerOptions = {}): Promise<ImageInfo> {
  const puller = new ImagePuller(store, opts);
  try {
    return await puller.pull(image, opts);
  } finally {
    await puller.close();
  }
}
