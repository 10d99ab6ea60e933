// Book 11.2: tests for CRD validation — names, versions, structural schemas, extensions, defaults,
// subresources, printer columns, selectable fields, updates and storedVersions.
import { fieldErrorMessage, fieldPath } from "@corekube/api";
import { describe, expect, it } from "vitest";
import { defaultCRD, establish } from "./definition.js";
import { cronTabCRD, widgetCRD } from "./fixtures.js";
import { stripUnknownKeywords, validateCRDSchema } from "./structural.js";
import type { CustomResourceDefinition, JSONSchemaProps } from "./types.js";
import { isDNS1035Label, nameConflicts, validateCRD, validateCRDStatus, validateCRDUpdate } from "./validation.js";

function check(crd: CustomResourceDefinition): string[] {
  defaultCRD(crd);
  return validateCRD(crd).map(fieldErrorMessage);
}

const at = fieldPath("spec", "versions").index(0).child("schema", "openAPIV3Schema");

function schemaErrors(schema: unknown, statusEnabled = false): string[] {
  return validateCRDSchema(schema, at, { statusEnabled }).map(fieldErrorMessage);
}

describe("validateCRD", () => {
  it("accepts the sample CRDs", () => {
    expect(check(widgetCRD())).toEqual([]);
    expect(check(cronTabCRD())).toEqual([]);
  });

  it("requires the name to be <plural>.<group>", () => {
    const crd = cronTabCRD();
    crd.metadata.name = "crontab.stable.example.com";
    expect(check(crd)).toEqual(['metadata.name: Invalid value: "crontab.stable.example.com": must be spec.names.plural+"."+spec.group']);
  });

  it("wants exactly one storage version", () => {
    const crd = widgetCRD();
    crd.spec.versions[1]!.storage = true;
    expect(check(crd)).toEqual(['spec.versions: Invalid value: ["v1","v1beta1","v1alpha1"]: must have exactly one version marked as storage version']);
    crd.spec.versions.forEach((v) => (v.storage = false));
    expect(check(crd)).toEqual(['spec.versions: Invalid value: ["v1","v1beta1","v1alpha1"]: must have exactly one version marked as storage version']);
  });

  it("checks the group, scope, names and version names", () => {
    const crd = cronTabCRD();
    crd.spec.group = "example";
    crd.metadata.name = "crontabs.example";
    crd.spec.scope = "Global";
    crd.spec.names.shortNames = ["CT"];
    crd.spec.versions[0]!.name = "1";
    expect(check(crd)).toEqual([
      'spec.group: Invalid value: "example": should be a domain with at least one dot',
      'spec.scope: Unsupported value: "Global": supported values: "Cluster", "Namespaced"',
      expect.stringMatching(/^spec\.versions\[0\]\.name: Invalid value: "1": a DNS-1035 label must consist of/),
      expect.stringMatching(/^spec\.names\.shortNames\[0\]: Invalid value: "CT": a DNS-1035 label/),
    ]);
  });

  it("defaults singular and listKind from the kind, and conversion to None", () => {
    const crd = cronTabCRD();
    defaultCRD(crd);
    expect(crd.spec.names).toMatchObject({ singular: "crontab", listKind: "CronTabList" });
    expect(crd.spec.conversion).toEqual({ strategy: "None" });
  });

  it("reports missing names when nothing can default them", () => {
    const crd = cronTabCRD();
    crd.spec.names = { plural: "crontabs" };
    expect(check(crd)).toEqual(["spec.names.singular: Required value", "spec.names.kind: Required value", "spec.names.listKind: Required value"]);
  });

  it("needs a schema for every version", () => {
    const crd = cronTabCRD();
    delete crd.spec.versions[0]!.schema;
    expect(check(crd)).toEqual(["spec.versions[0].schema.openAPIV3Schema: Required value: schemas are required"]);
  });

  it("protects the Kubernetes groups unless approved", () => {
    const crd = cronTabCRD();
    crd.spec.group = "stable.k8s.io";
    crd.metadata.name = "crontabs.stable.k8s.io";
    expect(check(crd)).toEqual([expect.stringMatching(/^metadata\.annotations\[api-approved\.kubernetes\.io\]: Required value: protected groups/)]);
    crd.metadata.annotations = { "api-approved.kubernetes.io": "https://github.com/kubernetes/kubernetes/pull/1" };
    expect(check(crd)).toEqual([]);
  });

  it("refuses webhook conversion and preserveUnknownFields", () => {
    const crd = cronTabCRD();
    crd.spec.conversion = { strategy: "Webhook" };
    crd.spec.preserveUnknownFields = true;
    expect(check(crd)).toEqual([
      expect.stringMatching(/^spec\.preserveUnknownFields: Invalid value: true: cannot set to true/),
      expect.stringMatching(/^spec\.conversion\.strategy: Invalid value: "Webhook": corekube calls no conversion webhooks/),
    ]);
  });

  it("does not crash on a spec of the wrong shape", () => {
    expect(validateCRD({ metadata: { name: "x" }, spec: "nope" } as never).map(fieldErrorMessage)).toEqual(["spec: Required value"]);
    const crd = cronTabCRD() as unknown as { spec: Record<string, unknown> };
    crd.spec.versions = "v1";
    crd.spec.names = 5;
    expect(validateCRD(crd as never).length).toBeGreaterThan(0);
  });
});

describe("subresources, printer columns and selectable fields", () => {
  it("wants scale paths under .spec and .status", () => {
    const crd = widgetCRD();
    crd.spec.versions[0]!.subresources!.scale = { specReplicasPath: ".status.replicas", statusReplicasPath: "status.replicas", labelSelectorPath: ".metadata.x" };
    expect(check(crd)).toEqual([
      'spec.versions[0].subresources.scale.specReplicasPath: Invalid value: ".status.replicas": should be a json path under .spec',
      'spec.versions[0].subresources.scale.statusReplicasPath: Invalid value: "status.replicas": must be a simple json path starting with .',
      'spec.versions[0].subresources.scale.labelSelectorPath: Invalid value: ".metadata.x": should be a json path under either .spec or .status',
    ]);
  });

  it("checks each printer column's name, type, format and JSONPath", () => {
    const crd = widgetCRD();
    crd.spec.versions[0]!.additionalPrinterColumns = [
      { name: "", type: "text", jsonPath: ".spec.replicas" },
      { name: "Size", type: "integer", format: "huge", jsonPath: "..spec" },
      { name: "Img", type: "string", jsonPath: "spec.image" },
    ];
    expect(check(crd)).toEqual([
      "spec.versions[0].additionalPrinterColumns[0].name: Required value",
      'spec.versions[0].additionalPrinterColumns[0].type: Invalid value: "text": must be one of boolean,date,integer,number,string',
      'spec.versions[0].additionalPrinterColumns[1].format: Invalid value: "huge": must be one of byte,date,date-time,double,float,int32,int64,password',
      'spec.versions[0].additionalPrinterColumns[1].jsonPath: Invalid value: "..spec": invalid JSONPath "..spec": recursive descent (..) is not supported',
      'spec.versions[0].additionalPrinterColumns[2].jsonPath: Invalid value: "spec.image": must be a simple json path starting with .',
    ]);
  });

  it("allows selectable fields only on scalar, non-metadata fields", () => {
    const crd = widgetCRD();
    crd.spec.versions[0]!.selectableFields = [{ jsonPath: ".spec.selector" }, { jsonPath: ".metadata.name" }, { jsonPath: ".spec.nope" }, { jsonPath: ".spec.color" }, { jsonPath: ".spec.color" }];
    expect(check(crd)).toEqual([
      'spec.versions[0].selectableFields[0].jsonPath: Invalid value: ".spec.selector": must point to a field of type string, boolean or integer',
      'spec.versions[0].selectableFields[1].jsonPath: Invalid value: ".metadata.name": must not point to fields in metadata',
      'spec.versions[0].selectableFields[2].jsonPath: Invalid value: ".spec.nope": is an invalid path: does not refer to a valid field',
      'spec.versions[0].selectableFields[4].jsonPath: Duplicate value: ".spec.color"',
    ]);
  });

  it("limits the schema root when the status subresource is on", () => {
    expect(schemaErrors({ type: "object", properties: {}, anyOf: [{ required: ["spec"] }] }, true)).toEqual([
      expect.stringMatching(/^spec\.versions\[0\]\.schema\.openAPIV3Schema: Forbidden: only .* are allowed at the root of the schema if the status subresource is enabled \(found anyOf\)$/),
    ]);
  });
});

describe("structural schemas", () => {
  it("needs a type at every level", () => {
    expect(
      schemaErrors({
        properties: { spec: { properties: { list: { type: "array", items: { description: "x" } }, noItems: { type: "array" } } } },
      }),
    ).toEqual([
      "spec.versions[0].schema.openAPIV3Schema.type: Required value: must not be empty at the root",
      "spec.versions[0].schema.openAPIV3Schema.properties[spec].type: Required value: must not be empty for specified object fields",
      "spec.versions[0].schema.openAPIV3Schema.properties[spec].properties[list].items.type: Required value: must not be empty for specified array items",
      "spec.versions[0].schema.openAPIV3Schema.properties[spec].properties[noItems].items: Required value: must be specified",
    ]);
  });

  it("lets int-or-string and preserve-unknown-fields nodes go without a type", () => {
    expect(
      schemaErrors({
        type: "object",
        properties: {
          port: { "x-kubernetes-int-or-string": true, anyOf: [{ type: "integer" }, { type: "string" }] },
          blob: { "x-kubernetes-preserve-unknown-fields": true },
        },
      }),
    ).toEqual([]);
  });

  it("forbids shape in value validations and asks for what they mention", () => {
    expect(
      schemaErrors({
        type: "object",
        properties: { spec: { type: "object", properties: { a: { type: "string" } } } },
        anyOf: [{ type: "object", properties: { spec: { properties: { b: { default: "x" } } } } }],
      }),
    ).toEqual([
      "spec.versions[0].schema.openAPIV3Schema.anyOf[0].type: Forbidden: must be empty to be structural",
      "spec.versions[0].schema.openAPIV3Schema.anyOf[0].properties[spec].properties[b].default: Forbidden: must be undefined to be structural",
      "spec.versions[0].schema.openAPIV3Schema.properties[spec].properties[b]: Required value: because it is defined in spec.versions[0].schema.openAPIV3Schema.anyOf[0].properties[spec].properties[b]",
    ]);
  });

  it("restricts metadata at the root to name and generateName", () => {
    expect(schemaErrors({ type: "object", properties: { metadata: { type: "object", properties: { name: { type: "string", maxLength: 8 } } } } })).toEqual([]);
    expect(schemaErrors({ type: "object", properties: { metadata: { type: "object", properties: { labels: { type: "object" } } } } })).toEqual([
      "spec.versions[0].schema.openAPIV3Schema.properties[metadata]: Forbidden: must not specify anything other than name and generateName, but metadata is implicitly specified",
    ]);
    expect(schemaErrors({ type: "object", properties: { metadata: { type: "object", default: {} } } })).toEqual([
      "spec.versions[0].schema.openAPIV3Schema.properties[metadata].default: Forbidden: must not be set in top-level metadata",
    ]);
  });

  it("forbids what OpenAPI-in-Kubernetes does not have", () => {
    expect(
      schemaErrors({
        type: "object",
        additionalProperties: { type: "string" },
        properties: {
          a: { $ref: "#/definitions/x", type: "string" },
          b: { type: "null" },
          c: { type: "array", items: { type: "string" }, uniqueItems: true },
          d: { type: "object", properties: { x: { type: "string" } }, additionalProperties: { type: "string" } },
          e: { type: "string", pattern: "^(?=a)" },
        },
      }),
    ).toEqual([
      "spec.versions[0].schema.openAPIV3Schema.additionalProperties: Forbidden: must not be used at the root",
      "spec.versions[0].schema.openAPIV3Schema.additionalProperties: Forbidden: additionalProperties and properties are mutual exclusive",
      "spec.versions[0].schema.openAPIV3Schema.properties[a].$ref: Forbidden: $ref is not supported",
      "spec.versions[0].schema.openAPIV3Schema.properties[b].type: Forbidden: type cannot be set to null, use nullable as an alternative",
      "spec.versions[0].schema.openAPIV3Schema.properties[c].uniqueItems: Forbidden: uniqueItems cannot be set to true since the runtime complexity becomes quadratic",
      "spec.versions[0].schema.openAPIV3Schema.properties[d].additionalProperties: Forbidden: additionalProperties and properties are mutual exclusive",
      'spec.versions[0].schema.openAPIV3Schema.properties[e].pattern: Invalid value: "^(?=a)": must be a valid regular expression, but isn\'t: look-around assertions are not supported',
    ]);
  });

  it("checks that x-kubernetes extensions agree with each other", () => {
    expect(
      schemaErrors({
        type: "object",
        properties: {
          a: { "x-kubernetes-int-or-string": true, "x-kubernetes-preserve-unknown-fields": true },
          b: { type: "string", "x-kubernetes-embedded-resource": true },
          c: { type: "object", "x-kubernetes-list-type": "map" },
          d: { type: "array", "x-kubernetes-list-type": "map", items: { type: "object", properties: { name: { type: "string" } } } },
          e: { type: "array", "x-kubernetes-list-map-keys": ["name"], items: { type: "object", required: ["name"], properties: { name: { type: "string" } } } },
          f: { type: "object", "x-kubernetes-preserve-unknown-fields": false },
        },
      }),
    ).toEqual([
      "spec.versions[0].schema.openAPIV3Schema.properties[a].x-kubernetes-preserve-unknown-fields: Invalid value: true: must be false if x-kubernetes-int-or-string is true",
      'spec.versions[0].schema.openAPIV3Schema.properties[b].type: Invalid value: "string": must be object if x-kubernetes-embedded-resource is true',
      "spec.versions[0].schema.openAPIV3Schema.properties[b].properties: Required value: must not be empty if x-kubernetes-embedded-resource is true without x-kubernetes-preserve-unknown-fields",
      'spec.versions[0].schema.openAPIV3Schema.properties[c].type: Invalid value: "object": must be array if x-kubernetes-list-type is specified',
      "spec.versions[0].schema.openAPIV3Schema.properties[c].x-kubernetes-list-map-keys: Required value: must not be empty if x-kubernetes-list-type is map",
      "spec.versions[0].schema.openAPIV3Schema.properties[c].items: Required value: must have a schema if x-kubernetes-list-type is map",
      "spec.versions[0].schema.openAPIV3Schema.properties[d].x-kubernetes-list-map-keys: Required value: must not be empty if x-kubernetes-list-type is map",
      "spec.versions[0].schema.openAPIV3Schema.properties[e].x-kubernetes-list-type: Required value: must be map if x-kubernetes-list-map-keys is non-empty",
      "spec.versions[0].schema.openAPIV3Schema.properties[f].x-kubernetes-preserve-unknown-fields: Invalid value: false: must be true or undefined",
    ]);
  });

  it("asks list-map keys to be required or defaulted", () => {
    expect(
      schemaErrors({
        type: "object",
        properties: {
          ports: {
            type: "array",
            "x-kubernetes-list-type": "map",
            "x-kubernetes-list-map-keys": ["port", "protocol"],
            items: { type: "object", required: ["port"], properties: { port: { type: "integer" }, protocol: { type: "string" } } },
          },
        },
      }),
    ).toEqual([
      "spec.versions[0].schema.openAPIV3Schema.properties[ports].items.properties[protocol].default: Required value: this property is in x-kubernetes-list-map-keys, so it must have a default or be a required property",
    ]);
  });

  it("validates defaults against their own schema", () => {
    expect(
      schemaErrors({
        type: "object",
        properties: {
          replicas: { type: "integer", minimum: 1, default: "one" },
          size: { type: "integer", minimum: 1, default: 0 },
          opts: { type: "object", properties: { a: { type: "string" } }, default: { a: "x", b: "y" } },
        },
      }),
    ).toEqual([
      'spec.versions[0].schema.openAPIV3Schema.properties[replicas].default: Invalid value: "string": in body must be of type integer: "string"',
      "spec.versions[0].schema.openAPIV3Schema.properties[size].default: Invalid value: 0: in body should be greater than or equal to 1",
      'spec.versions[0].schema.openAPIV3Schema.properties[opts].default: Invalid value: {"a":"x","b":"y"}: must not have unknown fields (b)',
    ]);
  });

  it("type-checks keywords instead of crashing", () => {
    expect(schemaErrors({ type: "object", properties: { a: { type: "string", maxLength: "ten", required: "a" } } })).toEqual([
      'spec.versions[0].schema.openAPIV3Schema.properties[a].maxLength: Invalid value: "ten": must be a non-negative integer',
      'spec.versions[0].schema.openAPIV3Schema.properties[a].required: Invalid value: "a": must be a list of property names',
    ]);
    expect(schemaErrors("object")).toEqual(['spec.versions[0].schema.openAPIV3Schema: Invalid value: "object": must be a schema object']);
  });

  it("strips keywords JSONSchemaProps does not have, reporting them", () => {
    const s = { type: "object", proprties: {}, properties: { a: { type: "string", exmaple: 1 } } } as unknown as JSONSchemaProps;
    expect(stripUnknownKeywords(s, "spec.versions[0].schema.openAPIV3Schema")).toEqual([
      "spec.versions[0].schema.openAPIV3Schema.proprties",
      "spec.versions[0].schema.openAPIV3Schema.properties.a.exmaple",
    ]);
    expect(s).toEqual({ type: "object", properties: { a: { type: "string" } } });
  });
});

describe("updates and status", () => {
  function established(): CustomResourceDefinition {
    const crd = widgetCRD();
    defaultCRD(crd);
    establish(crd, undefined, new Date("2024-05-01T12:00:00Z"));
    return crd;
  }

  it("keeps the group, plural, scope and kind", () => {
    const old = established();
    const crd = structuredClone(old);
    crd.spec.scope = "Cluster";
    crd.spec.names.kind = "Gadget";
    crd.spec.names.shortNames = ["w"]; // allowed
    expect(validateCRDUpdate(crd, old).map(fieldErrorMessage)).toEqual([
      'spec.scope: Invalid value: "Cluster": field is immutable',
      'spec.names.kind: Invalid value: "Gadget": field is immutable',
    ]);
  });

  it("will not drop a version that still holds stored objects", () => {
    const old = established();
    old.status!.storedVersions = ["v1beta1", "v1"];
    const crd = structuredClone(old);
    crd.spec.versions = crd.spec.versions.filter((v) => v.name !== "v1beta1");
    expect(validateCRDUpdate(crd, old).map(fieldErrorMessage)).toEqual([
      'status.storedVersions[0]: Invalid value: "v1beta1": missing from spec.versions; v1beta1 was a storage version and must stay in spec.versions until no object remains stored as v1beta1 and v1beta1 is removed from status.storedVersions',
    ]);
  });

  it("checks accepted names and stored versions on status writes", () => {
    const crd = established();
    crd.status!.acceptedNames = { plural: "Widgets", kind: "Widget", listKind: "Widget" };
    crd.status!.storedVersions = [];
    expect(validateCRDStatus(crd).map(fieldErrorMessage)).toEqual([
      expect.stringMatching(/^status\.acceptedNames\.plural: Invalid value: "Widgets": a DNS-1035 label/),
      'status.acceptedNames.listKind: Invalid value: "Widget": kind and listKind may not be the same',
      "status.storedVersions: Invalid value: []: must have at least one stored version",
    ]);
  });
});

describe("nameConflicts", () => {
  it("finds names already served in the same group", () => {
    const crd = widgetCRD();
    const served = [
      { group: "example.corekube.io", resource: "gadgets", singular: "gadget", kind: "Gadget", listKind: "GadgetList", shortNames: ["wd"], crd: "gadgets.example.corekube.io" },
      { group: "other.io", resource: "widgets", singular: "widget", kind: "Widget", listKind: "WidgetList" },
      { group: "example.corekube.io", resource: "widgets", singular: "widget", kind: "Widget", listKind: "WidgetList", crd: "widgets.example.corekube.io" },
    ];
    expect(nameConflicts(crd, served).map(fieldErrorMessage)).toEqual(['spec.names.shortNames[0]: Invalid value: "wd": "wd" is already in use']);
  });
});

describe("isDNS1035Label", () => {
  it("wants a lower-case label starting with a letter", () => {
    expect(isDNS1035Label("v1beta1")).toEqual([]);
    expect(isDNS1035Label("1v")).toHaveLength(1);
    expect(isDNS1035Label("a".repeat(64))).toEqual(["must be no more than 63 characters"]);
  });
});

