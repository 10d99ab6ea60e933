// Book 11.2 and 12.3: tests for reading and writing metadata.managedFields — validation wording,
// entry identity, and the order Kubernetes lists entries in.
import { describe, expect, it } from "vitest";
import type { ManagedFieldsEntry } from "../../registry/types.js";
import { fieldPE as f } from "./fieldpath.js";
import { FieldSet } from "./fieldset.js";
import { decodeManagedFields, encodeManagedFields, ManagedFieldsError, managerId } from "./managers.js";

const fields = { "f:spec": { "f:replicas": {} } };
const e = (over: Partial<ManagedFieldsEntry>): ManagedFieldsEntry => ({
  manager: "m",
  operation: "Update",
  apiVersion: "apps/v1",
  fieldsType: "FieldsV1",
  fieldsV1: fields,
  ...over,
});

describe("managedFields entries", () => {
  it("round-trips entries and lists Apply before Update, then oldest first, then by name", () => {
    const input = [
      e({ manager: "z", time: "2024-01-01T00:00:00Z" }),
      e({ manager: "b", time: "2024-01-02T00:00:00Z" }),
      e({ manager: "a", time: "2024-01-02T00:00:00Z" }),
      e({ manager: "kubectl", operation: "Apply", time: "2024-01-03T00:00:00Z" }),
    ];
    expect(encodeManagedFields(decodeManagedFields(input)).map((x) => x.manager)).toEqual(["kubectl", "z", "a", "b"]);
    expect(encodeManagedFields(decodeManagedFields([input[0]!]))).toEqual([input[0]]);
  });

  it("identifies Update entries by version and Apply entries without it", () => {
    const base = { manager: "m", subresource: "" };
    expect(managerId({ ...base, operation: "Update", apiVersion: "apps/v1" })).not.toBe(managerId({ ...base, operation: "Update", apiVersion: "apps/v1beta1" }));
    expect(managerId({ ...base, operation: "Apply", apiVersion: "apps/v1" })).toBe(managerId({ ...base, operation: "Apply", apiVersion: "apps/v1beta1" }));
    expect(managerId({ ...base, operation: "Apply", apiVersion: "v1", subresource: "status" })).toBe(
      '{"manager":"m","operation":"Apply","subresource":"status"}',
    );
  });

  it("rejects malformed entries with Kubernetes' wording", () => {
    const bad = (x: unknown) => () => decodeManagedFields([x]);
    expect(bad(e({ operation: "Patch" as "Update" }))).toThrow("operation must be `Apply` or `Update`");
    expect(bad(e({ apiVersion: "" }))).toThrow("apiVersion must not be empty");
    expect(bad({ ...e({}), fieldsType: undefined })).toThrow("missing fieldsType in managed fields entry 0");
    expect(bad(e({ fieldsType: "FieldsV2" as "FieldsV1" }))).toThrow('invalid fieldsType "FieldsV2" in managed fields entry 0');
    expect(bad(e({ fieldsV1: { "k:{": {} } }))).toThrow(ManagedFieldsError);
    expect(() => decodeManagedFields("nope")).toThrow(ManagedFieldsError);
  });

  it("does not write entries whose set is empty", () => {
    const m = decodeManagedFields([e({})]);
    const [id, entry] = [...m][0]!;
    m.set(id, { ...entry, set: new FieldSet() });
    m.set("other", { ...entry, manager: "other", set: FieldSet.of([f("x")]) });
    expect(encodeManagedFields(m).map((x) => x.manager)).toEqual(["other"]);
  });
});
