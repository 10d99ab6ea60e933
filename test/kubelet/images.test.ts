// Book 9.5 and 3.4.2: images end to end with real tools — build busybox's OCI layout, import it with
// `corekube images`, push with skopeo to a real registry (distribution), pull with our puller.
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { existsSync, openSync, closeSync } from "node:fs";
import * as fs from "node:fs/promises";
import * as http from "node:http";
import * as os from "node:os";
import * as path from "node:path";
import { promisify } from "node:util";
import { hostPlatform, MANIFEST_ACCEPT, MEDIA_TYPES } from "@corekube/kubelet/images/oci";
import { ImagePuller, ImagePullError, pullImage } from "@corekube/kubelet/images/pull";
import { ImageStore } from "@corekube/kubelet/images/store";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort, stopProcess } from "../support/ports.js";

const run = promisify(execFile);
const repoRoot = path.resolve(import.meta.dirname, "../..");

let dir: string;
let registry: ChildProcess | undefined;
let regHost: string;
let proxy: http.Server | undefined;
let proxyHost: string;
const mounted: string[] = [];
const tokenRequests: { service: string | null; scope: string | null; authorized: boolean }[] = [];
const proxiedManifestGets = new Map<string, number>();
const TOKEN = "tok-9f2c";
const USER = "alice";
const PASS = "wonder:land";

async function sh(cmd: string, args: string[], opts: { cwd?: string } = {}) {
  try {
    return await run(cmd, args, { ...opts, maxBuffer: 16 * 1024 * 1024 });
  } catch (e) {
    const err = e as Error & { stderr?: string; stdout?: string };
    throw new Error(`${cmd} ${args.join(" ")} failed: ${err.message}\n${err.stdout ?? ""}\n${err.stderr ?? ""}`);
  }
}

/** Runs the `corekube images` command in its own process, as a user would. */
async function corekubeImages(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const code = `import { imagesCommand } from "./packages/cli/src/commands/images.ts"; process.exitCode = await imagesCommand(process.argv.slice(1));`;
  return new Promise((resolve, reject) => {
    execFile(process.execPath, ["--import", "tsx", "--input-type=module", "-e", code, "--", ...args], { cwd: repoRoot }, (err, stdout, stderr) => {
      const exit = err ? ((err as { code?: number }).code ?? 1) : 0;
      if (err && typeof (err as { code?: unknown }).code !== "number") reject(err);
      else resolve({ code: exit, stdout, stderr });
    });
  });
}

async function waitForRegistry(base: string): Promise<void> {
  for (let i = 0; i < 150; i++) {
    try {
      const r = await fetch(`${base}/v2/`, { signal: AbortSignal.timeout(1_000) });
      if (r.status === 200) return;
    } catch {
      // not up yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`registry at ${base} did not come up`);
}

async function manifestDigest(host: string, repo: string, tag: string): Promise<{ digest: string; size: number }> {
  const r = await fetch(`http://${host}/v2/${repo}/manifests/${tag}`, { headers: { accept: MANIFEST_ACCEPT.join(", ") } });
  const body = Buffer.from(await r.arrayBuffer());
  expect(r.status).toBe(200);
  return { digest: r.headers.get("docker-content-digest")!, size: body.length };
}

async function overlay(layers: string[]): Promise<string | undefined> {
  const merged = await fs.mkdtemp(path.join(dir, "merged-"));
  const lower = [...layers].reverse();
  if (lower.length === 1) lower.push(await fs.mkdtemp(path.join(dir, "empty-")));
  try {
    await run("mount", ["-t", "overlay", "overlay", "-o", `lowerdir=${lower.join(":")}`, merged]);
  } catch {
    return undefined;
  }
  mounted.push(merged);
  return merged;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

beforeAll(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), "ck-images-"));
  const layout = path.join(dir, "busybox-oci");
  await sh("bash", [path.join(repoRoot, "scripts/build-busybox-image.sh"), layout]);

  // A two-layer image made with umoci: the second layer deletes /etc/gone and adds /data/new.
  const two = path.join(dir, "two-oci");
  const bundle = path.join(dir, "two-bundle");
  await sh("umoci", ["init", "--layout", two]);
  await sh("umoci", ["new", "--image", `${two}:two`]);
  await sh("umoci", ["unpack", "--image", `${two}:two`, bundle]);
  const rootfs = path.join(bundle, "rootfs");
  await fs.mkdir(path.join(rootfs, "bin"), { recursive: true });
  await fs.copyFile("/bin/busybox", path.join(rootfs, "bin/busybox"));
  await fs.chmod(path.join(rootfs, "bin/busybox"), 0o755);
  await fs.symlink("/bin/busybox", path.join(rootfs, "bin/sh"));
  await fs.mkdir(path.join(rootfs, "etc"));
  await fs.mkdir(path.join(rootfs, "data"));
  await fs.writeFile(path.join(rootfs, "etc/gone"), "in layer 1 only\n");
  await fs.writeFile(path.join(rootfs, "etc/keep"), "kept\n");
  // --refresh-bundle makes the next repack diff against this layer (and so add a second one).
  await sh("umoci", ["repack", "--refresh-bundle", "--image", `${two}:two`, bundle]);
  await fs.rm(path.join(rootfs, "etc/gone"));
  await fs.writeFile(path.join(rootfs, "data/new"), "from layer 2\n");
  await sh("umoci", ["repack", "--image", `${two}:two`, bundle]);
  await sh("umoci", ["config", "--image", `${two}:two`, "--config.cmd", "/bin/sh", "--config.cmd", "-c", "--config.cmd", "echo two"]);

  // A real registry on a free loopback port with its own storage.
  const port = await freePort();
  regHost = `127.0.0.1:${port}`;
  const cfg = path.join(dir, "registry.yml");
  await fs.writeFile(
    cfg,
    `version: 0.1\nlog:\n  level: warn\nstorage:\n  filesystem:\n    rootdirectory: ${path.join(dir, "registry-data")}\nhttp:\n  addr: ${regHost}\n`,
  );
  const logFd = openSync(path.join(dir, "registry.log"), "a");
  registry = spawn("docker-registry", ["serve", cfg], { stdio: ["ignore", logFd, logFd] });
  closeSync(logFd);
  await waitForRegistry(`http://${regHost}`);

  const policy = path.join(dir, "policy.json");
  await fs.writeFile(policy, JSON.stringify({ default: [{ type: "insecureAcceptAnything" }] }));
  const copy = (src: string, dest: string) => sh("skopeo", ["--policy", policy, "copy", "--dest-tls-verify=false", src, `docker://${regHost}/${dest}`]);
  await copy(`oci:${layout}:latest`, "busybox:1");
  await copy(`oci:${two}:two`, "twolayer:1");
  await copy(`oci:${two}:two`, "busybox:two");

  // An OCI index whose entry for this host is busybox and whose other entry is the two-layer image.
  const host = hostPlatform();
  const other = host.architecture === "amd64" ? "arm64" : "amd64";
  const bb = await manifestDigest(regHost, "busybox", "1");
  const tw = await manifestDigest(regHost, "busybox", "two");
  const index = JSON.stringify({
    schemaVersion: 2,
    mediaType: MEDIA_TYPES.ociIndex,
    manifests: [
      { mediaType: MEDIA_TYPES.ociManifest, ...tw, platform: { os: "linux", architecture: other } },
      { mediaType: MEDIA_TYPES.ociManifest, ...bb, platform: { os: "linux", architecture: host.architecture } },
    ],
  });
  const put = await fetch(`http://${regHost}/v2/busybox/manifests/multi`, { method: "PUT", headers: { "content-type": MEDIA_TYPES.ociIndex }, body: index });
  expect(put.status).toBe(201);

  // A front door that wants a Bearer token (from its /token endpoint, for alice only), then proxies.
  const ppPort = await freePort();
  proxyHost = `127.0.0.1:${ppPort}`;
  proxy = http.createServer((req, res) => {
    const url = new URL(req.url ?? "/", `http://${proxyHost}`);
    if (url.pathname === "/token") {
      const authorized = req.headers.authorization === `Basic ${Buffer.from(`${USER}:${PASS}`).toString("base64")}`;
      tokenRequests.push({ service: url.searchParams.get("service"), scope: url.searchParams.get("scope"), authorized });
      res.writeHead(authorized ? 200 : 401, { "content-type": "application/json" });
      res.end(JSON.stringify(authorized ? { token: TOKEN, expires_in: 300 } : { details: "incorrect username or password" }));
      return;
    }
    if (req.headers.authorization !== `Bearer ${TOKEN}`) {
      const repo = /^\/v2\/(.+?)\/(manifests|blobs)\//.exec(url.pathname)?.[1] ?? "";
      res.writeHead(401, {
        "content-type": "application/json",
        "www-authenticate": `Bearer realm="http://${proxyHost}/token",service="ck-test-registry",scope="repository:${repo}:pull"`,
      });
      res.end(JSON.stringify({ errors: [{ code: "UNAUTHORIZED", message: "authentication required" }] }));
      return;
    }
    if (req.method === "GET" && url.pathname.includes("/manifests/")) proxiedManifestGets.set(url.pathname, (proxiedManifestGets.get(url.pathname) ?? 0) + 1);
    const up = http.request({ host: "127.0.0.1", port, method: req.method, path: req.url, headers: { accept: req.headers.accept ?? "*/*" } }, (r) => {
      res.writeHead(r.statusCode ?? 502, r.headers);
      r.pipe(res);
    });
    up.on("error", () => {
      res.writeHead(502);
      res.end();
    });
    up.end();
  });
  await new Promise<void>((r) => proxy!.listen(ppPort, "127.0.0.1", r));
}, 120_000);

afterAll(async () => {
  for (const m of mounted) await run("umount", [m]).catch(() => {});
  if (proxy) await new Promise((r) => proxy!.close(r));
  if (registry) await stopProcess(registry);
  if (dir) await fs.rm(dir, { recursive: true, force: true });
});

describe("busybox from an OCI layout, no registry", () => {
  it("is built deterministically, imported with `corekube images import`, listed, and runs", async () => {
    const layout = path.join(dir, "busybox-oci");
    const before = await fs.readFile(path.join(layout, "index.json"), "utf8");
    await sh("bash", [path.join(repoRoot, "scripts/build-busybox-image.sh"), layout]);
    expect(await fs.readFile(path.join(layout, "index.json"), "utf8")).toBe(before);

    const root = path.join(dir, "store-import");
    const imp = await corekubeImages(["import", layout, "--root", root]);
    expect(imp.stderr).toBe("");
    expect(imp.code).toBe(0);
    expect(imp.stdout).toMatch(/^imported docker\.io\/library\/busybox:latest sha256:[0-9a-f]{64}\n$/);

    const ls = await corekubeImages(["list", "--root", root]);
    expect(ls.code).toBe(0);
    expect(ls.stdout.split("\n")[0]).toMatch(/^IMAGE\s+TAG\s+IMAGE ID\s+DIGEST\s+SIZE$/);
    expect(ls.stdout).toMatch(/docker\.io\/library\/busybox\s+latest\s+[0-9a-f]{13}\s+[0-9a-f]{13}\s+1\.\d+MB/);

    const info = (await new ImageStore({ root }).get("busybox"))!;
    expect(info.config.cmd).toEqual(["sh"]);
    expect(info.layers).toHaveLength(1);
    const layer = info.layers[0]!;
    expect((await fs.stat(path.join(layer, "bin/busybox"))).mode & 0o111).not.toBe(0);
    expect(await fs.readlink(path.join(layer, "bin/sh"))).toBe("/bin/busybox");
    expect(await fs.readFile(path.join(layer, "etc/passwd"), "utf8")).toMatch(/^root:x:0:0:/);
    expect((await fs.stat(path.join(layer, "tmp"))).mode & 0o7777).toBe(0o1777);
    const { stdout } = await sh("chroot", [layer, "/bin/sh", "-c", "echo hello from $(whoami)"]);
    expect(stdout).toBe("hello from root\n");

    const rm = await corekubeImages(["rm", "busybox", "--root", root]);
    expect(rm).toMatchObject({ code: 0, stdout: "deleted docker.io/library/busybox:latest\n" });
    const rmAgain = await corekubeImages(["rm", "busybox", "--root", root]);
    expect(rmAgain.code).toBe(1);
    expect(rmAgain.stderr).toMatch(/no image "busybox"/);
  });

  it("imports a tar of the layout under --name, and says why a bad path fails", async () => {
    const tarFile = path.join(dir, "busybox-oci.tar");
    await sh("tar", ["-cf", tarFile, "-C", path.join(dir, "busybox-oci"), "."]);
    const root = path.join(dir, "store-tar");
    const imp = await corekubeImages(["import", tarFile, "--name", "example.com/tools/busybox:v1", "--root", root]);
    expect(imp.code).toBe(0);
    expect(imp.stdout).toMatch(/^imported example\.com\/tools\/busybox:v1 /);
    expect(await fs.readdir(path.join(root, "tmp"))).toEqual([]);

    const bad = await corekubeImages(["import", path.join(dir, "registry.yml"), "--root", root]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/not a readable tar of an OCI layout|not an OCI image layout/);
    const usageErr = await corekubeImages(["frobnicate", "--root", root]);
    expect(usageErr.code).not.toBe(0);
  });
});

describe("pulling from a registry", () => {
  it("pulls busybox:1 pushed by skopeo: verified blobs, unpacked rootfs, the config's cmd", async () => {
    const store = new ImageStore({ root: path.join(dir, "store-pull") });
    const info = await pullImage(store, `${regHost}/busybox:1`);
    expect(info.ref).toBe(`${regHost}/busybox:1`);
    expect(info.config.cmd).toEqual(["sh"]);
    expect(info.config.env).toContain("PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
    expect(existsSync(path.join(info.layers[0]!, "bin/busybox"))).toBe(true);
    // Same bytes as the layout's layer: the registry round trip changed nothing.
    const layoutIndex = JSON.parse(await fs.readFile(path.join(dir, "busybox-oci/index.json"), "utf8"));
    expect(info.digest).toBe(layoutIndex.manifests[0].digest);
    const { stdout } = await sh("chroot", [info.layers[0]!, "/bin/busybox", "cat", "/etc/group"]);
    expect(stdout).toMatch(/^root:x:0:/);
  });

  it("pulls a two-layer image in order, with the second layer's whiteout as an overlay whiteout", async () => {
    const store = new ImageStore({ root: path.join(dir, "store-two") });
    const info = await pullImage(store, `${regHost}/twolayer:1`);
    expect(info.config.cmd).toEqual(["/bin/sh", "-c", "echo two"]);
    expect(info.layers).toHaveLength(2);
    const [base, top] = info.layers as [string, string];
    expect(await fs.readFile(path.join(base, "etc/gone"), "utf8")).toBe("in layer 1 only\n");
    expect(existsSync(path.join(base, "data/new"))).toBe(false);
    expect(await fs.readFile(path.join(top, "data/new"), "utf8")).toBe("from layer 2\n");
    const wh = await fs.lstat(path.join(top, "etc/gone"));
    expect(wh.isCharacterDevice() && wh.rdev === 0).toBe(true);

    const merged = await overlay(info.layers);
    if (!merged) {
      console.warn("overlay mounts are not possible here; skipped the merged view");
      return;
    }
    expect(existsSync(path.join(merged, "etc/gone"))).toBe(false);
    expect(await fs.readFile(path.join(merged, "etc/keep"), "utf8")).toBe("kept\n");
    expect(await fs.readFile(path.join(merged, "data/new"), "utf8")).toBe("from layer 2\n");
    const { stdout } = await sh("chroot", [merged, ...info.config.cmd]);
    expect(stdout).toBe("two\n");
  });

  it("resolves an OCI index to this host's platform", async () => {
    const store = new ImageStore({ root: path.join(dir, "store-index") });
    const info = await pullImage(store, `${regHost}/busybox:multi`);
    expect(info.config.cmd).toEqual(["sh"]);
    expect(info.digest).toBe((await manifestDigest(regHost, "busybox", "1")).digest);
    // The index is kept beside the image, and gc keeps it while the name exists.
    const r = await store.gc(new Set());
    expect(r.removedBlobs).toEqual([]);
  });

  it("fails a missing tag, a missing repository and an unreachable registry with clear ErrImagePull messages", async () => {
    const store = new ImageStore({ root: path.join(dir, "store-errors") });
    const missing = await pullImage(store, `${regHost}/busybox:nope`).catch((e) => e);
    expect(missing).toBeInstanceOf(ImagePullError);
    expect(missing.message).toBe(`failed to pull image "${regHost}/busybox:nope": manifest unknown`);
    expect(missing.code).toBe("NotFound");

    const noRepo = await pullImage(store, `${regHost}/no/such/repo:1`).catch((e) => e);
    expect(noRepo.message).toMatch(/^failed to pull image ".*no\/such\/repo:1": (manifest unknown|repository name not known)/);

    const closed = await freePort();
    const down = await pullImage(store, `127.0.0.1:${closed}/busybox:1`).catch((e) => e);
    expect(down.code).toBe("RegistryUnavailable");
    expect(down.message).toMatch(new RegExp(`^failed to pull image "127.0.0.1:${closed}/busybox:1": cannot reach registry .*ECONNREFUSED`));

    const badName = await pullImage(store, "Busybox").catch((e) => e);
    expect(badName.code).toBe("InvalidImageName");
    expect(await store.list()).toEqual([]);
  });

  it("answers a Bearer challenge with a token got with the imagePullSecret's credentials", async () => {
    const store = new ImageStore({ root: path.join(dir, "store-bearer") });
    const secret = { auths: { [proxyHost]: { auth: Buffer.from(`${USER}:${PASS}`).toString("base64") } } };
    tokenRequests.length = 0;
    const info = await pullImage(store, `${proxyHost}/busybox:1`, { auth: secret });
    expect(info.config.cmd).toEqual(["sh"]);
    expect(tokenRequests[0]).toEqual({ service: "ck-test-registry", scope: "repository:busybox:pull", authorized: true });

    const anonymous = await pullImage(new ImageStore({ root: path.join(dir, "store-anon") }), `${proxyHost}/busybox:1`).catch((e) => e);
    expect(anonymous).toBeInstanceOf(ImagePullError);
    expect(anonymous.code).toBe("Unauthorized");
    expect(anonymous.message).toMatch(new RegExp(`^failed to pull image "${proxyHost}/busybox:1": unauthorized`));

    const wrong = { auths: { [proxyHost]: { auth: Buffer.from(`${USER}:nope`).toString("base64") } } };
    const refused = await pullImage(new ImageStore({ root: path.join(dir, "store-wrong") }), `${proxyHost}/busybox:1`, { auth: wrong }).catch((e) => e);
    expect(refused.code).toBe("Unauthorized");
  });

  it("merges concurrent pulls of the same image into one", async () => {
    const store = new ImageStore({ root: path.join(dir, "store-dedup") });
    const puller = new ImagePuller(store);
    const secret = { auths: { [proxyHost]: { auth: Buffer.from(`${USER}:${PASS}`).toString("base64") } } };
    proxiedManifestGets.clear();
    try {
      const [a, b, c] = await Promise.all([
        puller.pull(`${proxyHost}/twolayer:1`, { auth: secret }),
        puller.pull(`${proxyHost}/twolayer:1`, { auth: secret }),
        puller.pull(`${proxyHost}/twolayer:1`, { auth: secret }),
      ]);
      expect(a).toBe(b);
      expect(b).toBe(c);
      expect(proxiedManifestGets.get("/v2/twolayer/manifests/1")).toBe(1);
    } finally {
      await puller.close();
    }
  });

  it("measures pulling busybox from the loopback registry (median of 10)", async () => {
    const full: number[] = [];
    const fetchOnly: number[] = [];
    for (let i = 0; i < 12; i++) {
      const fresh = new ImageStore({ root: path.join(dir, `bench-${i}`) });
      const p = new ImagePuller(fresh);
      let t = performance.now();
      const fetched = await p.fetchImage(`${regHost}/busybox:1`);
      const tFetch = performance.now() - t;
      await p.close();
      expect(fetched.bytesFetched).toBeGreaterThan(1_000_000);
      const fresh2 = new ImageStore({ root: path.join(dir, `bench-full-${i}`) });
      const p2 = new ImagePuller(fresh2);
      t = performance.now();
      const info = await p2.pull(`${regHost}/busybox:1`);
      const tFull = performance.now() - t;
      await p2.close();
      expect(existsSync(path.join(info.layers[0]!, "bin/busybox"))).toBe(true);
      if (i >= 2) {
        fetchOnly.push(tFetch);
        full.push(tFull);
      }
      await fs.rm(fresh.root, { recursive: true, force: true });
      await fs.rm(fresh2.root, { recursive: true, force: true });
    }
    console.log(
      `busybox pull from ${regHost} (n=10 after 2 warm-ups): fetch+verify+write blobs median ${median(fetchOnly).toFixed(1)} ms ` +
        `[${fetchOnly.map((x) => x.toFixed(1)).join(", ")}]; full pull incl. unpack median ${median(full).toFixed(1)} ms ` +
        `[${full.map((x) => x.toFixed(1)).join(", ")}]`,
    );
    expect(fetchOnly).toHaveLength(10);
  });
});
