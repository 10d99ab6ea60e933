// Book 1.6.1 and 11.2: decoding Kubernetes protobuf request bodies — real kubectl captures and
// hand-built bodies of the common kinds, the special types, and every way a body can be bad.
import { StatusError } from "@corekube/api";
import { describe, expect, it } from "vitest";
import { builtinSchemas, createResolver } from "../schema/index.js";
import type { Schema } from "../schema/types.js";
import { decodeKubernetesProtobuf, isKubernetesProtobuf, MAX_PROTOBUF_DEPTH } from "./decode.js";
import { KUBECTL_AUTH_CAPTURES, KUBECTL_CAPTURES } from "./fixtures.js";
import {
  bytes,
  double,
  entry,
  envelope,
  intOrString,
  msg,
  objectMeta,
  packed,
  quantity,
  str,
  stringMap,
  sub,
  timestamp,
  varint,
} from "./testenc.js";

const resolver = createResolver(builtinSchemas());
const decode = (body: Uint8Array) => decodeKubernetesProtobuf(body, resolver);

/** The StatusError a decode throws (fails the test if it returns or throws anything else). */
function failureOf(body: Uint8Array, r = resolver): StatusError {
  try {
    decodeKubernetesProtobuf(body, r);
  } catch (e) {
    expect(e).toBeInstanceOf(StatusError);
    return e as StatusError;
  }
  throw new Error("expected the decode to fail");
}

/** kubectl 1.33 prints `creationTimestamp: null`; current upstream (omitzero) leaves it out, as we do. */
function withoutNullCreationTimestamp(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(withoutNullCreationTimestamp);
  if (v === null || typeof v !== "object") return v;
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v)) {
    if (k === "creationTimestamp" && x === null) continue;
    out[k] = withoutNullCreationTimestamp(x);
  }
  return out;
}

describe("bodies captured from kubectl 1.33", () => {
  for (const c of Object.values(KUBECTL_CAPTURES)) {
    it(`kubectl ${c.command}`, () => {
      expect(decode(Buffer.from(c.body, "base64"))).toEqual(withoutNullCreationTimestamp(c.json));
    });
  }

  it("sends an empty creationTimestamp, which decodes to no key at all", () => {
    const ns = decode(Buffer.from(KUBECTL_CAPTURES.namespace!.body, "base64"));
    expect(ns.metadata).toEqual({ name: "x" });
    expect("creationTimestamp" in ns.metadata).toBe(false);
  });

  it("decodes Secret data (map<string, bytes>) to base64 strings", () => {
    const s = decode(Buffer.from(KUBECTL_CAPTURES.secret!.body, "base64"));
    expect(s.data).toEqual({ user: "YWRtaW4=", pass: Buffer.from("p@ss w0rd").toString("base64") });
  });
});

describe("auth kinds kubectl sends as protobuf", () => {
  const body = (n: string) => Buffer.from(KUBECTL_AUTH_CAPTURES[n]!.body, "base64");
  const withRoots = (): ReturnType<typeof createResolver> => {
    const schemas = builtinSchemas();
    const root = (group: string, kind: string): Schema => ({
      type: "object",
      "x-kubernetes-group-version-kind": [{ group, version: "v1", kind }],
    });
    schemas["io.k8s.api.authorization.v1.SelfSubjectAccessReview"] = root("authorization.k8s.io", "SelfSubjectAccessReview");
    schemas["io.k8s.api.authentication.v1.SelfSubjectReview"] = root("authentication.k8s.io", "SelfSubjectReview");
    schemas["io.k8s.api.authentication.v1.TokenRequest"] = root("authentication.k8s.io", "TokenRequest");
    return createResolver(schemas);
  };

  it("are refused while no schema registers them", () => {
    const err = failureOf(body("selfsubjectaccessreviews"));
    expect(err.code).toBe(400);
    expect(err.message).toBe('no kind "SelfSubjectAccessReview" is registered for version "authorization.k8s.io/v1"');
  });

  it("decode once a schema registers the kind", () => {
    const r = withRoots();
    expect(decodeKubernetesProtobuf(body("selfsubjectaccessreviews"), r)).toEqual({
      kind: "SelfSubjectAccessReview",
      apiVersion: "authorization.k8s.io/v1",
      metadata: {},
      spec: { resourceAttributes: { namespace: "default", verb: "get", resource: "pods" } },
      status: { allowed: false },
    });
    expect(decodeKubernetesProtobuf(body("selfsubjectreviews"), r)).toEqual({
      kind: "SelfSubjectReview",
      apiVersion: "authentication.k8s.io/v1",
      metadata: {},
      status: { userInfo: {} },
    });
    // Non-omitempty fields the client left unset come out as Go's zero values.
    expect(decodeKubernetesProtobuf(body("token"), r)).toEqual({
      kind: "TokenRequest",
      apiVersion: "authentication.k8s.io/v1",
      metadata: {},
      spec: { audiences: null, expirationSeconds: null, boundObjectRef: null },
      status: { token: "", expirationTimestamp: null },
    });
  });

  it("turns ExtraValue (a Go []string) into a plain array", () => {
    const schemas = builtinSchemas();
    schemas["io.k8s.api.authorization.v1.SubjectAccessReview"] = {
      type: "object",
      "x-kubernetes-group-version-kind": [{ group: "authorization.k8s.io", version: "v1", kind: "SubjectAccessReview" }],
    };
    const body2 = envelope(
      "authorization.k8s.io/v1",
      "SubjectAccessReview",
      msg(sub(2, str(3, "alice"), entry(5, "scopes", sub(2, str(1, "a"), str(1, "b"))), entry(5, "none", sub(2)))),
    );
    const got = decodeKubernetesProtobuf(body2, createResolver(schemas));
    expect(got.spec).toEqual({ user: "alice", extra: { scopes: ["a", "b"], none: [] } });
  });
});

describe("hand-built bodies", () => {
  it("Namespace: metadata, spec finalizers, and an empty status", () => {
    const body = envelope("v1", "Namespace", msg(objectMeta("demo", undefined, { team: "a" }), sub(2, str(1, "kubernetes"))));
    expect(decode(body)).toEqual({
      kind: "Namespace",
      apiVersion: "v1",
      metadata: { name: "demo", labels: { team: "a" } },
      spec: { finalizers: ["kubernetes"] },
      status: {},
    });
  });

  it("ConfigMap: map<string, string>, and a pointer bool kept at false", () => {
    const body = envelope(
      "v1",
      "ConfigMap",
      msg(objectMeta("cm", "default"), stringMap(2, { "b.txt": "two", "a.txt": "one" }), varint(4, false)),
    );
    const cm = decode(body);
    expect(cm).toEqual({
      kind: "ConfigMap",
      apiVersion: "v1",
      metadata: { name: "cm", namespace: "default" },
      immutable: false,
      data: { "a.txt": "one", "b.txt": "two" },
    });
    // Like Go's JSON, map keys come out sorted.
    expect(Object.keys(cm.data as object)).toEqual(["a.txt", "b.txt"]);
  });

  it("keeps a map key named __proto__ as data", () => {
    const cm = decode(envelope("v1", "ConfigMap", msg(objectMeta("cm"), entry(2, "__proto__", str(2, "x")), entry(2, "a", str(2, "1")))));
    expect(Object.keys(cm.data as object)).toEqual(["__proto__", "a"]);
    expect(Object.getOwnPropertyDescriptor(cm.data, "__proto__")?.value).toBe("x");
    expect(Object.getPrototypeOf(cm.data)).toBe(Object.prototype);
  });

  it("Secret: map<string, bytes> as base64, a value-less entry as empty", () => {
    const body = envelope(
      "v1",
      "Secret",
      msg(
        objectMeta("s"),
        entry(2, "key", bytes(2, Uint8Array.from([0, 1, 2, 255]))),
        entry(2, "empty", new Uint8Array(0)),
        str(3, "Opaque"),
      ),
    );
    expect(decode(body)).toEqual({
      kind: "Secret",
      apiVersion: "v1",
      metadata: { name: "s" },
      data: { key: "AAEC/w==", empty: "" },
      type: "Opaque",
    });
  });

  it("Pod: containers, ports, Quantity resources, probes with IntOrString ports", () => {
    const container = sub(
      2,
      str(1, "web"),
      str(2, "nginx:1.27"),
      sub(6, str(1, "http"), varint(3, 8080), str(4, "TCP")),
      sub(7, str(1, "MODE"), str(2, "prod")),
      sub(8, entry(1, "cpu", quantity(2, "500m")), entry(1, "memory", quantity(2, "128Mi")), entry(2, "cpu", quantity(2, "0.25"))),
      sub(10, sub(1, sub(2, str(1, "/healthz"), intOrString(2, "http"))), varint(2, 5)),
      sub(11, sub(1, sub(3, intOrString(1, 8080))), varint(4, 0)),
      sub(15, varint(2, false), varint(4, 0)),
    );
    const sidecar = sub(2, str(1, "log"));
    const body = envelope(
      "v1",
      "Pod",
      msg(objectMeta("p", "default", { app: "web" }), sub(2, container, sidecar, str(3, "Always"), varint(4, 0))),
    );
    expect(decode(body)).toEqual({
      kind: "Pod",
      apiVersion: "v1",
      metadata: { name: "p", namespace: "default", labels: { app: "web" } },
      spec: {
        containers: [
          {
            name: "web",
            image: "nginx:1.27",
            ports: [{ name: "http", containerPort: 8080, protocol: "TCP" }],
            env: [{ name: "MODE", value: "prod" }],
            // Quantities come back in canonical form, as Go re-serialises them ("0.25" → "250m").
            resources: { limits: { cpu: "500m", memory: "128Mi" }, requests: { cpu: "250m" } },
            livenessProbe: { httpGet: { path: "/healthz", port: "http" }, initialDelaySeconds: 5 },
            readinessProbe: { tcpSocket: { port: 8080 } },
            securityContext: { privileged: false, runAsUser: 0 },
          },
          // A container with only a name still gets its (non-pointer) resources struct.
          { name: "log", resources: {} },
        ],
        restartPolicy: "Always",
        terminationGracePeriodSeconds: 0,
      },
      status: {},
    });
  });

  it("Pod: packed and unpacked repeated int64, negative numbers", () => {
    const body = envelope(
      "v1",
      "Pod",
      msg(objectMeta("p"), sub(2, sub(14, packed(4, [1000, 2000]), varint(4, 3000), varint(2, -1)))),
    );
    const spec = decode(body).spec as Record<string, unknown>;
    expect(spec.securityContext).toEqual({ runAsUser: -1, supplementalGroups: [1000, 2000, 3000] });
    // containers is not omitempty in Go: an absent list is null.
    expect(spec.containers).toBeNull();
  });

  it("Job: pointer int32 fields and its pod template", () => {
    const template = sub(6, sub(1), sub(2, sub(2, str(1, "work"), str(2, "busybox"), str(3, "echo")), str(3, "Never")));
    const body = envelope("batch/v1", "Job", msg(objectMeta("j"), sub(2, varint(1, 1), varint(2, 1), varint(7, 4), template)));
    expect(decode(body)).toEqual({
      kind: "Job",
      apiVersion: "batch/v1",
      metadata: { name: "j" },
      spec: {
        parallelism: 1,
        completions: 1,
        backoffLimit: 4,
        template: {
          metadata: {},
          spec: { containers: [{ name: "work", image: "busybox", command: ["echo"], resources: {} }], restartPolicy: "Never" },
        },
      },
      status: {},
    });
  });

  it("Role: rules, an empty-string API group kept, and rules null when absent", () => {
    const rule = sub(2, str(1, "get"), str(1, "list"), str(2, ""), str(3, "pods"));
    expect(decode(envelope("rbac.authorization.k8s.io/v1", "Role", msg(objectMeta("r", "ns"), rule)))).toEqual({
      kind: "Role",
      apiVersion: "rbac.authorization.k8s.io/v1",
      metadata: { name: "r", namespace: "ns" },
      rules: [{ verbs: ["get", "list"], apiGroups: [""], resources: ["pods"] }],
    });
    expect(decode(envelope("rbac.authorization.k8s.io/v1", "Role", objectMeta("r"))).rules).toBeNull();
  });

  it("Service: ports with int and string targetPorts, selector, and the status it always has", () => {
    const body = envelope(
      "v1",
      "Service",
      msg(
        objectMeta("svc"),
        sub(
          2,
          sub(1, str(1, "http"), str(2, "TCP"), varint(3, 80), intOrString(4, 8080)),
          sub(1, str(1, "https"), varint(3, 443), intOrString(4, "https")),
          sub(1, varint(3, 53)),
          stringMap(2, { app: "web" }),
          str(4, "ClusterIP"),
        ),
      ),
    );
    expect(decode(body)).toEqual({
      kind: "Service",
      apiVersion: "v1",
      metadata: { name: "svc" },
      spec: {
        ports: [
          { name: "http", protocol: "TCP", port: 80, targetPort: 8080 },
          { name: "https", port: 443, targetPort: "https" },
          // targetPort is a struct in Go: omitempty does not drop it, so it reads 0.
          { port: 53, targetPort: 0 },
        ],
        selector: { app: "web" },
        type: "ClusterIP",
      },
      status: { loadBalancer: {} },
    });
  });

  it("ServiceAccount: references and a false automount", () => {
    const body = envelope("v1", "ServiceAccount", msg(objectMeta("sa"), sub(2, str(3, "tok")), sub(3, str(1, "reg")), varint(4, false)));
    expect(decode(body)).toEqual({
      kind: "ServiceAccount",
      apiVersion: "v1",
      metadata: { name: "sa" },
      secrets: [{ name: "tok" }],
      imagePullSecrets: [{ name: "reg" }],
      automountServiceAccountToken: false,
    });
  });

  it("PriorityClass: value kept even at 0 and when negative; zero omitempty fields dropped", () => {
    const pc = (...f: Uint8Array[]) => decode(envelope("scheduling.k8s.io/v1", "PriorityClass", msg(objectMeta("pc"), ...f)));
    expect(pc(varint(2, 1000), varint(3, false), str(4, "high"), str(5, "Never"))).toEqual({
      kind: "PriorityClass",
      apiVersion: "scheduling.k8s.io/v1",
      metadata: { name: "pc" },
      value: 1000,
      description: "high",
      preemptionPolicy: "Never",
    });
    expect(pc(varint(2, 0)).value).toBe(0);
    expect(pc().value).toBe(0);
    expect(pc(varint(2, -5)).value).toBe(-5);
  });

  it("Deployment: a nil pointer selector without omitempty is null", () => {
    const d = decode(envelope("apps/v1", "Deployment", msg(objectMeta("d"), sub(2, varint(1, 2)))));
    expect(d.spec).toEqual({ replicas: 2, selector: null, template: { metadata: {}, spec: { containers: null } }, strategy: {} });
  });

  it("DeleteOptions under any group-version, and policy/v1 Eviction", () => {
    const del = decode(envelope("apps/v1", "DeleteOptions", msg(varint(1, 0), str(4, "Foreground"), str(5, "All"))));
    expect(del).toEqual({
      kind: "DeleteOptions",
      apiVersion: "apps/v1",
      gracePeriodSeconds: 0,
      propagationPolicy: "Foreground",
      dryRun: ["All"],
    });
    const ev = decode(envelope("policy/v1", "Eviction", msg(objectMeta("p", "ns"), sub(2, varint(1, 30)))));
    expect(ev).toEqual({
      kind: "Eviction",
      apiVersion: "policy/v1",
      metadata: { name: "p", namespace: "ns" },
      deleteOptions: { gracePeriodSeconds: 30 },
    });
  });
});

describe("special types", () => {
  it("Time to the second, MicroTime to the microsecond, zero Time as null", () => {
    const body = envelope(
      "v1",
      "Event",
      msg(
        objectMeta("e", "default"),
        sub(2, str(1, "Pod"), str(3, "p")),
        str(3, "Started"),
        timestamp(6, 1700000000, 999_999_999),
        timestamp(10, 1700000000, 123_456_789),
        varint(8, 2),
      ),
    );
    expect(decode(body)).toEqual({
      kind: "Event",
      apiVersion: "v1",
      metadata: { name: "e", namespace: "default" },
      involvedObject: { kind: "Pod", name: "p" },
      reason: "Started",
      source: {},
      firstTimestamp: "2023-11-14T22:13:20Z",
      lastTimestamp: null,
      count: 2,
      eventTime: "2023-11-14T22:13:20.123456Z",
      reportingComponent: "",
      reportingInstance: "",
    });
  });

  it("a Time message with no seconds is the Unix epoch, not the zero time", () => {
    const body = envelope("v1", "Event", msg(objectMeta("e"), timestamp(6, 0)));
    expect(decode(body).firstTimestamp).toBe("1970-01-01T00:00:00Z");
  });

  it("map<string, Time> (PodDisruptionBudget status)", () => {
    const body = envelope(
      "policy/v1",
      "PodDisruptionBudget",
      msg(objectMeta("pdb"), sub(3, entry(2, "p1", timestamp(2, 1704164645)), varint(3, 1))),
    );
    expect(decode(body).status).toEqual({
      disruptedPods: { p1: "2024-01-02T03:04:05Z" },
      disruptionsAllowed: 1,
      currentHealthy: 0,
      desiredHealthy: 0,
      expectedPods: 0,
    });
  });

  it("managedFields: FieldsV1 raw JSON and the entry time", () => {
    const mf = sub(17, str(1, "kubectl"), str(2, "Update"), str(3, "v1"), timestamp(4, 1704164645), str(6, "FieldsV1"), sub(7, bytes(1, '{"f:data":{"f:a":{}}}')));
    const cm = decode(envelope("v1", "ConfigMap", msg(sub(1, str(1, "cm"), mf))));
    expect(cm.metadata.managedFields).toEqual([
      {
        manager: "kubectl",
        operation: "Update",
        apiVersion: "v1",
        time: "2024-01-02T03:04:05Z",
        fieldsType: "FieldsV1",
        fieldsV1: { "f:data": { "f:a": {} } },
      },
    ]);
  });

  it("RawExtension: embedded JSON, an embedded protobuf object, and null when empty", () => {
    const rev = (data: Uint8Array) =>
      decode(envelope("apps/v1", "ControllerRevision", msg(objectMeta("rev"), data, varint(3, 2 ** 40))));
    expect(rev(sub(2, bytes(1, '{"spec":{"replicas":3}}')))).toEqual({
      kind: "ControllerRevision",
      apiVersion: "apps/v1",
      metadata: { name: "rev" },
      data: { spec: { replicas: 3 } },
      revision: 2 ** 40,
    });
    const inner = envelope("v1", "ConfigMap", msg(objectMeta("inner"), stringMap(2, { k: "v" })));
    expect(rev(sub(2, bytes(1, inner))).data).toEqual({
      kind: "ConfigMap",
      apiVersion: "v1",
      metadata: { name: "inner" },
      data: { k: "v" },
    });
    expect(rev(new Uint8Array(0)).data).toBeNull();
  });

  it("CustomResourceDefinition: JSONSchemaProps with its Or* wrappers and JSON values", () => {
    const props = (...f: Uint8Array[]) => msg(...f);
    const schema = sub(
      1,
      str(5, "object"),
      entry(29, "spec", sub(2, props(str(5, "object"), varint(38, true), sub(30, varint(1, false))))),
      entry(29, "tags", sub(2, props(str(5, "array"), sub(24, sub(1, str(5, "string"), sub(20, bytes(1, '"a"')), sub(20, bytes(1, "1"))))))),
      entry(29, "size", sub(2, props(str(5, "number"), double(9, 10.5), sub(8, bytes(1, "{\"v\":1}"))))),
      sub(30, sub(2, str(5, "string"))),
      str(23, "spec"),
    );
    const version = sub(7, str(1, "v1"), varint(2, true), varint(3, true), sub(4, schema));
    const spec = sub(2, str(1, "example.com"), sub(3, str(1, "widgets"), str(4, "Widget")), str(4, "Namespaced"), version);
    const crd = decode(envelope("apiextensions.k8s.io/v1", "CustomResourceDefinition", msg(objectMeta("widgets.example.com"), spec)));
    expect(crd).toEqual({
      kind: "CustomResourceDefinition",
      apiVersion: "apiextensions.k8s.io/v1",
      metadata: { name: "widgets.example.com" },
      spec: {
        group: "example.com",
        names: { plural: "widgets", kind: "Widget" },
        scope: "Namespaced",
        versions: [
          {
            name: "v1",
            served: true,
            storage: true,
            schema: {
              openAPIV3Schema: {
                type: "object",
                required: ["spec"],
                properties: {
                  size: { type: "number", maximum: 10.5, default: { v: 1 } },
                  spec: { type: "object", additionalProperties: false, "x-kubernetes-preserve-unknown-fields": true },
                  tags: { type: "array", items: { type: "string", enum: ["a", 1] } },
                },
                additionalProperties: { type: "string" },
              },
            },
          },
        ],
      },
      // What Go's JSON writes for an unset CRD status.
      status: { conditions: null, acceptedNames: { plural: "", kind: "" }, storedVersions: null },
    });
  });
});

describe("bad bodies", () => {
  const ns = envelope("v1", "Namespace", objectMeta("x"));

  it("needs the k8s\\0 prefix", () => {
    const err = failureOf(new TextEncoder().encode('{"kind":"Namespace"}'));
    expect(err.code).toBe(400);
    expect(err.message).toMatch(/k8s\\x00/);
    expect(failureOf(new Uint8Array(0)).code).toBe(400);
  });

  it("reports truncated data at every cut point", () => {
    for (let n = 4; n < ns.length; n++) {
      const cut = ns.subarray(0, n);
      try {
        decode(cut);
      } catch (e) {
        expect(e).toBeInstanceOf(StatusError);
        expect((e as StatusError).code).toBe(400);
      }
    }
    expect(failureOf(ns.subarray(0, ns.length - 2)).message).toMatch(/truncated/);
  });

  it("refuses unknown field numbers, naming the message and where it is", () => {
    const top = failureOf(envelope("v1", "Namespace", msg(objectMeta("x"), str(99, "?"))));
    expect(top.code).toBe(400);
    expect(top.message).toBe("unknown protobuf field 99 in io.k8s.api.core.v1.Namespace");
    const nested = failureOf(envelope("v1", "Pod", msg(objectMeta("p"), sub(2, sub(2, str(1, "c"), varint(999, 1))))));
    expect(nested.message).toBe("unknown protobuf field 999 in io.k8s.api.core.v1.Container at spec.containers[0]");
    const envelopeField = failureOf(envelope("v1", "Namespace", objectMeta("x"), str(9, "?")));
    expect(envelopeField.message).toBe("unknown protobuf field 9 in runtime.Unknown");
  });

  it("refuses a field of the wrong wire type", () => {
    const err = failureOf(envelope("v1", "Namespace", sub(1, varint(1, 5))));
    expect(err.code).toBe(400);
    expect(err.message).toMatch(/field 1 \(name\) of io\.k8s\.apimachinery\.pkg\.apis\.meta\.v1\.ObjectMeta has wire type 0/);
  });

  it("refuses kinds no schema registers, and kinds with no protobuf form", () => {
    expect(failureOf(envelope("v1", "Foo", new Uint8Array(0))).message).toBe('no kind "Foo" is registered for version "v1"');
    expect(failureOf(envelope("apps/v9", "Deployment", new Uint8Array(0))).message).toBe(
      'no kind "Deployment" is registered for version "apps/v9"',
    );
    const schemas = builtinSchemas();
    schemas["com.example.v1.Widget"] = {
      type: "object",
      "x-kubernetes-group-version-kind": [{ group: "example.com", version: "v1", kind: "Widget" }],
    };
    const err = failureOf(envelope("example.com/v1", "Widget", objectMeta("w")), createResolver(schemas));
    expect(err.code).toBe(415);
    expect(err.reason).toBe("UnsupportedMediaType");
  });

  it("refuses a missing kind or apiVersion, a bad apiVersion, and encodings it cannot read", () => {
    expect(failureOf(envelope("v1", "", new Uint8Array(0))).message).toMatch(/'Kind' is missing/);
    expect(failureOf(envelope("", "Namespace", new Uint8Array(0))).message).toMatch(/'apiVersion' is missing/);
    expect(failureOf(envelope("a/b/c", "Namespace", new Uint8Array(0))).message).toBe("unexpected GroupVersion string: a/b/c");
    expect(failureOf(envelope("v1", "Namespace", objectMeta("x"), str(3, "gzip"))).message).toMatch(/content encoding "gzip"/);
    expect(failureOf(envelope("v1", "Namespace", objectMeta("x"), str(4, "application/json"))).message).toMatch(
      /content type "application\/json"/,
    );
  });

  it("refuses bad special values", () => {
    const pod = (container: Uint8Array) => envelope("v1", "Pod", msg(objectMeta("p"), sub(2, container)));
    const q = failureOf(pod(sub(2, str(1, "c"), sub(8, entry(1, "cpu", quantity(2, "12xyz"))))));
    expect(q.code).toBe(400);
    expect(q.message).toMatch(/invalid quantity "12xyz".* at spec\.containers\[0\]\.resources\.limits\["cpu"\]/);
    const ios = failureOf(pod(sub(2, str(1, "c"), sub(11, sub(1, sub(3, sub(1, varint(1, 7))))))));
    expect(ios.message).toMatch(/impossible IntOrString type 7/);
    const raw = failureOf(envelope("apps/v1", "ControllerRevision", msg(objectMeta("r"), sub(2, bytes(1, "{not json")))));
    expect(raw.code).toBe(400);
    expect(raw.message).toMatch(/^RawExtension at data: json parse error/);
  });

  it("bounds nesting: embedded envelopes and recursive schemas", () => {
    let body = envelope("v1", "ConfigMap", objectMeta("leaf"));
    for (let i = 0; i < MAX_PROTOBUF_DEPTH; i++) {
      body = envelope("apps/v1", "ControllerRevision", msg(objectMeta("r"), sub(2, bytes(1, body))));
    }
    expect(failureOf(body).message).toMatch(/nested deeper than/);

    let schema = msg(str(5, "object"));
    for (let i = 0; i < MAX_PROTOBUF_DEPTH + 5; i++) schema = sub(28, schema);
    const crd = envelope(
      "apiextensions.k8s.io/v1",
      "CustomResourceDefinition",
      msg(objectMeta("c"), sub(2, sub(7, str(1, "v1"), sub(4, sub(1, schema))))),
    );
    expect(failureOf(crd).message).toMatch(/nested deeper than/);
  });

  it("refuses overlong varints, lengths past the end and group wire types", () => {
    const prefix = Uint8Array.from([0x6b, 0x38, 0x73, 0x00]);
    expect(failureOf(msg(prefix, Uint8Array.from([0x08, ...new Array(11).fill(0xff)]))).message).toMatch(/varint/);
    expect(failureOf(msg(prefix, Uint8Array.from([0x12, 0x7f, 0x00]))).message).toMatch(/runs past the end|truncated/);
    expect(failureOf(msg(prefix, Uint8Array.from([0x0b]))).message).toMatch(/unsupported wire type 3/);
  });

  it("never fails with anything but a 400 StatusError on corrupted kubectl bodies", () => {
    for (const c of Object.values(KUBECTL_CAPTURES)) {
      const body = Buffer.from(c.body, "base64");
      for (let i = 4; i < body.length; i++) {
        for (const b of [0x00, 0xff, body[i]! ^ 0x08]) {
          const bad = Uint8Array.from(body);
          bad[i] = b;
          try {
            decode(bad);
          } catch (e) {
            expect(e).toBeInstanceOf(StatusError);
            expect([400, 415]).toContain((e as StatusError).code);
          }
        }
      }
    }
  });
});

describe("isKubernetesProtobuf", () => {
  it("matches the protobuf media type, ignoring case and parameters", () => {
    expect(isKubernetesProtobuf("application/vnd.kubernetes.protobuf")).toBe(true);
    expect(isKubernetesProtobuf("Application/VND.Kubernetes.Protobuf; charset=binary")).toBe(true);
    expect(isKubernetesProtobuf("application/json")).toBe(false);
    expect(isKubernetesProtobuf("application/vnd.kubernetes.protobuf+json")).toBe(false);
    expect(isKubernetesProtobuf(undefined)).toBe(false);
    expect(isKubernetesProtobuf("")).toBe(false);
  });
});
