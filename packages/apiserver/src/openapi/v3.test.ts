// Book 11.2: tests for the /openapi/v3 index and documents — what kubectl explain and kubectl's
// server-side field validation check read.
import { describe, expect, it } from "vitest";
import type { ResourceDef } from "../registry/types.js";
import { builtinSchemas } from "../schema/builtin.js";
import { createResolver } from "../schema/resolver.js";
import type { Schema } from "../schema/types.js";
import { groupWord, gvTag } from "./operations.js";
import { buildOpenApiV3 } from "./v3.js";

function def(group: string, version: string, resource: string, kind: string, namespaced: boolean, more: Partial<ResourceDef> = {}): ResourceDef {
  return { group, version, resource, kind, listKind: `${kind}List`, singular: kind.toLowerCase(), namespaced, strategy: {}, ...more };
}

const DEFS: ResourceDef[] = [
  def("", "v1", "pods", "Pod", true, { schemaName: "io.k8s.api.core.v1.Pod", subresources: { status: true } }),
  def("", "v1", "namespaces", "Namespace", false, { schemaName: "io.k8s.api.core.v1.Namespace" }),
  def("apps", "v1", "deployments", "Deployment", true, {
    schemaName: "io.k8s.api.apps.v1.Deployment",
    subresources: { status: true, scale: { specReplicasPath: ".spec.replicas", statusReplicasPath: ".status.replicas" } },
  }),
  def("rbac.authorization.k8s.io", "v1", "clusterroles", "ClusterRole", false, {
    schemaName: "io.k8s.api.rbac.v1.ClusterRole",
    verbs: ["get", "list", "watch"],
  }),
];

const resolver = createResolver(builtinSchemas());

type Doc = {
  openapi: string;
  paths: Record<string, Record<string, Record<string, unknown>>>;
  components: { schemas: Record<string, Schema> };
};

describe("buildOpenApiV3", () => {
  const api = buildOpenApiV3(DEFS, resolver);

  it("indexes every group-version with a hashed server-relative URL", () => {
    const index = api.index();
    expect(Object.keys(index.paths)).toEqual(["api/v1", "apis/apps/v1", "apis/rbac.authorization.k8s.io/v1"]);
    const url = index.paths["apis/apps/v1"]!.serverRelativeURL;
    expect(url).toMatch(/^\/openapi\/v3\/apis\/apps\/v1\?hash=[0-9A-F]{128}$/);
    expect(url.endsWith(api.document("apis/apps/v1")!.hash)).toBe(true);
  });

  it("gives the same hash for the same input, and a new one when the input changes", () => {
    const again = buildOpenApiV3(DEFS, createResolver(builtinSchemas()));
    expect(again.index()).toEqual(api.index());
    const fewer = buildOpenApiV3(DEFS.filter((d) => d.resource !== "pods"), resolver);
    expect(fewer.document("api/v1")!.hash).not.toBe(api.document("api/v1")!.hash);
    expect(fewer.document("apis/apps/v1")!.hash).toBe(api.document("apis/apps/v1")!.hash);
  });

  it("answers undefined for group-versions it does not serve and ignores URL decorations", () => {
    expect(api.document("apis/batch/v1")).toBeUndefined();
    expect(api.document("/openapi/v3/apis/apps/v1?hash=abc")).toBe(api.document("apis/apps/v1"));
    expect(api.document("/api/v1")).toBe(api.document("api/v1"));
  });

  it("serializes the body it returns", () => {
    const doc = api.document("api/v1")!;
    expect(JSON.parse(doc.json)).toEqual(doc.body);
    expect((doc.body as Doc).openapi).toBe("3.0.0");
  });

  it("has collection, item, all-namespaces, status and scale paths", () => {
    const paths = Object.keys((api.document("apis/apps/v1")!.body as Doc).paths);
    expect(paths).toEqual([
      "/apis/apps/v1/deployments",
      "/apis/apps/v1/namespaces/{namespace}/deployments",
      "/apis/apps/v1/namespaces/{namespace}/deployments/{name}",
      "/apis/apps/v1/namespaces/{namespace}/deployments/{name}/scale",
      "/apis/apps/v1/namespaces/{namespace}/deployments/{name}/status",
    ]);
    const core = Object.keys((api.document("api/v1")!.body as Doc).paths);
    expect(core).toContain("/api/v1/namespaces");
    expect(core).toContain("/api/v1/namespaces/{name}");
    expect(core).toContain("/api/v1/pods");
    expect(core).toContain("/api/v1/namespaces/{namespace}/pods/{name}/status");
  });

  it("tags every operation with its GVK as an object and offers fieldValidation on writes", () => {
    const doc = api.document("apis/apps/v1")!.body as Doc;
    const item = doc.paths["/apis/apps/v1/namespaces/{namespace}/deployments/{name}"]!;
    expect(Object.keys(item).sort()).toEqual(["delete", "get", "parameters", "patch", "put"]);
    const gvk = { group: "apps", kind: "Deployment", version: "v1" };
    for (const verb of ["get", "put", "patch", "delete"]) expect(item[verb]!["x-kubernetes-group-version-kind"]).toEqual(gvk);
    const names = (op: Record<string, unknown>) => (op.parameters as { name: string; in: string }[]).filter((p) => p.in === "query").map((p) => p.name);
    expect(names(item.patch!)).toContain("fieldValidation");
    expect(names(item.put!)).toContain("fieldValidation");
    expect(names(doc.paths["/apis/apps/v1/namespaces/{namespace}/deployments"]!.post!)).toContain("fieldValidation");
    // every patch op carries it: kubectl checks whichever one it meets first
    for (const [p, pathItem] of Object.entries(doc.paths)) if (pathItem.patch) expect(names(pathItem.patch), p).toContain("fieldValidation");
    const scale = doc.paths["/apis/apps/v1/namespaces/{namespace}/deployments/{name}/scale"]!;
    expect(scale.patch!["x-kubernetes-group-version-kind"]).toEqual({ group: "autoscaling", kind: "Scale", version: "v1" });
    expect(item.patch!["x-kubernetes-action"]).toBe("patch");
    expect(item.patch!.operationId).toBe("patchAppsV1NamespacedDeployment");
  });

  it("offers strategic merge patch for built-ins only", () => {
    const crd = def("stable.example.com", "v1", "crontabs", "CronTab", true, { schemaName: "com.example.stable.v1.CronTab", crd: "crontabs.stable.example.com" });
    const withCrd = buildOpenApiV3([...DEFS, crd], resolver);
    const contentTypes = (gv: string, path: string) =>
      Object.keys(((withCrd.document(gv)!.body as Doc).paths[path]!.patch!.requestBody as { content: object }).content);
    expect(contentTypes("apis/apps/v1", "/apis/apps/v1/namespaces/{namespace}/deployments/{name}")).toContain(
      "application/strategic-merge-patch+json",
    );
    const crTypes = contentTypes("apis/stable.example.com/v1", "/apis/stable.example.com/v1/namespaces/{namespace}/crontabs/{name}");
    expect(crTypes).not.toContain("application/strategic-merge-patch+json");
    expect(crTypes).toContain("application/apply-patch+yaml");
  });

  it("leaves out operations for verbs a resource does not have", () => {
    const doc = api.document("apis/rbac.authorization.k8s.io/v1")!.body as Doc;
    expect(Object.keys(doc.paths["/apis/rbac.authorization.k8s.io/v1/clusterroles"]!).sort()).toEqual(["get", "parameters"]);
    expect(Object.keys(doc.paths["/apis/rbac.authorization.k8s.io/v1/clusterroles/{name}"]!).sort()).toEqual(["get", "parameters"]);
  });

  it("includes every schema the kinds reach, so explain can walk deployment.spec.strategy", () => {
    const doc = api.document("apis/apps/v1")!.body as Doc;
    const schemas = doc.components.schemas;
    for (const name of [
      "io.k8s.api.apps.v1.Deployment",
      "io.k8s.api.apps.v1.DeploymentList",
      "io.k8s.api.apps.v1.DeploymentStrategy",
      "io.k8s.api.apps.v1.RollingUpdateDeployment",
      "io.k8s.api.core.v1.PodTemplateSpec",
      "io.k8s.api.core.v1.Container",
      "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta",
      "io.k8s.apimachinery.pkg.util.intstr.IntOrString",
      "io.k8s.apimachinery.pkg.apis.meta.v1.Status",
      "io.k8s.apimachinery.pkg.apis.meta.v1.DeleteOptions",
      "io.k8s.apimachinery.pkg.apis.meta.v1.Patch",
      "io.k8s.api.autoscaling.v1.Scale",
    ]) {
      expect(schemas[name], name).toBeDefined();
    }
    expect(schemas["io.k8s.api.batch.v1.Job"]).toBeUndefined();
    // explain's walk: find the kind by its GVK, then follow spec → strategy → rollingUpdate.maxSurge
    const root = Object.values(schemas).find((s) =>
      s["x-kubernetes-group-version-kind"]?.some((g) => g.group === "apps" && g.kind === "Deployment" && g.version === "v1"),
    )!;
    const local = createResolver(schemas);
    const spec = local.resolve(root.properties!.spec)!;
    const strategy = local.resolve(spec.properties!.strategy)!;
    expect(strategy.description).toBeTruthy();
    const rolling = local.resolve(strategy.properties!.rollingUpdate)!;
    expect(local.resolve(rolling.properties!.maxSurge)!["x-kubernetes-int-or-string"]).toBe(true);
    // every reference in the document resolves inside it
    const refs = [...api.document("apis/apps/v1")!.json.matchAll(/"\$ref":"#\/components\/schemas\/([^"]+)"/g)].map((m) => m[1]!);
    expect(refs.filter((r) => schemas[r] === undefined)).toEqual([]);
  });

  it("synthesizes what a custom resource lacks: a GVK-tagged root and a list", () => {
    const schemas = builtinSchemas();
    schemas["com.example.stable.v1.CronTab"] = {
      type: "object",
      properties: { spec: { type: "object", properties: { cronSpec: { type: "string" } } } },
    };
    const crd = def("stable.example.com", "v1", "crontabs", "CronTab", true, { schemaName: "com.example.stable.v1.CronTab", crd: "x" });
    const doc = buildOpenApiV3([crd], createResolver(schemas)).document("apis/stable.example.com/v1")!.body as Doc;
    const s = doc.components.schemas;
    expect(s["com.example.stable.v1.CronTab"]!["x-kubernetes-group-version-kind"]).toEqual([
      { group: "stable.example.com", version: "v1", kind: "CronTab" },
    ]);
    expect(s["com.example.stable.v1.CronTabList"]!.properties!.items!.items).toEqual({ $ref: "#/components/schemas/com.example.stable.v1.CronTab" });
    expect(s["io.k8s.apimachinery.pkg.apis.meta.v1.ListMeta"]).toBeDefined();
  });

  it("reuses unchanged group-versions when rebuilt with the previous result", () => {
    const crd = def("stable.example.com", "v1", "crontabs", "CronTab", true, { schemaName: "com.example.stable.v1.CronTab", crd: "x" });
    const first = buildOpenApiV3(DEFS, resolver);
    first.index();
    const second = buildOpenApiV3([...DEFS, crd], resolver, first);
    expect(second.document("apis/apps/v1")).toBe(first.document("apis/apps/v1"));
    expect(second.document("apis/stable.example.com/v1")).toBeDefined();
    expect(Object.keys(second.index().paths)).toContain("apis/stable.example.com/v1");
    const third = buildOpenApiV3(DEFS.slice(1), resolver, second);
    expect(third.document("api/v1")).not.toBe(second.document("api/v1"));
  });

  it("spells groups the way Kubernetes' operation IDs and tags do", () => {
    expect(groupWord("")).toBe("Core");
    expect(groupWord("apps")).toBe("Apps");
    expect(groupWord("rbac.authorization.k8s.io")).toBe("RbacAuthorization");
    expect(groupWord("stable.example.com")).toBe("StableExampleCom");
    expect(gvTag("rbac.authorization.k8s.io", "v1")).toBe("rbacAuthorization_v1");
    expect(gvTag("", "v1")).toBe("core_v1");
  });
});
