// Book 14.3 and 11.2: the ServiceAccount admission plugin on pod creation.
import { describe, expect, it } from "vitest";
import { isStatusError } from "@corekube/api";
import type { AdmissionRequest } from "../registry/admission.js";
import type { KubeObject, ResourceDef } from "../registry/types.js";
import { serviceAccountAdmission, tokenVolume } from "./service-account.js";

const podsDef = { group: "", version: "v1", resource: "pods", kind: "Pod" } as ResourceDef;
const MOUNT = { name: "kube-api-access-abcde", readOnly: true, mountPath: "/var/run/secrets/kubernetes.io/serviceaccount" };

function podReq(spec: Record<string, unknown>, extra: Partial<AdmissionRequest> = {}): AdmissionRequest {
  const obj: KubeObject = { apiVersion: "v1", kind: "Pod", metadata: { name: "web", namespace: "team" }, spec };
  return {
    operation: "CREATE",
    def: podsDef,
    subresource: "",
    namespace: "team",
    name: "web",
    obj,
    ctx: { user: { username: "u", groups: [] }, namespace: "team", now: new Date(), dryRun: false, warnings: [] },
    ...extra,
  };
}

function plugin(accounts: Record<string, KubeObject> = { default: { metadata: { name: "default", namespace: "team" } } }) {
  return serviceAccountAdmission({ get: async (_ns, name) => accounts[name] }, { suffix: () => "abcde" });
}

describe("ServiceAccount admission", () => {
  it("defaults the service account and mounts the token volume in every container", async () => {
    const req = podReq({ initContainers: [{ name: "i", image: "x" }], containers: [{ name: "a", image: "x", volumeMounts: [{ name: "data", mountPath: "/data" }] }, { name: "b", image: "x" }] });
    await plugin().mutate!(req);
    const spec = req.obj!.spec as any;
    expect(spec.serviceAccountName).toBe("default");
    expect(spec.serviceAccount).toBe("default");
    expect(spec.initContainers[0].volumeMounts).toEqual([MOUNT]);
    expect(spec.containers[0].volumeMounts).toEqual([{ name: "data", mountPath: "/data" }, MOUNT]);
    expect(spec.containers[1].volumeMounts).toEqual([MOUNT]);
    expect(spec.volumes).toEqual([
      {
        name: "kube-api-access-abcde",
        projected: {
          defaultMode: 420,
          sources: [
            { serviceAccountToken: { expirationSeconds: 3607, path: "token" } },
            { configMap: { name: "kube-root-ca.crt", items: [{ key: "ca.crt", path: "ca.crt" }] } },
            { downwardAPI: { items: [{ path: "namespace", fieldRef: { apiVersion: "v1", fieldPath: "metadata.namespace" } }] } },
          ],
        },
      },
    ]);
  });

  it("leaves containers that mount something at the token path alone", async () => {
    const own = { name: "mine", mountPath: "/var/run/secrets/kubernetes.io/serviceaccount" };
    const req = podReq({ containers: [{ name: "a", image: "x", volumeMounts: [own] }], volumes: [{ name: "mine", emptyDir: {} }] });
    await plugin().mutate!(req);
    const spec = req.obj!.spec as any;
    expect(spec.containers[0].volumeMounts).toEqual([own]);
    expect(spec.volumes).toEqual([{ name: "mine", emptyDir: {} }]);
  });

  it("respects automountServiceAccountToken: the pod's word over the account's", async () => {
    const accounts = { robot: { metadata: { name: "robot" }, automountServiceAccountToken: false } as KubeObject, default: { metadata: { name: "default" } } };
    const off = podReq({ serviceAccountName: "robot", containers: [{ name: "a", image: "x" }] });
    await plugin(accounts).mutate!(off);
    expect((off.obj!.spec as any).volumes).toBeUndefined();
    expect((off.obj!.spec as any).containers[0].volumeMounts).toBeUndefined();
    const podOn = podReq({ serviceAccountName: "robot", automountServiceAccountToken: true, containers: [{ name: "a", image: "x" }] });
    await plugin(accounts).mutate!(podOn);
    expect((podOn.obj!.spec as any).volumes).toEqual([tokenVolume("kube-api-access-abcde")]);
    const podOff = podReq({ automountServiceAccountToken: false, containers: [{ name: "a", image: "x" }] });
    await plugin(accounts).mutate!(podOff);
    expect((podOff.obj!.spec as any).volumes).toBeUndefined();
  });

  it("refuses a pod whose named service account does not exist, but not a missing default", async () => {
    const err = await Promise.resolve(plugin().mutate!(podReq({ serviceAccountName: "ghost", containers: [] }))).then(() => undefined, (e: unknown) => e);
    expect(isStatusError(err) && err.code).toBe(403);
    expect((err as Error).message).toBe('pods "web" is forbidden: error looking up service account team/ghost: serviceaccount "ghost" not found');
    const req = podReq({ containers: [{ name: "a", image: "x" }] });
    await plugin({}).mutate!(req);
    expect((req.obj!.spec as any).volumes).toHaveLength(1);
  });

  it("ignores updates, other resources and mirror pods", async () => {
    const upd = podReq({ containers: [{ name: "a", image: "x" }] }, { operation: "UPDATE" });
    await plugin().mutate!(upd);
    expect((upd.obj!.spec as any).serviceAccountName).toBeUndefined();
    const mirror = podReq({ containers: [{ name: "a", image: "x" }] });
    mirror.obj!.metadata.annotations = { "kubernetes.io/config.mirror": "abc" };
    await plugin().mutate!(mirror);
    expect((mirror.obj!.spec as any).volumes).toBeUndefined();
    const bad = podReq({ containers: "nope" });
    await expect(Promise.resolve(plugin().mutate!(bad))).resolves.toBeUndefined();
  });
});
