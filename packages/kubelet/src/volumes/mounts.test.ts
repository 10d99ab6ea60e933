// Book 7.1-7.2: volumeMounts → runtime mounts: read-only rules, subPath and subPathExpr, propagation.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Container, Pod } from "@corekube/api";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { type PodVolumes, VolumeManager } from "./manager.js";
import { FakeMounter, FakeVolumeApi } from "./testing.js";
import { type VolumeMount, VolumeError } from "./types.js";

let root: string;
let vm: VolumeManager;
let pod: Pod;
let pv: PodVolumes;

beforeEach(async () => {
  root = mkdtempSync(join(tmpdir(), "ck-mounts-"));
  const api = new FakeVolumeApi();
  api.setConfigMap("default", "cfg", { "nginx.conf": "events {}\n" });
  vm = new VolumeManager({ rootDir: root, nodeName: "n", api, mounter: new FakeMounter() });
  mkdirSync(join(root, "host"));
  pod = {
    metadata: { name: "p", namespace: "default", uid: "u1" },
    spec: {
      containers: [],
      volumes: [
        { name: "data", emptyDir: {} },
        { name: "cfg", configMap: { name: "cfg" } },
        { name: "host", hostPath: { path: join(root, "host") } },
      ],
    },
  };
  pv = await vm.setUp(pod);
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

const container = (volumeMounts: VolumeMount[], extra: Partial<Container> = {}): Container => ({ name: "app", volumeMounts, ...extra });
const mounts = (c: Container, env?: Record<string, string>) => vm.mountsFor(pod, c, pv, env);
function configError(fn: () => unknown): VolumeError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(VolumeError);
    expect((e as VolumeError).reason).toBe("CreateContainerConfigError");
    return e as VolumeError;
  }
  throw new Error("expected a VolumeError");
}
const dataDir = () => pv.volumes.get("data")!.path;

describe("mountsFor", () => {
  it("maps each volumeMount to its host path; configMap volumes are read-only whatever the mount says", () => {
    expect(
      mounts(
        container([
          { name: "data", mountPath: "/data" },
          { name: "data", mountPath: "/ro", readOnly: true },
          { name: "cfg", mountPath: "/etc/nginx", readOnly: false },
          { name: "host", mountPath: "/host", mountPropagation: "HostToContainer" },
        ]),
      ),
    ).toEqual([
      { hostPath: dataDir(), containerPath: "/data", readonly: false },
      { hostPath: dataDir(), containerPath: "/ro", readonly: true },
      { hostPath: pv.volumes.get("cfg")!.path, containerPath: "/etc/nginx", readonly: true },
      { hostPath: join(root, "host"), containerPath: "/host", readonly: false, propagation: "PROPAGATION_HOST_TO_CONTAINER" },
    ]);
  });

  it("creates a missing subPath directory inside the volume with the volume's mode", () => {
    const [m] = mounts(container([{ name: "data", mountPath: "/d", subPath: "a/b" }]));
    expect(m!.hostPath).toBe(join(dataDir(), "a", "b"));
    expect(statSync(m!.hostPath).isDirectory()).toBe(true);
    expect(statSync(join(dataDir(), "a")).mode & 0o777).toBe(0o777);
  });

  it("mounts one configMap key by subPath as the file itself", () => {
    const [m] = mounts(container([{ name: "cfg", mountPath: "/etc/nginx/nginx.conf", subPath: "nginx.conf" }]));
    expect(readFileSync(m!.hostPath, "utf8")).toBe("events {}\n");
    expect(m!.hostPath).toMatch(/\/\.\.\d{4}_.*\/nginx\.conf$/);
    expect(m!.readonly).toBe(true);
  });

  it("expands subPathExpr from the container's env, or from the env passed in", () => {
    const c = container([{ name: "data", mountPath: "/logs", subPathExpr: "logs/$(POD_NAME)" }], {
      env: [{ name: "POD_NAME", valueFrom: { fieldRef: { fieldPath: "metadata.name" } } }],
    });
    expect(mounts(c)[0]!.hostPath).toBe(join(dataDir(), "logs", "p"));
    expect(mounts(c, { POD_NAME: "other" })[0]!.hostPath).toBe(join(dataDir(), "logs", "other"));
    const lit = container([{ name: "data", mountPath: "/x", subPathExpr: "$(A)-$(B)" }], { env: [{ name: "A", value: "a" }, { name: "B", value: "$(A)b" }] });
    expect(mounts(lit)[0]!.hostPath).toBe(join(dataDir(), "a-ab"));
  });

  it("refuses a subPathExpr with unset variables", () => {
    const e = configError(() => mounts(container([{ name: "data", mountPath: "/x", subPathExpr: "$(NOPE)/$(EMPTY)" }], { env: [{ name: "EMPTY", value: "" }] })));
    expect(e.message).toMatch(/missing value for EMPTY, NOPE/);
  });

  it("refuses absolute subPaths and '..' with clear errors", () => {
    expect(configError(() => mounts(container([{ name: "data", mountPath: "/x", subPath: "/etc" }]))).message).toBe(
      'subPath "/etc" of volumeMount "data" of container "app" must not be an absolute path',
    );
    expect(configError(() => mounts(container([{ name: "data", mountPath: "/x", subPath: "a/../../b" }]))).message).toMatch(/must not contain '\.\.'/);
    expect(configError(() => mounts(container([{ name: "data", mountPath: "/x", subPathExpr: "$(D)" }]), { D: "../up" })).message).toMatch(/must not contain '\.\.'/);
  });

  it("refuses a subPath that leaves the volume through a symlink", () => {
    symlinkSync("/etc", join(dataDir(), "escape"));
    expect(configError(() => mounts(container([{ name: "data", mountPath: "/x", subPath: "escape" }]))).message).toMatch(/resolves outside the volume/);
    symlinkSync("inside", join(dataDir(), "ok-link"));
    mkdirSync(join(dataDir(), "inside"));
    expect(mounts(container([{ name: "data", mountPath: "/x", subPath: "ok-link/deeper" }]))[0]!.hostPath).toBe(join(dataDir(), "inside", "deeper"));
  });

  it("refuses unknown volumes, relative mount paths, both subPath kinds, and Bidirectional for unprivileged containers", () => {
    expect(configError(() => mounts(container([{ name: "ghost", mountPath: "/g" }]))).message).toBe('cannot find volume "ghost" to mount into container "app"');
    expect(configError(() => mounts(container([{ name: "data", mountPath: "rel" }]))).message).toMatch(/must be an absolute path/);
    expect(configError(() => mounts(container([{ name: "data", mountPath: "/x", subPath: "a", subPathExpr: "b" }]))).message).toMatch(/both subPath and subPathExpr/);
    expect(configError(() => mounts(container([{ name: "host", mountPath: "/h", mountPropagation: "Bidirectional" }]))).message).toMatch(/only to privileged containers/);
    const priv = container([{ name: "host", mountPath: "/h", mountPropagation: "Bidirectional" }], { securityContext: { privileged: true } });
    expect(mounts(priv)[0]!.propagation).toBe("PROPAGATION_BIDIRECTIONAL");
  });
});
