// Book 11.2: bodies that cannot decode into the kind's types are refused before validation.
import { describe, expect, it } from "vitest";
import { builtinSchemas, createResolver } from "./index.js";
import { decodeError, firstTypeMismatch } from "./decode-check.js";

const resolver = createResolver(builtinSchemas());
const check = (name: string, kind: string, v: unknown) => firstTypeMismatch(v, resolver.get(name)!, resolver, kind);

describe("firstTypeMismatch", () => {
  it("names the struct, the path and the Go type", () => {
    const m = check("io.k8s.api.apps.v1.Deployment", "Deployment", { spec: { replicas: "3" } });
    expect(m).toEqual({ field: "DeploymentSpec.spec.replicas", found: "string", want: "int32" });
    expect(decodeError("Deployment", "v1", m!).status).toMatchObject({
      code: 400,
      reason: "BadRequest",
      message: 'Deployment in version "v1" cannot be handled as a Deployment: json: cannot unmarshal string into Go struct field DeploymentSpec.spec.replicas of type int32',
    });
  });

  it("checks maps, lists, fractions and objects in place of strings", () => {
    expect(check("io.k8s.api.core.v1.ConfigMap", "ConfigMap", { data: [] })).toMatchObject({ field: "ConfigMap.data", found: "array", want: "map[string]string" });
    expect(check("io.k8s.api.core.v1.ConfigMap", "ConfigMap", { metadata: { name: { a: 1 } } })).toMatchObject({ field: "ObjectMeta.metadata.name", found: "object" });
    expect(check("io.k8s.api.core.v1.Pod", "Pod", { spec: { containers: [{ ports: [{ containerPort: 80.5 }] }] } })).toMatchObject({ found: "number 80.5", want: "int32" });
  });

  it("accepts what Kubernetes accepts: quantities as numbers, int-or-string, nulls", () => {
    const pod = { spec: { containers: [{ name: "c", resources: { limits: { cpu: 1, memory: "1Gi" } }, livenessProbe: { httpGet: { port: "http" } } }], nodeName: null } };
    expect(check("io.k8s.api.core.v1.Pod", "Pod", pod)).toBeUndefined();
    expect(check("io.k8s.api.core.v1.Service", "Service", { spec: { ports: [{ port: 80, targetPort: 8080 }] } })).toBeUndefined();
    expect(check("io.k8s.api.core.v1.Service", "Service", { spec: { ports: [{ port: 80, targetPort: true }] } })).toMatchObject({ want: "intstr.IntOrString" });
  });

  it("turns null list elements of structs into empty objects, as Go's decoder does", () => {
    const pod = { spec: { containers: [null] } };
    expect(check("io.k8s.api.core.v1.Pod", "Pod", pod)).toBeUndefined();
    expect(pod.spec.containers).toEqual([{}]);
  });
});
