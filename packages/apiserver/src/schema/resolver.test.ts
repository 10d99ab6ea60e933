// Book 11.2: tests for looking schemas up by name and kind and seeing through $ref/allOf wrappers.
import { describe, expect, it } from "vitest";
import { builtinSchemas } from "./builtin.js";
import { REF_PREFIX } from "./dsl.js";
import { createResolver, crSchemaName, gvkKey, refName } from "./resolver.js";
import type { Schema } from "./types.js";

describe("createResolver", () => {
  const resolver = createResolver(builtinSchemas());

  it("finds a schema by its component name and by its group-version-kind", () => {
    const byName = resolver.get("io.k8s.api.apps.v1.Deployment");
    expect(byName?.["x-kubernetes-group-version-kind"]).toEqual([{ group: "apps", version: "v1", kind: "Deployment" }]);
    expect(resolver.forKind({ group: "apps", version: "v1", kind: "Deployment" })).toBe(byName);
    expect(resolver.forKind({ group: "", version: "v1", kind: "Pod" })).toBe(resolver.get("io.k8s.api.core.v1.Pod"));
    expect(resolver.forKind({ group: "apps", version: "v1", kind: "DeploymentList" })).toBe(
      resolver.get("io.k8s.api.apps.v1.DeploymentList"),
    );
  });

  it("tells the core Event from the events.k8s.io Event", () => {
    const core = resolver.forKind({ group: "", version: "v1", kind: "Event" });
    const events = resolver.forKind({ group: "events.k8s.io", version: "v1", kind: "Event" });
    expect(core?.properties?.involvedObject).toBeDefined();
    expect(events?.properties?.regarding).toBeDefined();
  });

  it("answers undefined for unknown names and kinds", () => {
    expect(resolver.get("io.k8s.api.apps.v1.Nope")).toBeUndefined();
    expect(resolver.forKind({ group: "apps", version: "v2", kind: "Deployment" })).toBeUndefined();
    expect(resolver.resolve(undefined)).toBeUndefined();
    expect(resolver.resolve({ $ref: `${REF_PREFIX}does.not.Exist` })).toBeUndefined();
  });

  it("follows an allOf wrapper and keeps the field's own description and patch strategy", () => {
    const spec = resolver.resolve(resolver.get("io.k8s.api.apps.v1.Deployment")!.properties!.spec)!;
    const strategy = resolver.resolve(spec.properties!.strategy)!;
    expect(strategy.properties?.rollingUpdate).toBeDefined();
    expect(strategy["x-kubernetes-patch-strategy"]).toBe("retainKeys");
    expect(strategy.description).toBe("How old pods are replaced by new ones.");
    // the stored component is untouched
    expect(resolver.get("io.k8s.api.apps.v1.DeploymentStrategy")!["x-kubernetes-patch-strategy"]).toBeUndefined();
  });

  it("follows a bare $ref and chains of references", () => {
    const schemas: Record<string, Schema> = {
      A: { $ref: `${REF_PREFIX}B` },
      B: { allOf: [{ $ref: `${REF_PREFIX}C` }], description: "from B" },
      C: { type: "object", description: "C itself", properties: { x: { type: "string" } } },
    };
    const r = createResolver(schemas);
    const resolved = r.resolve({ $ref: `${REF_PREFIX}A` })!;
    expect(resolved.type).toBe("object");
    expect(resolved.description).toBe("from B");
    expect(r.resolve(schemas.C)).toBe(schemas.C);
  });

  it("gives up on a reference cycle instead of looping", () => {
    const r = createResolver({ A: { $ref: `${REF_PREFIX}B` }, B: { $ref: `${REF_PREFIX}A` } });
    expect(r.resolve({ $ref: `${REF_PREFIX}A` })).toBeUndefined();
  });

  it("works on a snapshot: later additions need a new resolver", () => {
    const schemas = builtinSchemas();
    const r = createResolver(schemas);
    schemas["com.example.v1.Widget"] = { type: "object" };
    expect(r.get("com.example.v1.Widget")).toBeUndefined();
    expect(createResolver(schemas).get("com.example.v1.Widget")).toEqual({ type: "object" });
  });

  it("has small helpers for ref names and GVK keys", () => {
    expect(refName(`${REF_PREFIX}io.k8s.api.core.v1.Pod`)).toBe("io.k8s.api.core.v1.Pod");
    expect(gvkKey({ group: "", version: "v1", kind: "Pod" })).toBe("/v1/Pod");
    expect(crSchemaName("stable.example.com", "v1", "CronTab")).toBe("com.example.stable.v1.CronTab");
  });
});
