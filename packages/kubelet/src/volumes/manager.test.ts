// Book 7.1-7.3 and 8.2: the volume manager with a fake API and a fake mounter: each plugin's files and
// modes, refreshes, errors as the kubelet reports them, and tearDown.
import { existsSync, lstatSync, mkdtempSync, readFileSync, readdirSync, readlinkSync, realpathSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Pod } from "@corekube/api";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { VolumeManager } from "./manager.js";
import { FakeMounter, FakeVolumeApi } from "./testing.js";
import { type Volume, VolumeError, type VolumeEvent } from "./types.js";

let root: string;
let api: FakeVolumeApi;
let mounter: FakeMounter;
let events: VolumeEvent[];
let clock: Date;
let vm: VolumeManager;

function manager(): VolumeManager {
  return new VolumeManager({
    rootDir: root,
    nodeName: "node-1",
    api,
    mounter,
    nodeAllocatable: { cpu: "8", memory: "16Gi" },
    onEvent: (_pod, e) => events.push(e),
    now: () => clock,
  });
}

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), "ck-volmgr-"));
  api = new FakeVolumeApi();
  mounter = new FakeMounter();
  events = [];
  clock = new Date("2026-01-01T00:00:00Z");
  vm = manager();
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

function podWith(volumes: Volume[], extra: Partial<Pod["spec"]> = {}, uid = "uid-1"): Pod {
  return {
    metadata: { name: "web", namespace: "shop", uid, labels: { app: "web" } },
    spec: { containers: [{ name: "app", resources: { limits: { cpu: "1500m", memory: "256Mi" } } }], volumes, ...extra },
  };
}

const volDir = (plugin: string, name: string, uid = "uid-1") => join(root, "pods", uid, "volumes", `kubernetes.io~${plugin}`, name);
const mode = (p: string) => statSync(p).mode & 0o7777;
const read = (p: string) => readFileSync(p, "utf8");
const isMounted = (p: string) => mounter.mounted.some((m) => m.mountPoint === realpathSync(p));

async function failure(p: Promise<unknown>): Promise<VolumeError> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(VolumeError);
    return e as VolumeError;
  }
  throw new Error("expected a VolumeError");
}

describe("configMap volumes", () => {
  it("projects every key as a 0644 file, through ..data links, on disk, read-only", async () => {
    api.setConfigMap("shop", "cfg", { "app.conf": "port=80\n", other: "x" }, { "bin.dat": Buffer.from([0, 1, 2]).toString("base64") });
    const pv = await vm.setUp(podWith([{ name: "c", configMap: { name: "cfg" } }]));
    const dir = volDir("configmap", "c");
    expect(pv.volumes.get("c")).toEqual({ name: "c", plugin: "configMap", path: dir, readOnly: true, tmpfs: false });
    expect(read(join(dir, "app.conf"))).toBe("port=80\n");
    expect(readFileSync(join(dir, "bin.dat"))).toEqual(Buffer.from([0, 1, 2]));
    expect(readlinkSync(join(dir, "app.conf"))).toBe("..data/app.conf");
    expect(mode(join(dir, "app.conf"))).toBe(0o644);
    expect(isMounted(dir)).toBe(false);
  });

  it("places items at their paths with their modes, or defaultMode", async () => {
    api.setConfigMap("shop", "cfg", { a: "A", b: "B", c: "C" });
    await vm.setUp(podWith([{ name: "c", configMap: { name: "cfg", defaultMode: 0o600, items: [{ key: "a", path: "dir/a.txt", mode: 0o400 }, { key: "b", path: "b.txt" }] } }]));
    const dir = volDir("configmap", "c");
    expect(readdirSync(dir).filter((n) => !n.startsWith("..")).sort()).toEqual(["b.txt", "dir"]);
    expect(read(join(dir, "dir", "a.txt"))).toBe("A");
    expect(mode(join(dir, "dir", "a.txt"))).toBe(0o400);
    expect(mode(join(dir, "b.txt"))).toBe(0o600);
  });

  it("reports a missing ConfigMap as FailedMount with upstream's message", async () => {
    const e = await failure(vm.setUp(podWith([{ name: "c", configMap: { name: "nope" } }])));
    expect(e.reason).toBe("FailedMount");
    expect(e.volume).toBe("c");
    expect(e.detail).toBe('configmap "nope" not found');
    expect(e.message).toBe('MountVolume.SetUp failed for volume "c" : configmap "nope" not found');
  });

  it("makes an empty volume for a missing optional ConfigMap and skips missing optional keys", async () => {
    await vm.setUp(podWith([{ name: "c", configMap: { name: "nope", optional: true } }]));
    expect(readdirSync(volDir("configmap", "c")).filter((n) => !n.startsWith(".."))).toEqual([]);
    api.setConfigMap("shop", "cfg", { a: "A" });
    await vm.setUp(podWith([{ name: "d", configMap: { name: "cfg", optional: true, items: [{ key: "a", path: "a" }, { key: "zz", path: "zz" }] } }]));
    expect(readdirSync(volDir("configmap", "d")).filter((n) => !n.startsWith(".."))).toEqual(["a"]);
  });

  it("fails on a missing key of a non-optional ConfigMap", async () => {
    api.setConfigMap("shop", "cfg", { a: "A" });
    const e = await failure(vm.setUp(podWith([{ name: "c", configMap: { name: "cfg", items: [{ key: "zz", path: "zz" }] } }])));
    expect(e.detail).toBe('configmap "cfg" references non-existent config key: zz');
  });

  it("refreshes the files on a later setUp when the ConfigMap changed, and leaves them alone when not", async () => {
    api.setConfigMap("shop", "cfg", { a: "one", b: "gone soon" });
    const pod = podWith([{ name: "c", configMap: { name: "cfg" } }]);
    await vm.setUp(pod);
    const dir = volDir("configmap", "c");
    const v1 = readlinkSync(join(dir, "..data"));
    await vm.setUp(pod);
    expect(readlinkSync(join(dir, "..data"))).toBe(v1);
    api.setConfigMap("shop", "cfg", { a: "two" });
    await vm.setUp(pod);
    expect(read(join(dir, "a"))).toBe("two");
    expect(existsSync(join(dir, "b"))).toBe(false);
    expect(readlinkSync(join(dir, "..data"))).not.toBe(v1);
  });

  it("turns an unreachable API server into a FailedMount, and one with no client into a clear error", async () => {
    api.failWith = new Error("connect ECONNREFUSED");
    const e = await failure(vm.setUp(podWith([{ name: "c", configMap: { name: "cfg" } }])));
    expect(e.detail).toMatch(/cannot get configmap "cfg" in namespace "shop": connect ECONNREFUSED/);
    const bare = new VolumeManager({ rootDir: root, nodeName: "n", mounter });
    const e2 = await failure(bare.setUp(podWith([{ name: "c", configMap: { name: "cfg" } }])));
    expect(e2.detail).toMatch(/no API client/);
  });
});

describe("secret volumes", () => {
  it("decodes the data onto a tmpfs, 0644 by default", async () => {
    api.setSecret("shop", "creds", { password: "s3cret" });
    const pv = await vm.setUp(podWith([{ name: "s", secret: { secretName: "creds" } }]));
    const dir = volDir("secret", "s");
    expect(pv.volumes.get("s")).toMatchObject({ plugin: "secret", readOnly: true, tmpfs: true });
    expect(isMounted(dir)).toBe(true);
    expect(read(join(dir, "password"))).toBe("s3cret");
    expect(mode(join(dir, "password"))).toBe(0o644);
  });

  it("sizes the tmpfs by the pod's memory limit when that is below node allocatable", async () => {
    api.setSecret("shop", "creds", { k: "v" });
    await vm.setUp(podWith([{ name: "s", secret: { secretName: "creds" } }]));
    expect(mounter.calls).toEqual([`mount ${realpathSync(volDir("secret", "s"))} ${256 * 1024 * 1024}`]);
  });

  it("mounts the tmpfs once across syncs", async () => {
    api.setSecret("shop", "creds", { k: "v" });
    const pod = podWith([{ name: "s", secret: { secretName: "creds", defaultMode: 0o400 } }]);
    await vm.setUp(pod);
    await vm.setUp(pod);
    expect(mounter.calls.filter((c) => c.startsWith("mount"))).toHaveLength(1);
    expect(mode(join(volDir("secret", "s"), "k"))).toBe(0o400);
  });

  it('reports a missing Secret as `secret "x" not found`', async () => {
    const e = await failure(vm.setUp(podWith([{ name: "s", secret: { secretName: "x" } }])));
    expect(e.detail).toBe('secret "x" not found');
  });
});

describe("emptyDir volumes", () => {
  it("makes a world-writable directory on disk", async () => {
    const pv = await vm.setUp(podWith([{ name: "scratch", emptyDir: {} }]));
    const dir = volDir("empty-dir", "scratch");
    expect(pv.volumes.get("scratch")).toMatchObject({ path: dir, readOnly: false, tmpfs: false });
    expect(mode(dir)).toBe(0o777);
    expect(mounter.calls).toEqual([]);
  });

  it("mounts medium Memory as a tmpfs limited by sizeLimit", async () => {
    await vm.setUp(podWith([{ name: "m", emptyDir: { medium: "Memory", sizeLimit: "8Mi" } }]));
    expect(mounter.calls).toEqual([`mount ${realpathSync(volDir("empty-dir", "m"))} ${8 * 1024 * 1024}`]);
  });

  it("caps a Memory emptyDir without sizeLimit at node allocatable memory when containers set no limit", async () => {
    const pod = podWith([{ name: "m", emptyDir: { medium: "Memory" } }]);
    pod.spec.containers = [{ name: "app" }];
    await vm.setUp(pod);
    expect(mounter.calls).toEqual([`mount ${realpathSync(volDir("empty-dir", "m"))} ${16 * 1024 ** 3}`]);
  });

  it("refuses media it does not have", async () => {
    const e = await failure(vm.setUp(podWith([{ name: "h", emptyDir: { medium: "HugePages" } }])));
    expect(e.detail).toMatch(/medium "HugePages" is not supported/);
    const e2 = await failure(vm.setUp(podWith([{ name: "h", emptyDir: { medium: "Disk" } }])));
    expect(e2.detail).toMatch(/invalid emptyDir medium "Disk"/);
  });
});

describe("hostPath volumes", () => {
  it("points at the host path itself and reports type check failures", async () => {
    const host = join(root, "host-data");
    const pv = await vm.setUp(podWith([{ name: "h", hostPath: { path: host, type: "DirectoryOrCreate" } }]));
    expect(pv.volumes.get("h")).toEqual({ name: "h", plugin: "hostPath", path: host, readOnly: false, tmpfs: false });
    expect(statSync(host).isDirectory()).toBe(true);
    writeFileSync(join(root, "afile"), "");
    const e = await failure(vm.setUp(podWith([{ name: "h", hostPath: { path: join(root, "afile"), type: "Directory" } }])));
    expect(e.message).toBe(`MountVolume.SetUp failed for volume "h" : hostPath type check failed: ${join(root, "afile")} is not a directory`);
  });
});

describe("downwardAPI volumes", () => {
  const downward: Volume = {
    name: "info",
    downwardAPI: {
      items: [
        { path: "labels", fieldRef: { fieldPath: "metadata.labels" } },
        { path: "name", fieldRef: { fieldPath: "metadata.name" } },
        { path: "cpu", resourceFieldRef: { containerName: "app", resource: "limits.cpu", divisor: "1m" } },
        { path: "mem", resourceFieldRef: { containerName: "app", resource: "limits.memory", divisor: "1Mi" }, mode: 0o600 },
      ],
    },
  };

  it("writes metadata and scaled resources, and follows label changes", async () => {
    const pod = podWith([downward]);
    await vm.setUp(pod);
    const dir = volDir("downward-api", "info");
    expect(read(join(dir, "labels"))).toBe('app="web"');
    expect(read(join(dir, "name"))).toBe("web");
    expect(read(join(dir, "cpu"))).toBe("1500");
    expect(read(join(dir, "mem"))).toBe("256");
    expect(mode(join(dir, "mem"))).toBe(0o600);
    pod.metadata.labels = { app: "web", version: "2" };
    await vm.setUp(pod);
    expect(read(join(dir, "labels"))).toBe('app="web"\nversion="2"');
  });

  it("refuses fields a volume cannot show", async () => {
    const e = await failure(vm.setUp(podWith([{ name: "i", downwardAPI: { items: [{ path: "n", fieldRef: { fieldPath: "status.podIP" } }] } }])));
    expect(e.detail).toMatch(/unsupported fieldRef fieldPath "status.podIP"/);
  });
});

describe("projected volumes", () => {
  const kubeApiAccess = (expirationSeconds = 3607): Volume => ({
    name: "kube-api-access",
    projected: {
      defaultMode: 0o644,
      sources: [
        { serviceAccountToken: { path: "token", expirationSeconds, audience: "api" } },
        { configMap: { name: "kube-root-ca.crt", items: [{ key: "ca.crt", path: "ca.crt" }] } },
        { downwardAPI: { items: [{ path: "namespace", fieldRef: { fieldPath: "metadata.namespace" } }] } },
      ],
    },
  });

  it("writes a bound token, the cluster CA and the namespace onto a tmpfs", async () => {
    api.setConfigMap("shop", "kube-root-ca.crt", { "ca.crt": "PEM" });
    api.issueToken = () => ({ token: "tok-1", expirationTimestamp: "2026-01-01T01:00:07Z" });
    const pod = podWith([kubeApiAccess()], { serviceAccountName: "builder" });
    const pv = await vm.setUp(pod);
    const dir = volDir("projected", "kube-api-access");
    expect(pv.volumes.get("kube-api-access")).toMatchObject({ readOnly: true, tmpfs: true });
    expect(isMounted(dir)).toBe(true);
    expect(read(join(dir, "token"))).toBe("tok-1");
    expect(read(join(dir, "ca.crt"))).toBe("PEM");
    expect(read(join(dir, "namespace"))).toBe("shop");
    expect(api.tokenRequests).toEqual([
      {
        namespace: "shop",
        serviceAccount: "builder",
        spec: { audiences: ["api"], expirationSeconds: 3607, boundObjectRef: { apiVersion: "v1", kind: "Pod", name: "web", uid: "uid-1" } },
      },
    ]);
    expect(events).toEqual([]);
  });

  it("reuses a token until 80% of its life has passed, then requests a new one", async () => {
    let n = 0;
    api.issueToken = () => ({ token: `tok-${++n}`, expirationTimestamp: new Date(clock.getTime() + 1000_000).toISOString() });
    const pod = podWith([kubeApiAccess(1000)]);
    await vm.setUp(pod);
    clock = new Date(clock.getTime() + 700_000);
    await vm.setUp(pod);
    expect(read(join(volDir("projected", "kube-api-access"), "token"))).toBe("tok-1");
    clock = new Date(clock.getTime() + 150_000);
    await vm.setUp(pod);
    expect(read(join(volDir("projected", "kube-api-access"), "token"))).toBe("tok-2");
    expect(api.tokenRequests).toHaveLength(2);
  });

  it("leaves the token out with one warning event when the server has no token subresource, and skips an absent kube-root-ca.crt", async () => {
    api.issueToken = () => undefined;
    const pod = podWith([kubeApiAccess()]);
    const pv = await vm.setUp(pod);
    await vm.setUp(pod);
    const dir = volDir("projected", "kube-api-access");
    expect(readdirSync(dir).filter((n) => !n.startsWith(".."))).toEqual(["namespace"]);
    expect(pv.events).toHaveLength(1);
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ type: "Warning", reason: "ServiceAccountTokenUnavailable" });
    expect(events[0]!.message).toMatch(/kube-api-access/);
  });

  it("still requires other ConfigMaps and Secrets unless optional", async () => {
    const e = await failure(vm.setUp(podWith([{ name: "p", projected: { sources: [{ secret: { name: "missing" } }] } }])));
    expect(e.detail).toBe('secret "missing" not found');
    await vm.setUp(podWith([{ name: "p", projected: { sources: [{ secret: { name: "missing", optional: true } }] } }]));
  });
});

describe("errors", () => {
  it("names an unknown volume type, still prepares the other volumes, and reports every failure", async () => {
    const pod = podWith([
      { name: "ok", emptyDir: {} },
      { name: "claim", persistentVolumeClaim: { claimName: "data" } },
      { name: "cfg", configMap: { name: "absent" } },
    ]);
    const e = await failure(vm.setUp(pod));
    expect(e.reason).toBe("FailedMount");
    expect(e.failures.map((f) => f.volume)).toEqual(["claim", "cfg"]);
    expect(e.failures[0]!.detail).toMatch(/volume type "persistentVolumeClaim" is not supported by this kubelet/);
    expect(e.message).toContain('configmap "absent" not found');
    expect(statSync(volDir("empty-dir", "ok")).isDirectory()).toBe(true);
  });

  it("refuses volumes with no source, two sources or an unsafe name, and pods without a usable UID", async () => {
    expect((await failure(vm.setUp(podWith([{ name: "x" }])))).detail).toMatch(/sets no volume source/);
    expect((await failure(vm.setUp(podWith([{ name: "x", emptyDir: {}, hostPath: { path: "/tmp" } }])))).detail).toMatch(/more than one volume source \(emptyDir, hostPath\)/);
    expect((await failure(vm.setUp(podWith([{ name: "../x", emptyDir: {} }])))).detail).toMatch(/invalid volume name/);
    expect((await failure(vm.setUp(podWith([], {}, "../../etc")))).detail).toMatch(/invalid pod UID/);
    expect((await failure(vm.tearDown(""))).detail).toMatch(/invalid pod UID/);
  });
});

describe("tearDown", () => {
  it("unmounts every tmpfs and removes the pod's volume directories; repeating it is harmless", async () => {
    api.setSecret("shop", "creds", { k: "v" });
    api.setConfigMap("shop", "cfg", { k: "v" });
    const pod = podWith([
      { name: "s", secret: { secretName: "creds" } },
      { name: "m", emptyDir: { medium: "Memory" } },
      { name: "c", configMap: { name: "cfg" } },
      { name: "d", emptyDir: {} },
    ]);
    await vm.setUp(pod);
    expect(mounter.mounted).toHaveLength(2);
    await vm.tearDown("uid-1");
    expect(mounter.mounted).toEqual([]);
    expect(existsSync(join(root, "pods", "uid-1"))).toBe(false);
    await vm.tearDown("uid-1");
    await vm.tearDown("never-seen");
  });

  it("works for a pod set up before a restart, from the mount table alone", async () => {
    await vm.setUp(podWith([{ name: "m", emptyDir: { medium: "Memory" } }], {}, "uid-2"));
    const restarted = manager();
    expect(await restarted.podUidsOnDisk()).toEqual(["uid-2"]);
    await restarted.tearDown("uid-2");
    expect(mounter.mounted).toEqual([]);
    expect(await restarted.podUidsOnDisk()).toEqual([]);
  });

  it("keeps the pod directory when other kubelet parts still use it", async () => {
    await vm.setUp(podWith([{ name: "d", emptyDir: {} }]));
    writeFileSync(join(root, "pods", "uid-1", "etc-hosts"), "");
    await vm.tearDown("uid-1");
    expect(readdirSync(join(root, "pods", "uid-1"))).toEqual(["etc-hosts"]);
  });

  it("refuses to remove anything while a mount stays, with FailedUnmount", async () => {
    await vm.setUp(podWith([{ name: "m", emptyDir: { medium: "Memory" } }]));
    writeFileSync(join(volDir("empty-dir", "m"), "data"), "keep");
    mounter.unmount = async () => {
      throw new Error("target is busy");
    };
    const e = await failure(vm.tearDown("uid-1"));
    expect(e.reason).toBe("FailedUnmount");
    expect(e.message).toMatch(/still mounted: .*empty-dir\/m \(target is busy\)/);
    expect(lstatSync(join(volDir("empty-dir", "m"), "data")).isFile()).toBe(true);
  });
});
