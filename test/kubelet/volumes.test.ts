// Book 7.2-7.3 and 8.2: the kubelet's volume manager as root on this machine: Memory emptyDirs and
// secret volumes are real tmpfs mounts with their size limits, ConfigMaps and Secrets come from a real
// API server, and tearDown leaves no mount and no directory behind.
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, readdirSync, realpathSync, rmSync, statfsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Pod } from "@corekube/api";
import { CONFIGMAPS, RestClient, SECRETS } from "@corekube/client";
import {
  FakeVolumeApi,
  type MountInfo,
  SystemMounter,
  TOKEN_UNAVAILABLE_REASON,
  VolumeError,
  type VolumeEvent,
  VolumeManager,
  mountsUnder,
  parseMountInfo,
} from "@corekube/kubelet/volumes/index";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { type ControlPlane, startControlPlane } from "../support/apiserver-process.js";

function canMount(): boolean {
  if (process.getuid?.() !== 0) return false;
  const probe = mkdtempSync(join(tmpdir(), "ck-vol-probe-"));
  try {
    execFileSync("mount", ["-t", "tmpfs", "-o", "size=1m", "tmpfs", probe], { stdio: "ignore" });
    execFileSync("umount", [probe], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  } finally {
    rmSync(probe, { recursive: true, force: true });
  }
}

const usable = canMount();
if (!usable) console.warn("skipping volume integration tests: needs root and mount(8) for tmpfs");

const mountTable = (): MountInfo[] => parseMountInfo(readFileSync("/proc/self/mountinfo", "utf8"));
const roots: string[] = [];

/** Unmounts whatever a failed test left under `dir`, then removes it. */
function scrub(dir: string): void {
  if (!existsSync(dir)) return;
  const real = realpathSync(dir);
  for (const m of mountsUnder(mountTable(), real)) {
    try {
      execFileSync("umount", ["-l", m.mountPoint], { stdio: "ignore" });
    } catch {
      // already gone
    }
  }
  rmSync(dir, { recursive: true, force: true });
}

function newRoot(): string {
  const d = mkdtempSync(join(tmpdir(), "ck-volumes-"));
  roots.push(d);
  return d;
}

afterEach(() => {
  for (const d of roots.splice(0)) scrub(d);
});

function pod(uid: string, volumes: unknown[], memoryLimit = "128Mi"): Pod {
  return {
    metadata: { name: "vol-test", namespace: "default", uid, labels: { app: "vol" } },
    spec: { containers: [{ name: "app", resources: { limits: { memory: memoryLimit } } }], volumes },
  };
}

describe.skipIf(!usable)("volume manager on a real host", () => {
  it("mounts a Memory emptyDir as a tmpfs of sizeLimit and secret volumes as tmpfs; tearDown leaves nothing", async () => {
    const root = newRoot();
    const api = new FakeVolumeApi();
    api.setSecret("default", "creds", { password: "hunter2" });
    const vm = new VolumeManager({ rootDir: root, nodeName: "n1", api });
    const p = pod("uid-a", [
      { name: "cache", emptyDir: { medium: "Memory", sizeLimit: "8Mi" } },
      { name: "creds", secret: { secretName: "creds", defaultMode: 0o400 } },
      { name: "disk", emptyDir: {} },
    ]);
    const pv = await vm.setUp(p);
    const realRoot = realpathSync(root);
    const cache = pv.volumes.get("cache")!.path;
    const creds = pv.volumes.get("creds")!.path;

    const mine = mountsUnder(mountTable(), realRoot);
    expect(mine.map((m) => [m.mountPoint, m.fsType]).sort()).toEqual([
      [realpathSync(cache), "tmpfs"],
      [realpathSync(creds), "tmpfs"],
    ]);
    const fs = statfsSync(cache);
    expect(fs.blocks * fs.bsize).toBe(8 * 1024 * 1024);
    // Without a sizeLimit the secret's tmpfs is capped at the pod's memory limit.
    const sfs = statfsSync(creds);
    expect(sfs.blocks * sfs.bsize).toBe(128 * 1024 * 1024);
    expect(readFileSync(join(creds, "password"), "utf8")).toBe("hunter2");

    // A second sync (or a restarted kubelet) mounts nothing more.
    await new VolumeManager({ rootDir: root, nodeName: "n1", api }).setUp(p);
    expect(mountsUnder(mountTable(), realRoot)).toHaveLength(2);

    // A restarted kubelet tears down from the mount table and the directory alone.
    await new VolumeManager({ rootDir: root, nodeName: "n1" }).tearDown("uid-a");
    expect(mountsUnder(mountTable(), realRoot)).toEqual([]);
    expect(readdirSync(join(root, "pods"))).toEqual([]);
    await vm.tearDown("uid-a");
  });

  it("also unmounts a tmpfs stacked on another and a bind mount someone left inside a volume", async () => {
    const root = newRoot();
    const vm = new VolumeManager({ rootDir: root, nodeName: "n1" });
    const pv = await vm.setUp(pod("uid-b", [{ name: "scratch", emptyDir: { medium: "Memory" } }]));
    const dir = pv.volumes.get("scratch")!.path;
    await new SystemMounter().mountTmpfs(dir, 1024n * 1024n);
    execFileSync("mkdir", ["-p", join(dir, "inner")]);
    execFileSync("mount", ["--bind", root, join(dir, "inner")]);
    expect(mountsUnder(mountTable(), realpathSync(root)).length).toBeGreaterThanOrEqual(3);
    await vm.tearDown("uid-b");
    expect(mountsUnder(mountTable(), realpathSync(root))).toEqual([]);
    expect(existsSync(join(root, "pods", "uid-b"))).toBe(false);
  });

  describe("against a real API server", () => {
    let cp: ControlPlane;
    let client: RestClient;

    beforeAll(async () => {
      cp = await startControlPlane();
      client = await RestClient.fromKubeconfig({ path: cp.kubeconfig, qps: 0 });
    }, 90_000);

    afterAll(async () => {
      await client?.close();
      await cp?.stop();
    });

    it("reads ConfigMaps and Secrets, follows updates, and warns instead of failing when tokens are not offered", async () => {
      const root = newRoot();
      const events: VolumeEvent[] = [];
      const vm = new VolumeManager({ rootDir: root, nodeName: "n1", client, onEvent: (_p, e) => events.push(e) });
      const cm = { metadata: { name: "web-config", namespace: "default" }, data: { "index.html": "v1" } };
      await client.resource(CONFIGMAPS).create(cm);
      await client.resource(SECRETS).create({ metadata: { name: "web-secret", namespace: "default" }, data: { token: Buffer.from("abc").toString("base64") } });

      const p = pod("uid-c", [
        { name: "site", configMap: { name: "web-config" } },
        { name: "secret", secret: { secretName: "web-secret" } },
        {
          name: "kube-api-access",
          projected: {
            sources: [
              { serviceAccountToken: { path: "token", expirationSeconds: 3607 } },
              { configMap: { name: "kube-root-ca.crt", items: [{ key: "ca.crt", path: "ca.crt" }] } },
              { downwardAPI: { items: [{ path: "namespace", fieldRef: { fieldPath: "metadata.namespace" } }] } },
            ],
          },
        },
      ]);
      try {
        const pv = await vm.setUp(p);
        const site = pv.volumes.get("site")!.path;
        expect(readFileSync(join(site, "index.html"), "utf8")).toBe("v1");
        expect(readFileSync(join(pv.volumes.get("secret")!.path, "token"), "utf8")).toBe("abc");
        const projected = pv.volumes.get("kube-api-access")!.path;
        expect(readFileSync(join(projected, "namespace"), "utf8")).toBe("default");
        const offersTokens = existsSync(join(projected, "token"));
        if (!offersTokens) expect(events.map((e) => e.reason)).toEqual([TOKEN_UNAVAILABLE_REASON]);

        const current = (await client.resource(CONFIGMAPS).get("web-config", "default")) as typeof cm;
        await client.resource(CONFIGMAPS).update({ ...current, data: { "index.html": "v2" } });
        await vm.setUp(p);
        expect(readFileSync(join(site, "index.html"), "utf8")).toBe("v2");

        const missing = pod("uid-d", [{ name: "cfg", configMap: { name: "no-such-config" } }]);
        const err = await vm.setUp(missing).then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(err).toBeInstanceOf(VolumeError);
        expect((err as VolumeError).message).toBe('MountVolume.SetUp failed for volume "cfg" : configmap "no-such-config" not found');
      } finally {
        await vm.tearDown("uid-c");
        await vm.tearDown("uid-d");
      }
      expect(mountsUnder(mountTable(), realpathSync(root))).toEqual([]);
      expect(readdirSync(join(root, "pods"))).toEqual([]);
    });
  });
});
