// Book 11.2: fixtures for the patch tests only — a small Deployment → PodTemplateSpec → PodSpec →
// Container schema with Kubernetes' patch metadata (merge keys, merge/retainKeys strategies) and a
// resolver over it, so strategic merge patch can be tested before the real schemas exist.
import type { GroupVersionKind, Schema, SchemaResolver } from "../schema/types.js";

const ref = (name: string): Schema => ({ $ref: `#/components/schemas/${name}` });
/** A property that points at another schema, as Kubernetes writes it: allOf:[{$ref}] plus extras. */
const field = (name: string, extra: Schema = {}): Schema => ({ allOf: [ref(name)], default: {}, ...extra });
const str: Schema = { type: "string" };
const int: Schema = { type: "integer", format: "int32" };
const stringMap: Schema = { type: "object", additionalProperties: { type: "string", default: "" } };
const mergeList = (item: Schema, mergeKey: string, strategy = "merge"): Schema => ({
  type: "array",
  items: item,
  "x-kubernetes-list-type": "map",
  "x-kubernetes-list-map-keys": [mergeKey],
  "x-kubernetes-patch-merge-key": mergeKey,
  "x-kubernetes-patch-strategy": strategy,
});
const atomicList = (item: Schema): Schema => ({ type: "array", items: item, "x-kubernetes-list-type": "atomic" });

const META = "io.k8s.apimachinery.pkg.apis.meta.v1";
const CORE = "io.k8s.api.core.v1";
const APPS = "io.k8s.api.apps.v1";

/** The fixture schemas, keyed by Kubernetes' component names. */
export const FIXTURE_SCHEMAS: Record<string, Schema> = {
  [`${META}.ObjectMeta`]: {
    type: "object",
    properties: {
      name: str,
      namespace: str,
      uid: str,
      resourceVersion: str,
      generation: { type: "integer", format: "int64" },
      labels: stringMap,
      annotations: stringMap,
      finalizers: { type: "array", items: { type: "string", default: "" }, "x-kubernetes-list-type": "set", "x-kubernetes-patch-strategy": "merge" },
      ownerReferences: mergeList(field(`${META}.OwnerReference`), "uid"),
    },
  },
  [`${META}.OwnerReference`]: {
    type: "object",
    required: ["apiVersion", "kind", "name", "uid"],
    properties: { apiVersion: str, kind: str, name: str, uid: str, controller: { type: "boolean" } },
  },
  [`${META}.LabelSelector`]: {
    type: "object",
    properties: { matchLabels: stringMap },
    "x-kubernetes-map-type": "atomic",
  },
  [`${APPS}.Deployment`]: {
    type: "object",
    properties: {
      apiVersion: str,
      kind: str,
      metadata: field(`${META}.ObjectMeta`),
      spec: field(`${APPS}.DeploymentSpec`),
      status: { type: "object", properties: { replicas: int, observedGeneration: { type: "integer" } } },
    },
    "x-kubernetes-group-version-kind": [{ group: "apps", version: "v1", kind: "Deployment" }],
  },
  [`${APPS}.DeploymentSpec`]: {
    type: "object",
    properties: {
      replicas: int,
      selector: field(`${META}.LabelSelector`),
      template: field(`${CORE}.PodTemplateSpec`),
      strategy: field(`${APPS}.DeploymentStrategy`, { "x-kubernetes-patch-strategy": "retainKeys" }),
      minReadySeconds: int,
    },
  },
  [`${APPS}.DeploymentStrategy`]: {
    type: "object",
    properties: { type: str, rollingUpdate: field(`${APPS}.RollingUpdateDeployment`) },
  },
  [`${APPS}.RollingUpdateDeployment`]: {
    type: "object",
    properties: {
      maxSurge: { "x-kubernetes-int-or-string": true },
      maxUnavailable: { "x-kubernetes-int-or-string": true },
    },
  },
  [`${CORE}.PodTemplateSpec`]: {
    type: "object",
    properties: { metadata: field(`${META}.ObjectMeta`), spec: field(`${CORE}.PodSpec`) },
  },
  [`${CORE}.PodSpec`]: {
    type: "object",
    required: ["containers"],
    properties: {
      containers: mergeList(field(`${CORE}.Container`), "name"),
      initContainers: mergeList(field(`${CORE}.Container`), "name"),
      volumes: mergeList(field(`${CORE}.Volume`), "name", "merge,retainKeys"),
      imagePullSecrets: mergeList(field(`${CORE}.LocalObjectReference`), "name"),
      tolerations: atomicList(field(`${CORE}.Toleration`)),
      nodeSelector: stringMap,
      serviceAccountName: str,
    },
  },
  [`${CORE}.Container`]: {
    type: "object",
    required: ["name"],
    properties: {
      name: str,
      image: str,
      command: atomicList({ type: "string", default: "" }),
      args: atomicList({ type: "string", default: "" }),
      env: mergeList(field(`${CORE}.EnvVar`), "name"),
      ports: mergeList(field(`${CORE}.ContainerPort`), "containerPort"),
      volumeMounts: mergeList(field(`${CORE}.VolumeMount`), "mountPath"),
      resources: field(`${CORE}.ResourceRequirements`),
    },
  },
  [`${CORE}.EnvVar`]: {
    type: "object",
    properties: { name: str, value: str, valueFrom: { type: "object", properties: { fieldRef: { type: "object" } } } },
  },
  [`${CORE}.ContainerPort`]: { type: "object", properties: { containerPort: int, name: str, protocol: str } },
  [`${CORE}.VolumeMount`]: { type: "object", properties: { name: str, mountPath: str, readOnly: { type: "boolean" } } },
  [`${CORE}.ResourceRequirements`]: {
    type: "object",
    properties: { limits: { type: "object", additionalProperties: { "x-kubernetes-int-or-string": true } } },
  },
  [`${CORE}.Volume`]: {
    type: "object",
    required: ["name"],
    properties: {
      name: str,
      configMap: field(`${CORE}.ConfigMapVolumeSource`),
      emptyDir: field(`${CORE}.EmptyDirVolumeSource`),
      secret: { allOf: [ref(`${CORE}.SecretVolumeSource`)] },
    },
  },
  [`${CORE}.ConfigMapVolumeSource`]: { type: "object", properties: { name: str, defaultMode: int } },
  [`${CORE}.EmptyDirVolumeSource`]: { type: "object", properties: { medium: str } },
  [`${CORE}.SecretVolumeSource`]: { type: "object", properties: { secretName: str } },
  [`${CORE}.LocalObjectReference`]: { type: "object", properties: { name: str } },
  [`${CORE}.Toleration`]: { type: "object", properties: { key: str, operator: str, effect: str } },
  /** A custom resource whose spec keeps unknown fields: no patch metadata below it. */
  "com.example.v1.Widget": {
    type: "object",
    properties: {
      apiVersion: str,
      kind: str,
      metadata: field(`${META}.ObjectMeta`),
      spec: { type: "object", "x-kubernetes-preserve-unknown-fields": true },
    },
    "x-kubernetes-group-version-kind": [{ group: "example.com", version: "v1", kind: "Widget" }],
  },
};

const PREFIX = "#/components/schemas/";

/** A resolver over a set of named schemas, following $ref and single-element allOf. */
export function fixtureResolver(schemas: Record<string, Schema> = FIXTURE_SCHEMAS): SchemaResolver {
  const get = (name: string): Schema | undefined => (Object.hasOwn(schemas, name) ? schemas[name] : undefined);
  const resolve = (node: Schema | undefined, depth = 0): Schema | undefined => {
    if (!node || depth > 32) return node;
    if (node.$ref) return resolve(get(node.$ref.slice(PREFIX.length)), depth + 1);
    if (node.allOf?.length === 1 && !node.type && !node.properties) {
      const { allOf, ...wrapper } = node;
      const inner = resolve(allOf[0], depth + 1);
      return inner ? { ...inner, description: wrapper.description ?? inner.description, default: wrapper.default ?? inner.default } : undefined;
    }
    return node;
  };
  const forKind = (gvk: GroupVersionKind): Schema | undefined =>
    Object.values(schemas).find((s) =>
      s["x-kubernetes-group-version-kind"]?.some((g) => g.group === gvk.group && g.version === gvk.version && g.kind === gvk.kind),
    );
  return { get, resolve: (node) => resolve(node), forKind };
}

/** The fixture Deployment schema and its resolver. */
export function deploymentSchema(): { schema: Schema | undefined; resolver: SchemaResolver } {
  const resolver = fixtureResolver();
  return { schema: resolver.forKind({ group: "apps", version: "v1", kind: "Deployment" }), resolver };
}
