// Book 11.2: tests for turning a CRD into served resources — ResourceDefs, the custom-resource
// strategy (prune, default, validate, scale), printer-column tables, selectable fields and schemas.
import { fieldErrorMessage } from "@corekube/api";
import { describe, expect, it } from "vitest";
import type { KubeObject } from "../registry/types.js";
import { ageOf, humanDuration } from "./age.js";
import { cronTabCRD, testContext, widgetCRD } from "./fixtures.js";
import { crdSchemas, crdToResourceDefs, pruneCustomResource, schemaNameFor } from "./resources.js";

const NOW = new Date("2024-05-01T12:00:00Z");

function widget(spec: Record<string, unknown> = {}, status?: Record<string, unknown>): KubeObject {
  const obj: KubeObject = {
    apiVersion: "example.corekube.io/v1",
    kind: "Widget",
    metadata: { name: "w1", namespace: "default", creationTimestamp: "2024-05-01T10:00:00Z" },
    spec: { image: "nginx", ...spec },
  };
  if (status) obj.status = status;
  return obj;
}

describe("crdToResourceDefs", () => {
  it("makes one ResourceDef per served version", () => {
    const defs = crdToResourceDefs(widgetCRD());
    expect(defs.map((d) => d.version)).toEqual(["v1", "v1beta1"]);
    const [v1, beta] = defs;
    expect(v1).toMatchObject({
      group: "example.corekube.io",
      version: "v1",
      resource: "widgets",
      kind: "Widget",
      listKind: "WidgetList",
      singular: "widget",
      namespaced: true,
      shortNames: ["wd"],
      categories: ["all"],
      schemaName: "io.corekube.example.v1.Widget",
      crd: "widgets.example.corekube.io",
      subresources: {
        status: true,
        scale: { specReplicasPath: ".spec.replicas", statusReplicasPath: ".status.replicas", labelSelectorPath: ".status.selector" },
      },
    });
    expect(beta!.subresources).toBeUndefined();
    expect(beta!.schemaName).toBe("io.corekube.example.v1beta1.Widget");
  });

  it("maps a cluster-scoped CRD without subresources, filling singular and listKind", () => {
    const [def] = crdToResourceDefs(cronTabCRD());
    expect(def).toMatchObject({ namespaced: false, singular: "crontab", listKind: "CronTabList", shortNames: ["ct"] });
    expect(def!.categories).toBeUndefined();
    expect(def!.subresources).toBeUndefined();
    expect(def!.fields).toBeUndefined();
  });

  it("serves nothing when no version is served", () => {
    const crd = cronTabCRD();
    crd.spec.versions[0]!.served = false;
    expect(crdToResourceDefs(crd)).toEqual([]);
  });
});

describe("the custom-resource strategy", () => {
  const [v1, beta] = crdToResourceDefs(widgetCRD());
  const s = v1!.strategy;

  it("prunes unknown fields and applies defaults", () => {
    const obj = widget({ imgae: "typo", ports: [{ name: "http" }] });
    s.defaults!(obj);
    expect(obj.spec).toEqual({ image: "nginx", replicas: 1, color: "blue", ports: [{ name: "http", port: 80 }] });
    expect(s.validate!(obj, testContext()).map(fieldErrorMessage)).toEqual([]);
  });

  it("validates against the schema with Kubernetes' messages", () => {
    const obj = widget({ replicas: "3", color: "pink" });
    s.defaults!(obj);
    expect(s.validate!(obj, testContext()).map(fieldErrorMessage)).toEqual([
      'spec.replicas: Invalid value: "string": spec.replicas in body must be of type integer: "string"',
      'spec.color: Unsupported value: "pink": supported values: "red", "green", "blue"',
    ]);
  });

  it("checks the scale paths' values on status writes", () => {
    const obj = widget({ replicas: 2 }, { replicas: -1, selector: "app=web" });
    expect(s.validateStatusUpdate!(obj, obj, testContext()).map(fieldErrorMessage)).toEqual([
      ".status.replicas: Invalid value: -1: should be a non-negative integer",
    ]);
    const badSelector = widget({ replicas: 2 }, { replicas: 1, selector: { app: "web" } });
    expect(s.validateStatusUpdate!(badSelector, badSelector, testContext()).map(fieldErrorMessage)).toEqual([
      'status.selector: Invalid value: "object": status.selector in body must be of type string: "object"',
    ]);
    const unbounded = widgetCRD();
    delete unbounded.spec.versions[0]!.schema!.openAPIV3Schema!.properties!.spec!.properties!.replicas!.maximum;
    const [def] = crdToResourceDefs(unbounded);
    expect(def!.strategy.validate!(widget({ replicas: 2 ** 31 }), testContext()).map(fieldErrorMessage)).toEqual([
      ".spec.replicas: Invalid value: 2147483648: should be less than or equal to 2147483647",
    ]);
  });

  it("does not create on update, as upstream's custom resources", () => {
    expect(s.allowCreateOnUpdate).toBe(false);
  });

  it("warns on every write to a deprecated version", () => {
    const ctx = testContext();
    beta!.strategy.prepareForCreate!(widget(), ctx);
    expect(ctx.warnings).toEqual(["example.corekube.io/v1beta1 Widget is deprecated"]);
    const quiet = testContext();
    s.prepareForCreate!(widget(), quiet);
    expect(quiet.warnings).toEqual([]);
  });

  it("validates each version against its own schema", () => {
    const obj = widget({ size: "big" });
    beta!.strategy.defaults!(obj);
    expect(beta!.strategy.validate!(obj, testContext()).map(fieldErrorMessage)).toEqual([
      'spec.size: Invalid value: "string": spec.size in body must be of type integer: "string"',
    ]);
  });
});

describe("pruneCustomResource", () => {
  it("returns what it removes, for warnings or strict field validation", () => {
    const obj = widget({ extra: 1 }, { phase: "x" });
    expect(pruneCustomResource(widgetCRD(), "v1", obj)).toEqual(["spec.extra", "status.phase"]);
    expect(pruneCustomResource(widgetCRD(), "v9", widget({ extra: 1 }))).toEqual([]);
  });
});

describe("printer columns", () => {
  const [v1, beta] = crdToResourceDefs(widgetCRD());

  it("puts Name first and keeps the declared columns with their priority", () => {
    expect(v1!.table!.columns).toEqual([
      { name: "Name", type: "string", format: "name", description: "The object's name, unique within its namespace or cluster.", priority: 0 },
      { name: "Replicas", type: "integer", description: "", priority: 0 },
      { name: "Color", type: "string", description: "The widget's color.", priority: 1 },
      { name: "Ready", type: "string", description: "", priority: 0 },
      { name: "Age", type: "date", description: "", priority: 0 },
    ]);
  });

  it("fills cells from JSONPaths: typed numbers, filtered lists, ages, nulls for absent values", () => {
    const obj = widget({ replicas: 3, color: "red" }, { conditions: [{ type: "Ready", status: "True" }] });
    expect(v1!.table!.cells(obj, NOW)).toEqual(["w1", 3, "red", "True", "120m"]);
    expect(v1!.table!.cells(widget(), NOW)).toEqual(["w1", null, null, null, "120m"]);
  });

  it("shows only AGE after NAME when a version declares no columns", () => {
    expect(beta!.table!.columns.map((c) => c.name)).toEqual(["Name", "Age"]);
    expect(beta!.table!.cells(widget(), NOW)).toEqual(["w1", "120m"]);
  });
});

describe("selectable fields", () => {
  it("exposes the declared fields for field selectors", () => {
    const [v1] = crdToResourceDefs(widgetCRD());
    expect(v1!.fields!(widget({ color: "green" }))).toEqual({ "spec.color": "green" });
    expect(v1!.fields!(widget())).toEqual({ "spec.color": "" });
  });
});

describe("crdSchemas", () => {
  it("publishes one whole-kind schema per served version", () => {
    const schemas = crdSchemas(widgetCRD());
    expect(Object.keys(schemas)).toEqual(["io.corekube.example.v1.Widget", "io.corekube.example.v1beta1.Widget"]);
    const w = schemas["io.corekube.example.v1.Widget"]!;
    expect(w["x-kubernetes-group-version-kind"]).toEqual([{ group: "example.corekube.io", version: "v1", kind: "Widget" }]);
    expect(w.type).toBe("object");
    expect(w.description).toBe("A Widget runs some replicas of an image.");
    expect(Object.keys(w.properties!)).toEqual(["apiVersion", "kind", "metadata", "spec", "status"]);
    expect(w.properties!.metadata).toEqual({ $ref: "#/components/schemas/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta" });
    expect(w.properties!.spec!.properties!.replicas).toEqual({ type: "integer", minimum: 0, maximum: 100, default: 1 });
    expect(w.properties!.spec!.properties!.port).toEqual({ "x-kubernetes-int-or-string": true });
    expect(w.properties!.spec!.required).toEqual(["image"]);
  });

  it("names schemas by reversed group", () => {
    expect(schemaNameFor("stable.example.com", "v1", "CronTab")).toBe("com.example.stable.v1.CronTab");
  });
});

describe("ages", () => {
  it("reads like kubectl", () => {
    expect(humanDuration(45_000)).toBe("45s");
    expect(humanDuration(119_000)).toBe("119s");
    expect(humanDuration(5 * 60_000 + 7_000)).toBe("5m7s");
    expect(humanDuration(95 * 60_000)).toBe("95m");
    expect(humanDuration(3 * 3_600_000 + 20 * 60_000)).toBe("3h20m");
    expect(humanDuration(30 * 3_600_000)).toBe("30h");
    expect(humanDuration(3 * 86_400_000 + 4 * 3_600_000)).toBe("3d4h");
    expect(humanDuration(40 * 86_400_000)).toBe("40d");
    expect(humanDuration(3 * 365 * 86_400_000 + 10 * 86_400_000)).toBe("3y10d");
    expect(humanDuration(-500)).toBe("0s");
    expect(humanDuration(-5000)).toBe("<invalid>");
    expect(ageOf(undefined, NOW)).toBe("<unknown>");
    expect(ageOf("not a time", NOW)).toBe("<invalid>");
  });
});
