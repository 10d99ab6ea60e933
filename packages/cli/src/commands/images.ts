// Book 9.5 and 3.4.2: `corekube images` — the node's image store by hand, like crictl's image
// commands: import an OCI layout (no registry needed), list, remove, pull from a registry.
import { readFile } from "node:fs/promises";
import { importOciLayout } from "@corekube/kubelet/images/oci-layout";
import { type DockerConfigJson, pullImage } from "@corekube/kubelet/images/pull";
import { DEFAULT_IMAGE_ROOT, ImageStore } from "@corekube/kubelet/images/store";
import { type FlagSpec, flagValue, parseFlags, UsageError, usage } from "../flags.js";

export const imagesFlags: FlagSpec[] = [
  { name: "root", help: "the node's image store directory", default: DEFAULT_IMAGE_ROOT },
  { name: "name", help: "import: the reference to store the image under (e.g. busybox:latest)" },
  { name: "insecure", help: "pull: talk plain http to the registry (loopback registries always are)", boolean: true },
  { name: "auth-file", help: 'pull: a dockerconfigjson file ({"auths": {"host": {"auth": base64(user:pass)}}}) with the registry\'s credentials' },
  { name: "quiet", help: "list: print only the references", boolean: true },
];

const SUMMARY = `Manages the node's image store: content-addressed blobs, a reference → manifest index, and
layers unpacked once (with overlay whiteouts) for the kubelet's containers.

Subcommands:
  import <path> [--name ref]   import an OCI image layout directory, or a tar of one
  list                         list stored images
  rm <ref>...                  forget references (content stays until the kubelet's image gc)
  pull <ref> [--insecure]      pull from an OCI distribution registry`;

const EXAMPLE = `Examples:
  bash scripts/build-busybox-image.sh /tmp/busybox-oci && corekube images import /tmp/busybox-oci
  corekube images pull 127.0.0.1:5000/busybox:1
  corekube images list --root /tmp/images`;

function humanSize(n: number): string {
  if (n < 1024) return `${n}B`;
  const units = ["kB", "MB", "GB", "TB"];
  let v = n;
  let u = -1;
  do {
    v /= 1000;
    u++;
  } while (v >= 1000 && u < units.length - 1);
  return `${v.toFixed(v < 10 ? 2 : 1)}${units[u]}`;
}

function short(digest: string): string {
  return digest.replace(/^sha256:/, "").slice(0, 13);
}

export async function imagesCommand(argv: string[]): Promise<number> {
  if (argv.length === 0 || argv.includes("--help") || argv.includes("-h")) {
    process.stdout.write(usage("images <import|list|rm|pull>", SUMMARY, imagesFlags, EXAMPLE));
    return argv.length === 0 ? 2 : 0;
  }
  const p = parseFlags(argv, imagesFlags);
  const [sub, ...args] = p.positionals;
  const store = new ImageStore({ root: flagValue(p, imagesFlags, "root") });
  try {
    switch (sub) {
      case "import": {
        if (args.length !== 1) throw new UsageError("import takes one path: corekube images import <layout dir or tar> [--name ref]");
        const name = flagValue(p, imagesFlags, "name");
        const done = await importOciLayout(store, args[0]!, name ? { name } : {});
        for (const i of done) process.stdout.write(`imported ${i.ref} ${i.digest}\n`);
        return 0;
      }
      case "list":
      case "ls": {
        if (args.length > 0) throw new UsageError(`list takes no arguments, got "${args[0]}"`);
        const images = await store.list();
        if (p.flags.has("quiet")) {
          for (const i of images) process.stdout.write(`${i.ref}\n`);
          return 0;
        }
        const rows = [["IMAGE", "TAG", "IMAGE ID", "DIGEST", "SIZE"]];
        for (const i of images) {
          const at = i.ref.lastIndexOf("@");
          const nameTag = at >= 0 ? i.ref.slice(0, at) : i.ref;
          const colon = nameTag.lastIndexOf(":");
          const hasTag = colon > nameTag.lastIndexOf("/");
          rows.push([hasTag ? nameTag.slice(0, colon) : nameTag, hasTag ? nameTag.slice(colon + 1) : "<none>", short(i.id), short(i.digest), humanSize(i.size)]);
        }
        const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
        for (const r of rows) process.stdout.write(`${r.map((v, c) => (c === r.length - 1 ? v : v.padEnd(widths[c]! + 3))).join("")}\n`);
        return 0;
      }
      case "rm":
      case "remove": {
        if (args.length === 0) throw new UsageError("rm needs at least one image reference");
        let missing = 0;
        for (const ref of args) {
          const removed = await store.remove(ref);
          if (removed.length === 0) {
            process.stderr.write(`corekube images: no image "${ref}" in ${store.root}\n`);
            missing++;
          }
          for (const r of removed) process.stdout.write(`deleted ${r}\n`);
        }
        return missing > 0 ? 1 : 0;
      }
      case "pull": {
        if (args.length !== 1) throw new UsageError("pull takes one image reference");
        let auth: DockerConfigJson | undefined;
        const authFile = flagValue(p, imagesFlags, "auth-file");
        if (authFile) {
          try {
            auth = JSON.parse(await readFile(authFile, "utf8")) as DockerConfigJson;
          } catch (e) {
            throw new UsageError(`--auth-file ${authFile}: ${(e as Error).message}`);
          }
        }
        const started = Date.now();
        const info = await pullImage(store, args[0]!, { insecure: p.flags.has("insecure"), ...(auth ? { auth } : {}) });
        process.stdout.write(`pulled ${info.ref} ${info.digest} (${humanSize(info.size)}, ${Date.now() - started} ms)\n`);
        return 0;
      }
      default:
        throw new UsageError(sub === undefined ? "missing subcommand (import, list, rm or pull)" : `unknown subcommand "${sub}" (import, list, rm or pull)`);
    }
  } catch (e) {
    if (e instanceof UsageError) throw e;
    // Pull, import and store errors carry a full sentence (e.g. `failed to pull image "x": manifest unknown`).
    process.stderr.write(`corekube images: ${(e as Error).message ?? String(e)}\n`);
    return 1;
  }
}
