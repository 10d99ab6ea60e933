// Book 11.2: metadata rules as a client meets them — names, labels, annotations, owners, finalizers.
import { fieldErrorMessage, invalid } from "@corekube/api";
import { describe, expect, it } from "vitest";
import type { KubeObject, ResourceDef } from "../registry/types.js";
import { isDNS1035Label, isDNS1123Label, isValidPathSegmentName, validateLabelSelector, validateObjectMeta, validateObjectMetaUpdate } from "./meta.js";

const def = (over: Partial<ResourceDef> = {}): ResourceDef => ({
  group: "",
  version: "v1",
  resource: "things",
  kind: "Thing",
  listKind: "ThingList",
  singular: "thing",
  namespaced: true,
  strategy: {},
  ...over,
});

const obj = (metadata: KubeObject["metadata"]): KubeObject => ({ metadata });
const messages = (o: KubeObject, d = def(), create = true) => validateObjectMeta(o, d, { create }).map(fieldErrorMessage);

describe("name validators", () => {
  it("DNS-1123 labels: lower case, no dots, at most 63", () => {
    expect(isDNS1123Label("web-1")).toEqual([]);
    expect(isDNS1123Label("a.b")).toEqual(["must not contain dots"]);
    expect(isDNS1123Label("x".repeat(64))).toEqual(["must be no more than 63 characters"]);
    expect(isDNS1123Label("Web")[0]).toBe(
      "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')",
    );
  });
  it("DNS-1035 labels must start with a letter", () => {
    expect(isDNS1035Label("web")).toEqual([]);
    expect(isDNS1035Label("1web")).toHaveLength(1);
  });
  it("path segments refuse '/', '%', '.' and '..'", () => {
    expect(isValidPathSegmentName("system:admin")).toEqual([]);
    expect(isValidPathSegmentName("a/b")).toEqual(["may not contain '/'"]);
    expect(isValidPathSegmentName("..")).toEqual(["may not be '..'"]);
  });
});

describe("validateObjectMeta", () => {
  it("needs a name or generateName", () => {
    expect(messages(obj({ namespace: "default" }))).toEqual(["metadata.name: Required value: name or generateName is required"]);
  });

  it("checks the name by the resource's rule", () => {
    expect(messages(obj({ name: "My_Pod", namespace: "default" }))[0]).toMatch(/^metadata\.name: Invalid value: "My_Pod": a lowercase RFC 1123 subdomain/);
    expect(messages(obj({ name: "a.b", namespace: "default" }), def({ nameValidation: "label" }))).toEqual([
      'metadata.name: Invalid value: "a.b": must not contain dots',
    ]);
    expect(messages(obj({ name: "system:nodes", namespace: "default" }), def({ nameValidation: "path-segment" }))).toEqual([]);
  });

  it("allows a generateName prefix to end in a dash", () => {
    expect(messages(obj({ generateName: "web-", namespace: "default" }))).toEqual([]);
    expect(messages(obj({ generateName: "Web-", namespace: "default" }))[0]).toMatch(/^metadata\.generateName: Invalid value: "Web-"/);
  });

  it("requires a namespace for namespaced kinds and refuses one for cluster kinds", () => {
    expect(messages(obj({ name: "x" }))).toEqual(["metadata.namespace: Required value"]);
    expect(messages(obj({ name: "x", namespace: "ns" }), def({ namespaced: false }))).toEqual(["metadata.namespace: Forbidden: not allowed on this type"]);
  });

  it("checks label keys and values", () => {
    const errs = messages(obj({ name: "x", namespace: "d", labels: { "bad key": "ok", good: "-bad-" } }));
    expect(errs).toHaveLength(2);
    expect(errs[0]).toMatch(/^metadata\.labels: Invalid value: "bad key": name part must consist of alphanumeric/);
    expect(errs[1]).toMatch(/^metadata\.labels: Invalid value: "-bad-": a valid label must be an empty string/);
  });

  it("caps annotations at 256 KiB in total", () => {
    const big = "x".repeat(256 * 1024);
    expect(messages(obj({ name: "x", namespace: "d", annotations: { a: big } }))).toEqual(["metadata.annotations: Too long: may not be more than 262144 bytes"]);
    expect(messages(obj({ name: "x", namespace: "d", annotations: { a: big.slice(1) } }))).toEqual([]);
  });

  it("checks owner references and allows one controller", () => {
    const ref = { apiVersion: "apps/v1", kind: "ReplicaSet", name: "rs", uid: "1", controller: true };
    expect(messages(obj({ name: "x", namespace: "d", ownerReferences: [ref] }))).toEqual([]);
    const errs = messages(obj({ name: "x", namespace: "d", ownerReferences: [ref, { ...ref, name: "rs2", uid: "" }] }));
    expect(errs).toContain('metadata.ownerReferences.uid: Invalid value: "": uid must not be empty');
    expect(errs.some((e) => e.includes('Only one reference can have Controller set to true. Found "true" in references for ReplicaSet/rs and ReplicaSet/rs2'))).toBe(true);
  });

  it("needs finalizers to be standard or domain-qualified", () => {
    expect(messages(obj({ name: "x", namespace: "d", finalizers: ["kubernetes", "example.com/cleanup"] }))).toEqual([]);
    expect(messages(obj({ name: "x", namespace: "d", finalizers: ["cleanup"] }))).toEqual([
      'metadata.finalizers[0]: Invalid value: "cleanup": name is neither a standard finalizer name nor is it fully qualified',
    ]);
  });

  it("skips the name rules on update", () => {
    expect(messages(obj({ name: "Legacy_Name" }), def(), false)).toEqual([]);
  });

  it("reads as a Kubernetes Invalid status", () => {
    const errs = validateObjectMeta(obj({ name: "Bad", namespace: "default" }), def({ nameValidation: "label" }), { create: true });
    const status = invalid({ kind: "Thing" }, "Bad", errs).status;
    expect(status.code).toBe(422);
    expect(status.message).toMatch(/^Thing "Bad" is invalid: metadata\.name: Invalid value: "Bad": a lowercase RFC 1123 label/);
  });
});

describe("validateLabelSelector", () => {
  it("checks operators and values", () => {
    const errs = validateLabelSelector(
      {
        matchLabels: { app: "web" },
        matchExpressions: [
          { key: "tier", operator: "In", values: [] },
          { key: "x", operator: "Exists", values: ["a"] },
          { key: "y", operator: "Near" },
        ],
      },
      "spec.selector",
    ).map(fieldErrorMessage);
    expect(errs[0]).toBe("spec.selector.matchExpressions[0].values: Required value: must be specified when `operator` is 'In' or 'NotIn'");
    expect(errs[1]).toBe("spec.selector.matchExpressions[1].values: Forbidden: may not be specified when `operator` is 'Exists' or 'DoesNotExist'");
    expect(errs[2]).toMatch(/^spec\.selector\.matchExpressions\[2\]\.operator: Invalid value: "Near": not a valid selector operator/);
  });
});

describe("validateObjectMetaUpdate", () => {
  const old = obj({ name: "a", namespace: "d", uid: "u1", creationTimestamp: "2024-01-01T00:00:00Z", generation: 3 });
  it("accepts label changes", () => {
    expect(validateObjectMetaUpdate(obj({ ...old.metadata, labels: { a: "b" } }), old)).toEqual([]);
  });
  it("refuses changes to identity and a lower generation", () => {
    const errs = validateObjectMetaUpdate(obj({ ...old.metadata, uid: "u2", generation: 2 }), old).map(fieldErrorMessage);
    expect(errs).toEqual(["metadata.generation: Invalid value: 2: must not be decremented", 'metadata.uid: Invalid value: "u2": field is immutable']);
  });
});
