// Book 1.6.1 and 11.2: the generated protobuf table lines up with upstream's field numbers and with
// our schemas — every built-in schema has a message, every modelled property a field.
import { describe, expect, it } from "vitest";
import { builtinSchemas } from "../schema/index.js";
import { type MessageDef, isStringList, messageDef, messagesNamed, tableMessages } from "./table.js";

/** Decoded by hand in decode.ts: their JSON is not their message shape. */
const HAND_DECODED = new Set([
  "io.k8s.apimachinery.pkg.apis.meta.v1.Time",
  "io.k8s.apimachinery.pkg.apis.meta.v1.MicroTime",
  "io.k8s.apimachinery.pkg.apis.meta.v1.FieldsV1",
  "io.k8s.apimachinery.pkg.api.resource.Quantity",
  "io.k8s.apimachinery.pkg.util.intstr.IntOrString",
  "io.k8s.apimachinery.pkg.runtime.RawExtension",
  "io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.JSON",
  "io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.JSONSchemaPropsOrArray",
  "io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.JSONSchemaPropsOrBool",
  "io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.JSONSchemaPropsOrStringArray",
]);

/** JSON property names of a message, with inlined embedded structs flattened. */
function jsonNames(def: MessageDef): string[] {
  return def.fields.flatMap((f) => (f.inline ? jsonNames(messageDef(f.message!)!) : [f.json]));
}

const num = (message: string, json: string) => messageDef(message)?.fields.find((f) => f.json === json)?.number;

describe("protobuf field table", () => {
  const schemas = builtinSchemas();

  it("has a message for every built-in schema component", () => {
    const missing = Object.keys(schemas).filter((n) => !HAND_DECODED.has(n) && messageDef(n) === undefined);
    expect(missing).toEqual([]);
  });

  it("has a field for every property our schemas model, and no field they lack", () => {
    const gaps: string[] = [];
    for (const [name, schema] of Object.entries(schemas)) {
      const def = messageDef(name);
      if (def === undefined || schema.properties === undefined) continue;
      const names = new Set(jsonNames(def));
      for (const p of Object.keys(schema.properties)) {
        if (p !== "apiVersion" && p !== "kind" && !names.has(p)) gaps.push(`schema-only ${name}.${p}`);
      }
      for (const n of names) if (!(n in schema.properties)) gaps.push(`table-only ${name}.${n}`);
    }
    expect(gaps).toEqual([]);
  });

  it("resolves every message reference and numbers each field once", () => {
    for (const name of tableMessages()) {
      const def = messageDef(name)!;
      expect(new Set(def.fields.map((f) => f.number)).size).toBe(def.fields.length);
      for (const f of def.fields) {
        if (f.message === undefined) continue;
        const known = messageDef(f.message) !== undefined || HAND_DECODED.has(f.message) || isStringList(f.message);
        expect(known, `${name}.${f.json} → ${f.message}`).toBe(true);
      }
    }
  });

  it("carries upstream's field numbers", () => {
    const META = "io.k8s.apimachinery.pkg.apis.meta.v1.";
    const CORE = "io.k8s.api.core.v1.";
    expect(num(META + "ObjectMeta", "name")).toBe(1);
    expect(num(META + "ObjectMeta", "creationTimestamp")).toBe(8);
    expect(num(META + "ObjectMeta", "labels")).toBe(11);
    expect(num(META + "ObjectMeta", "managedFields")).toBe(17);
    expect(num(CORE + "PodSpec", "containers")).toBe(2);
    expect(num(CORE + "PodSpec", "initContainers")).toBe(20);
    expect(num(CORE + "Container", "resources")).toBe(8);
    expect(num(CORE + "Secret", "data")).toBe(2);
    expect(num(CORE + "Secret", "immutable")).toBe(5);
    expect(num("io.k8s.api.apps.v1.DeploymentSpec", "template")).toBe(3);
    expect(num("io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.JSONSchemaProps", "$ref")).toBe(3);
  });

  it("records Go's JSON rules: pointers, omitempty, omitzero and inlined structs", () => {
    const container = messageDef("io.k8s.api.core.v1.Container")!;
    const name = container.fields.find((f) => f.json === "name")!;
    expect([name.omitEmpty, name.pointer]).toEqual([false, false]);
    const probe = container.fields.find((f) => f.json === "livenessProbe")!;
    expect([probe.pointer, probe.omitEmpty]).toEqual([true, true]);
    const created = messageDef("io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta")!.fields.find((f) => f.number === 8)!;
    expect(created.omitZero).toBe(true);
    const volume = messageDef("io.k8s.api.core.v1.Volume")!.fields.find((f) => f.number === 2)!;
    expect(volume).toMatchObject({ inline: true, message: "io.k8s.api.core.v1.VolumeSource" });
    const secretData = messageDef("io.k8s.api.core.v1.Secret")!.fields.find((f) => f.json === "data")!;
    expect(secretData).toMatchObject({ map: true, scalar: "y" });
  });

  it("finds a kind's message by name across packages", () => {
    expect([...messagesNamed("Event")].sort()).toEqual(["io.k8s.api.core.v1.Event", "io.k8s.api.events.v1.Event"]);
    expect(messagesNamed("NoSuchKind")).toEqual([]);
  });
});
