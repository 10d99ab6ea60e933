// Book 11.2 and 12.3: tests that the built-in schemas say what Kubernetes publishes — kinds and their
// lists, merge keys and strategies for strategic merge patch, list and map types for server-side apply.
import { describe, expect, it } from "vitest";
import { builtinSchemas } from "./builtin.js";
import { REF_PREFIX } from "./dsl.js";
import { createResolver } from "./resolver.js";
import type { Schema } from "./types.js";

const schemas = builtinSchemas();
const resolver = createResolver(schemas);

/** The schema of a field, following a dotted path of property names (and [] for array items). */
function field(root: string, path: string): Schema {
  let s: Schema | undefined = resolver.get(root);
  if (!s) throw new Error(`no schema ${root}`);
  for (const part of path.split(".")) {
    const isItems = part.endsWith("[]");
    const name = isItems ? part.slice(0, -2) : part;
    const r = resolver.resolve(s);
    s = r?.properties?.[name];
    if (!s) throw new Error(`no field ${name} in ${root}.${path}`);
    if (isItems) s = resolver.resolve(s)?.items;
  }
  return resolver.resolve(s)!;
}

const KINDS: [string, string, string][] = [
  ["", "v1", "Namespace"],
  ["", "v1", "Pod"],
  ["", "v1", "Service"],
  ["", "v1", "Endpoints"],
  ["", "v1", "ConfigMap"],
  ["", "v1", "Secret"],
  ["", "v1", "Node"],
  ["", "v1", "Event"],
  ["", "v1", "ServiceAccount"],
  ["", "v1", "PersistentVolume"],
  ["", "v1", "PersistentVolumeClaim"],
  ["", "v1", "ResourceQuota"],
  ["", "v1", "LimitRange"],
  ["apps", "v1", "Deployment"],
  ["apps", "v1", "ReplicaSet"],
  ["apps", "v1", "StatefulSet"],
  ["apps", "v1", "DaemonSet"],
  ["batch", "v1", "Job"],
  ["batch", "v1", "CronJob"],
  ["autoscaling", "v2", "HorizontalPodAutoscaler"],
  ["coordination.k8s.io", "v1", "Lease"],
  ["discovery.k8s.io", "v1", "EndpointSlice"],
  ["events.k8s.io", "v1", "Event"],
  ["networking.k8s.io", "v1", "NetworkPolicy"],
  ["storage.k8s.io", "v1", "StorageClass"],
  ["policy", "v1", "PodDisruptionBudget"],
  ["scheduling.k8s.io", "v1", "PriorityClass"],
  ["rbac.authorization.k8s.io", "v1", "Role"],
  ["rbac.authorization.k8s.io", "v1", "RoleBinding"],
  ["rbac.authorization.k8s.io", "v1", "ClusterRole"],
  ["rbac.authorization.k8s.io", "v1", "ClusterRoleBinding"],
  ["apiextensions.k8s.io", "v1", "CustomResourceDefinition"],
];

describe("builtinSchemas", () => {
  it.each(KINDS)("has %s/%s %s with its list, both tagged with their GVK", (group, version, kind) => {
    const root = resolver.forKind({ group, version, kind });
    expect(root, kind).toBeDefined();
    expect(root!.properties?.apiVersion?.type).toBe("string");
    expect(root!.properties?.kind?.type).toBe("string");
    expect(resolver.resolve(root!.properties?.metadata)?.properties?.name).toBeDefined();
    const list = resolver.forKind({ group, version, kind: `${kind}List` });
    expect(list?.required).toEqual(["items"]);
    expect(resolver.resolve(list!.properties!.items!.items)).toBe(root);
  });

  it("has the kinds without lists: Binding, Eviction, Scale, Status and DeleteOptions", () => {
    expect(resolver.forKind({ group: "", version: "v1", kind: "Binding" })?.properties?.target).toBeDefined();
    expect(resolver.forKind({ group: "policy", version: "v1", kind: "Eviction" })?.properties?.deleteOptions).toBeDefined();
    expect(resolver.forKind({ group: "autoscaling", version: "v1", kind: "Scale" })?.properties?.spec).toBeDefined();
    expect(resolver.forKind({ group: "", version: "v1", kind: "Status" })?.properties?.code).toBeDefined();
    const del = resolver.get("io.k8s.apimachinery.pkg.apis.meta.v1.DeleteOptions")!;
    const groups = del["x-kubernetes-group-version-kind"]!.map((g) => `${g.group}/${g.version}`);
    expect(groups).toContain("/v1");
    expect(groups).toContain("apps/v1");
    expect(resolver.forKind({ group: "batch", version: "v1", kind: "DeleteOptions" })).toBe(del);
  });

  it("resolves every $ref it contains", () => {
    const missing: string[] = [];
    const visit = (node: unknown): void => {
      if (Array.isArray(node)) node.forEach(visit);
      else if (typeof node === "object" && node !== null) {
        for (const [k, v] of Object.entries(node)) {
          if (k === "$ref" && typeof v === "string" && !resolver.get(v.slice(REF_PREFIX.length))) missing.push(v);
          else visit(v);
        }
      }
    };
    visit(schemas);
    expect(missing).toEqual([]);
  });

  it("describes every property, for kubectl explain", () => {
    const bare: string[] = [];
    for (const [name, s] of Object.entries(schemas)) {
      for (const [key, prop] of Object.entries(s.properties ?? {})) if (!prop.description) bare.push(`${name}.${key}`);
    }
    expect(bare).toEqual([]);
  });

  it("returns a fresh record each time, over frozen shared nodes", () => {
    const a = builtinSchemas();
    a["com.example.v1.Widget"] = { type: "object" };
    expect(builtinSchemas()["com.example.v1.Widget"]).toBeUndefined();
    expect(Object.isFrozen(a["io.k8s.api.core.v1.Pod"])).toBe(true);
  });

  describe("patch and apply metadata, as the Go types declare it", () => {
    const C = "io.k8s.api.core.v1.";
    it.each([
      [C + "PodSpec", "containers", "name", "merge", ["name"]],
      [C + "PodSpec", "initContainers", "name", "merge", ["name"]],
      [C + "PodSpec", "volumes", "name", "merge,retainKeys", ["name"]],
      [C + "PodSpec", "imagePullSecrets", "name", "merge", ["name"]],
      [C + "PodSpec", "topologySpreadConstraints", "topologyKey", "merge", ["topologyKey", "whenUnsatisfiable"]],
      [C + "Container", "env", "name", "merge", ["name"]],
      [C + "Container", "ports", "containerPort", "merge", ["containerPort", "protocol"]],
      [C + "Container", "volumeMounts", "mountPath", "merge", ["mountPath"]],
      [C + "ServiceSpec", "ports", "port", "merge", ["port", "protocol"]],
      [C + "NodeStatus", "conditions", "type", "merge", ["type"]],
      [C + "NodeStatus", "addresses", "type", "merge", ["type"]],
      [C + "PodStatus", "conditions", "type", "merge", ["type"]],
      ["io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta", "ownerReferences", "uid", "merge", ["uid"]],
      ["io.k8s.api.apps.v1.DeploymentStatus", "conditions", "type", "merge", ["type"]],
    ])("%s.%s merges by %s (%s) and is a map keyed by %j", (root, name, key, strategy, keys) => {
      const f = field(root, name);
      expect(f.type).toBe("array");
      expect(f["x-kubernetes-patch-merge-key"]).toBe(key);
      expect(f["x-kubernetes-patch-strategy"]).toBe(strategy);
      expect(f["x-kubernetes-list-type"]).toBe("map");
      expect(f["x-kubernetes-list-map-keys"]).toEqual(keys);
    });

    it("marks finalizers a merged set of strings", () => {
      const f = field("io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta", "finalizers");
      expect(f["x-kubernetes-patch-strategy"]).toBe("merge");
      expect(f["x-kubernetes-patch-merge-key"]).toBeUndefined();
      expect(f["x-kubernetes-list-type"]).toBe("set");
      expect(f.items?.type).toBe("string");
    });

    it("keeps atomic lists atomic", () => {
      expect(field(C + "PodSpec", "tolerations")["x-kubernetes-list-type"]).toBe("atomic");
      expect(field(C + "Container", "command")["x-kubernetes-list-type"]).toBe("atomic");
      expect(field(C + "Container", "args")["x-kubernetes-list-type"]).toBe("atomic");
      expect(field("io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta", "managedFields")["x-kubernetes-list-type"]).toBe("atomic");
    });

    it("uses retainKeys for the deployment strategy and atomic maps where Kubernetes does", () => {
      expect(field("io.k8s.api.apps.v1.DeploymentSpec", "strategy")["x-kubernetes-patch-strategy"]).toBe("retainKeys");
      expect(resolver.get("io.k8s.apimachinery.pkg.apis.meta.v1.LabelSelector")!["x-kubernetes-map-type"]).toBe("atomic");
      expect(field(C + "PodSpec", "nodeSelector")["x-kubernetes-map-type"]).toBe("atomic");
      expect(resolver.get(C + "LocalObjectReference")!["x-kubernetes-map-type"]).toBe("atomic");
    });
  });

  it("publishes Quantity, IntOrString and Time the way Kubernetes does", () => {
    const ios = resolver.get("io.k8s.apimachinery.pkg.util.intstr.IntOrString")!;
    expect(ios.format).toBe("int-or-string");
    expect(ios["x-kubernetes-int-or-string"]).toBe(true);
    expect(ios.oneOf).toEqual([{ type: "integer" }, { type: "string" }]);
    expect(resolver.get("io.k8s.apimachinery.pkg.api.resource.Quantity")!.oneOf).toEqual([{ type: "string" }, { type: "number" }]);
    expect(resolver.get("io.k8s.apimachinery.pkg.apis.meta.v1.Time")).toMatchObject({ type: "string", format: "date-time" });
    expect(field("io.k8s.api.core.v1.ServicePort", "targetPort")["x-kubernetes-int-or-string"]).toBe(true);
    const limits = field("io.k8s.api.core.v1.ResourceRequirements", "limits");
    expect(resolver.resolve(limits.additionalProperties as Schema)?.oneOf).toBeDefined();
    expect(resolver.get("io.k8s.apimachinery.pkg.apis.meta.v1.FieldsV1")!["x-kubernetes-preserve-unknown-fields"]).toBe(true);
  });

  it("models the whole container and the pod spec's common parts", () => {
    const container = resolver.get("io.k8s.api.core.v1.Container")!;
    for (const f of ["ports", "env", "envFrom", "resources", "volumeMounts", "livenessProbe", "readinessProbe", "startupProbe",
      "lifecycle", "securityContext", "command", "args", "imagePullPolicy", "stdin", "tty", "workingDir"]) {
      expect(container.properties?.[f], f).toBeDefined();
    }
    expect(container.required).toEqual(["name"]);
    expect(field("io.k8s.api.core.v1.Probe", "grpc").properties?.port).toBeDefined();
    expect(field("io.k8s.api.core.v1.EnvVar", "valueFrom").properties?.secretKeyRef).toBeDefined();
    expect(field("io.k8s.api.core.v1.PodSpec", "restartPolicy").enum).toEqual(["Always", "Never", "OnFailure"]);
    const volume = resolver.get("io.k8s.api.core.v1.Volume")!;
    for (const f of ["emptyDir", "hostPath", "configMap", "secret", "persistentVolumeClaim", "projected", "downwardAPI", "nfs", "csi"]) {
      expect(resolver.resolve(volume.properties?.[f])?.properties, f).toBeDefined();
    }
    // rare sources are kept open rather than modelled
    expect(resolver.resolve(volume.properties?.cephfs)?.["x-kubernetes-preserve-unknown-fields"]).toBe(true);
  });

  it("lets a CRD's openAPIV3Schema recurse through $ref", () => {
    const props = field("io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.JSONSchemaProps", "properties");
    expect(props.additionalProperties).toEqual({ $ref: `${REF_PREFIX}io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.JSONSchemaProps` });
  });
});
