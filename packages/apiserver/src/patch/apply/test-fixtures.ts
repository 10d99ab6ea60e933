// Book 11.2 and 12.3: test-only schemas for server-side apply — a trimmed Deployment/Pod in
// Kubernetes' OpenAPI dialect (list types, map keys, merge keys) and a tiny $ref resolver.
import type { KubeObject } from "../../registry/types.js";
import type { GroupVersionKind, Schema, SchemaResolver } from "../../schema/types.js";

const ref = (name: string): Schema => ({ $ref: `#/components/schemas/${name}` });
const str: Schema = { type: "string" };
const int: Schema = { type: "integer", format: "int32" };
const strMap: Schema = { type: "object", additionalProperties: { type: "string" } };

export const schemas: Record<string, Schema> = {
  "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta": {
    type: "object",
    properties: {
      name: str,
      namespace: str,
      uid: str,
      resourceVersion: str,
      generation: { type: "integer", format: "int64" },
      creationTimestamp: { type: "string", format: "date-time" },
      labels: strMap,
      annotations: strMap,
      finalizers: { type: "array", items: str, "x-kubernetes-list-type": "set", "x-kubernetes-patch-strategy": "merge" },
      managedFields: { type: "array", items: { type: "object" } },
    },
  },
  "io.k8s.apimachinery.pkg.apis.meta.v1.LabelSelector": {
    type: "object",
    properties: { matchLabels: strMap },
    "x-kubernetes-map-type": "atomic",
  },
  "io.k8s.api.apps.v1.Deployment": {
    type: "object",
    properties: {
      apiVersion: str,
      kind: str,
      metadata: { allOf: [ref("io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta")], default: {} },
      spec: { allOf: [ref("io.k8s.api.apps.v1.DeploymentSpec")], default: {} },
      status: { type: "object", properties: { replicas: int, readyReplicas: int } },
    },
    "x-kubernetes-group-version-kind": [{ group: "apps", version: "v1", kind: "Deployment" }],
  },
  "io.k8s.api.apps.v1.DeploymentSpec": {
    type: "object",
    properties: {
      replicas: int,
      selector: ref("io.k8s.apimachinery.pkg.apis.meta.v1.LabelSelector"),
      template: ref("io.k8s.api.core.v1.PodTemplateSpec"),
      strategy: { type: "object", properties: { type: str, rollingUpdate: { type: "object", properties: { maxSurge: { "x-kubernetes-int-or-string": true } } } } },
    },
  },
  "io.k8s.api.core.v1.PodTemplateSpec": {
    type: "object",
    properties: {
      metadata: ref("io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"),
      spec: ref("io.k8s.api.core.v1.PodSpec"),
    },
  },
  "io.k8s.api.core.v1.PodSpec": {
    type: "object",
    properties: {
      containers: {
        type: "array",
        items: ref("io.k8s.api.core.v1.Container"),
        "x-kubernetes-list-type": "map",
        "x-kubernetes-list-map-keys": ["name"],
        "x-kubernetes-patch-merge-key": "name",
        "x-kubernetes-patch-strategy": "merge",
      },
      // Only the older SMP markers: apply must still treat it as keyed by name.
      volumes: {
        type: "array",
        items: { type: "object", properties: { name: str, emptyDir: { type: "object", properties: { medium: str } } } },
        "x-kubernetes-patch-merge-key": "name",
        "x-kubernetes-patch-strategy": "merge,retainKeys",
      },
      nodeSelector: { ...strMap, "x-kubernetes-map-type": "atomic" },
      tolerations: { type: "array", items: { type: "object", properties: { key: str, operator: str } } },
      dnsPolicy: str,
    },
  },
  "io.k8s.api.core.v1.Container": {
    type: "object",
    required: ["name"],
    properties: {
      name: str,
      image: str,
      args: { type: "array", items: str, "x-kubernetes-list-type": "atomic" },
      ports: {
        type: "array",
        items: ref("io.k8s.api.core.v1.ContainerPort"),
        "x-kubernetes-list-type": "map",
        "x-kubernetes-list-map-keys": ["containerPort", "protocol"],
        "x-kubernetes-patch-merge-key": "containerPort",
        "x-kubernetes-patch-strategy": "merge",
      },
      env: {
        type: "array",
        items: { type: "object", properties: { name: str, value: str } },
        "x-kubernetes-patch-merge-key": "name",
        "x-kubernetes-patch-strategy": "merge",
      },
      resources: { type: "object", properties: { limits: strMap, requests: strMap } },
    },
  },
  "io.k8s.api.core.v1.ContainerPort": {
    type: "object",
    required: ["containerPort"],
    properties: {
      name: str,
      containerPort: int,
      protocol: { type: "string", default: "TCP" },
    },
  },
  /** A custom resource: typed spec with a free-form part, as a CRD would publish it. */
  "com.example.v1.Widget": {
    type: "object",
    properties: {
      apiVersion: str,
      kind: str,
      metadata: { type: "object" },
      spec: {
        type: "object",
        properties: {
          size: int,
          tags: { type: "array", items: str, "x-kubernetes-list-type": "set" },
          config: { type: "object", "x-kubernetes-preserve-unknown-fields": true },
        },
      },
    },
    "x-kubernetes-group-version-kind": [{ group: "example.com", version: "v1", kind: "Widget" }],
  },
};

const PREFIX = "#/components/schemas/";

export const resolver: SchemaResolver = {
  get: (name) => schemas[name],
  resolve(node) {
    let n = node;
    for (let i = 0; n && i < 32; i++) {
      if (n.$ref !== undefined) {
        n = n.$ref.startsWith(PREFIX) ? schemas[n.$ref.slice(PREFIX.length)] : undefined;
        continue;
      }
      if (n.allOf?.length === 1 && n.type === undefined && n.properties === undefined) {
        const inner = this.resolve(n.allOf[0]);
        if (!inner) return undefined;
        const merged: Schema = { ...inner };
        if (n.description !== undefined) merged.description = n.description;
        if (n.default !== undefined) merged.default = n.default;
        return merged;
      }
      return n;
    }
    return n;
  },
  forKind(gvk: GroupVersionKind) {
    return Object.values(schemas).find((s) =>
      s["x-kubernetes-group-version-kind"]?.some((g) => g.group === gvk.group && g.version === gvk.version && g.kind === gvk.kind),
    );
  },
};

export const deploymentSchema = schemas["io.k8s.api.apps.v1.Deployment"]!;
export const widgetSchema = schemas["com.example.v1.Widget"]!;

/** A Deployment object with the given spec fields. */
export function deployment(spec: Record<string, unknown>, metadata: Record<string, unknown> = {}): KubeObject {
  return { apiVersion: "apps/v1", kind: "Deployment", metadata: { name: "web", namespace: "default", ...metadata }, spec };
}

/** A Deployment with one pod template holding the given containers. */
export function withContainers(containers: unknown[], extra: Record<string, unknown> = {}): KubeObject {
  return deployment({ ...extra, template: { metadata: { labels: { app: "web" } }, spec: { containers } } });
}
