// Book 11.2: tests for the customresourcedefinitions resource: its discovery facts, the status it
// settles on create and update, warnings, and the `kubectl get crd` table.
import { fieldErrorMessage } from "@corekube/api";
import { describe, expect, it } from "vitest";
import { customResourceDefinitionsDef as def, storageVersion } from "./definition.js";
import { cronTabCRD, testContext, widgetCRD } from "./fixtures.js";
import type { CustomResourceDefinition } from "./types.js";

const strategy = def.strategy;

function create(crd: CustomResourceDefinition, ctx = testContext()): string[] {
  strategy.defaults!(crd);
  strategy.prepareForCreate!(crd, ctx);
  return strategy.validate!(crd, ctx).map(fieldErrorMessage);
}

describe("the customresourcedefinitions ResourceDef", () => {
  it("is served as apiextensions.k8s.io/v1, cluster-scoped, with a status subresource", () => {
    expect(def).toMatchObject({
      group: "apiextensions.k8s.io",
      version: "v1",
      resource: "customresourcedefinitions",
      kind: "CustomResourceDefinition",
      listKind: "CustomResourceDefinitionList",
      singular: "customresourcedefinition",
      namespaced: false,
      shortNames: ["crd", "crds"],
      categories: ["api-extensions"],
      subresources: { status: true },
      schemaName: "io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.CustomResourceDefinition",
    });
    expect(strategy.allowCreateOnUpdate).toBe(false);
  });
});

describe("status on create", () => {
  it("accepts the names and establishes the CRD at once", () => {
    const crd = cronTabCRD();
    expect(create(crd)).toEqual([]);
    expect(crd.status).toEqual({
      acceptedNames: { plural: "crontabs", singular: "crontab", kind: "CronTab", listKind: "CronTabList", shortNames: ["ct"] },
      conditions: [
        { type: "NamesAccepted", status: "True", lastTransitionTime: "2024-05-01T12:00:00Z", reason: "NoConflicts", message: "no conflicts found" },
        {
          type: "Established",
          status: "True",
          lastTransitionTime: "2024-05-01T12:00:00Z",
          reason: "InitialNamesAccepted",
          message: "the initial names have been accepted",
        },
      ],
      storedVersions: ["v1"],
    });
  });

  it("warns about dropped schema keywords and CEL rules it will not run", () => {
    const crd = cronTabCRD();
    const schema = crd.spec.versions[0]!.schema!.openAPIV3Schema! as Record<string, unknown>;
    schema.proprties = {};
    schema["x-kubernetes-validations"] = [{ rule: "self.spec.replicas < 10" }];
    const ctx = testContext();
    expect(create(crd, ctx)).toEqual([]);
    expect(ctx.warnings).toEqual([
      'unknown field "spec.versions[0].schema.openAPIV3Schema.proprties"',
      "spec.versions[0].schema.openAPIV3Schema: x-kubernetes-validations rules are stored but not enforced by corekube",
    ]);
    expect(schema).not.toHaveProperty("proprties");
  });

  it("still reports validation errors after preparing", () => {
    const crd = widgetCRD();
    crd.spec.versions[0]!.schema!.openAPIV3Schema!.properties!.spec!.type = "thing";
    expect(create(crd)).toEqual([
      'spec.versions[0].schema.openAPIV3Schema.properties[spec].type: Unsupported value: "thing": supported values: "array", "boolean", "integer", "number", "object", "string"',
    ]);
  });
});

describe("status on update", () => {
  it("appends a new storage version and keeps condition times", () => {
    const old = widgetCRD();
    create(old);
    const crd = structuredClone(old);
    crd.spec.versions[0]!.storage = false;
    crd.spec.versions[1]!.storage = true;
    crd.spec.names.shortNames = ["wd", "wdg"];
    strategy.defaults!(crd);
    strategy.prepareForUpdate!(crd, old, testContext(new Date("2024-06-01T00:00:00Z")));
    expect(storageVersion(crd)).toBe("v1beta1");
    expect(crd.status!.storedVersions).toEqual(["v1", "v1beta1"]);
    expect(crd.status!.acceptedNames!.shortNames).toEqual(["wd", "wdg"]);
    expect(crd.status!.conditions!.map((c) => c.lastTransitionTime)).toEqual(["2024-05-01T12:00:00Z", "2024-05-01T12:00:00Z"]);
    expect(strategy.validateUpdate!(crd, old, testContext()).map(fieldErrorMessage)).toEqual([]);
  });

  it("rejects a change of group or scope", () => {
    const old = cronTabCRD();
    create(old);
    const crd = structuredClone(old);
    crd.spec.scope = "Namespaced";
    strategy.prepareForUpdate!(crd, old, testContext());
    expect(strategy.validateUpdate!(crd, old, testContext()).map(fieldErrorMessage)).toEqual(['spec.scope: Invalid value: "Namespaced": field is immutable']);
  });
});

describe("kubectl get crd", () => {
  it("shows NAME and CREATED AT", () => {
    const crd = cronTabCRD();
    crd.metadata.creationTimestamp = "2024-05-01T10:00:00.123Z";
    const table = def.table!;
    expect(table.columns.map((c) => c.name)).toEqual(["Name", "Created At"]);
    expect(table.cells(crd, new Date())).toEqual(["crontabs.stable.example.com", "2024-05-01T10:00:00Z"]);
  });
});
