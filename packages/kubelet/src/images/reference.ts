// Book 9.5 and 3.4.2: image references as container runtimes read them — `busybox` means
// docker.io/library/busybox:latest, `host:port/name` names another registry, `@sha256:` pins a digest.

export const DEFAULT_REGISTRY = "docker.io";
/** The host that actually serves Docker Hub's registry API. */
export const DOCKER_HUB_API_HOST = "registry-1.docker.io";
export const DEFAULT_TAG = "latest";

export interface ImageReference {
  /** Registry host, with port if any: "docker.io", "127.0.0.1:5000", "quay.io". */
  registry: string;
  /** Repository path inside the registry: "library/busybox", "coredns/coredns". */
  repository: string;
  /** Tag; "latest" when neither tag nor digest was given. */
  tag?: string;
  /** "sha256:<64 hex>" when the reference pins a digest. */
  digest?: string;
}

export class InvalidReferenceError extends Error {
  override name = "InvalidReferenceError";
  constructor(
    readonly input: string,
    reason: string,
  ) {
    super(`invalid image reference "${input}": ${reason}`);
  }
}

// One path component: lowercase alphanumerics separated by ".", "_", "__" or runs of "-".
const COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const TAG = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;
const DIGEST = /^sha256:[a-f0-9]{64}$/;
const HOST = /^(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*|\[[0-9A-Fa-f:.]+\])(?::[0-9]{1,5})?$/;

/** True for a string that is a sha256 digest ("sha256:" and 64 lowercase hex digits). */
export function isDigest(s: string): boolean {
  return DIGEST.test(s);
}

/**
 * Parses an image reference the way Docker, containerd and CRI-O do: the first path component is a
 * registry only if it has a "." or ":" or is "localhost"; Docker Hub names get "library/" when they
 * have a single component; no tag and no digest means ":latest".
 */
export function parseReference(input: string): ImageReference {
  if (typeof input !== "string" || input.trim() === "") throw new InvalidReferenceError(String(input), "empty");
  if (input !== input.trim() || /\s/.test(input)) throw new InvalidReferenceError(input, "contains whitespace");
  if (input.length > 4096) throw new InvalidReferenceError(input.slice(0, 64), "too long");

  let rest = input;
  let digest: string | undefined;
  const at = rest.indexOf("@");
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!DIGEST.test(digest)) {
      if (/^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:/.test(digest) && !digest.startsWith("sha256:")) {
        throw new InvalidReferenceError(input, `unsupported digest algorithm "${digest.split(":")[0]}" (only sha256)`);
      }
      throw new InvalidReferenceError(input, `digest must be sha256: followed by 64 lowercase hex digits`);
    }
  }

  // A tag is whatever follows the last ":" after the last "/" (a ":" before a "/" is a port).
  let tag: string | undefined;
  const lastSlash = rest.lastIndexOf("/");
  const colon = rest.lastIndexOf(":");
  if (colon > lastSlash) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!TAG.test(tag)) throw new InvalidReferenceError(input, `invalid tag "${tag}"`);
  }
  if (rest === "") throw new InvalidReferenceError(input, "missing repository name");

  let registry = DEFAULT_REGISTRY;
  let path = rest;
  const slash = rest.indexOf("/");
  if (slash > 0) {
    const first = rest.slice(0, slash);
    if (first.includes(".") || first.includes(":") || first === "localhost" || first.startsWith("[")) {
      registry = first;
      path = rest.slice(slash + 1);
      if (!HOST.test(registry)) throw new InvalidReferenceError(input, `invalid registry host "${registry}"`);
      const port = /:(\d+)$/.exec(registry)?.[1];
      if (port !== undefined && (Number(port) < 1 || Number(port) > 65535)) throw new InvalidReferenceError(input, `invalid port in "${registry}"`);
    }
  }
  if (registry === "index.docker.io" || registry === DOCKER_HUB_API_HOST) registry = DEFAULT_REGISTRY;
  if (path === "") throw new InvalidReferenceError(input, "missing repository name");

  const components = path.split("/");
  for (const c of components) {
    if (c === "") throw new InvalidReferenceError(input, "empty path component");
    if (!COMPONENT.test(c)) {
      if (COMPONENT.test(c.toLowerCase())) throw new InvalidReferenceError(input, "repository name must be lowercase");
      throw new InvalidReferenceError(input, `invalid repository path component "${c}"`);
    }
  }
  if (registry === DEFAULT_REGISTRY && components.length === 1) path = `library/${path}`;
  if (registry.length + 1 + path.length > 255) throw new InvalidReferenceError(input, "repository name longer than 255 characters");

  if (tag === undefined && digest === undefined) tag = DEFAULT_TAG;
  const ref: ImageReference = { registry, repository: path };
  if (tag !== undefined) ref.tag = tag;
  if (digest !== undefined) ref.digest = digest;
  return ref;
}

/** The repository's full name: "docker.io/library/busybox". */
export function repositoryName(ref: ImageReference): string {
  return `${ref.registry}/${ref.repository}`;
}

/** The normalised string: "docker.io/library/busybox:latest", "host:5000/a/b@sha256:…", or both tag and digest. */
export function formatReference(ref: ImageReference): string {
  return `${repositoryName(ref)}${ref.tag !== undefined ? `:${ref.tag}` : ""}${ref.digest !== undefined ? `@${ref.digest}` : ""}`;
}

/** Parses and re-prints a reference in its normalised form (throws InvalidReferenceError). */
export function normalizeReference(input: string): string {
  return formatReference(parseReference(input));
}

/** The short form people type: "busybox:latest" for Docker Hub library images, the full name otherwise. */
export function familiarReference(ref: ImageReference): string {
  let name = repositoryName(ref);
  if (ref.registry === DEFAULT_REGISTRY) name = ref.repository.startsWith("library/") ? ref.repository.slice(8) : ref.repository;
  return `${name}${ref.tag !== undefined ? `:${ref.tag}` : ""}${ref.digest !== undefined ? `@${ref.digest}` : ""}`;
}

/** The host the registry API is served from (Docker Hub's API lives on registry-1.docker.io). */
export function registryApiHost(registry: string): string {
  return registry === DEFAULT_REGISTRY ? DOCKER_HUB_API_HOST : registry;
}

/** Registries we talk plain http to by default: the loopback ones (tests and a node-local registry). */
export function isLoopbackRegistry(registry: string): boolean {
  const host = registry.startsWith("[") ? registry.slice(0, registry.indexOf("]") + 1) : registry.replace(/:\d+$/, "");
  return host === "localhost" || host === "[::1]" || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}
