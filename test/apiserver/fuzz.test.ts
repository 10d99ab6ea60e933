// Book 11.2: fuzzing the API server's front door — thousands of random and mutated requests (methods,
// paths, query parameters, headers, bodies, patches) against one real `corekube apiserver` process.
// No answer may be a 5xx, every error must be a Status with the HTTP code, and the server must stay well.
//
// Reproduce: APISERVER_FUZZ_SEED=<seed> (printed at the start); APISERVER_FUZZ_REQUESTS=<n> for a
// longer hunt; APISERVER_FUZZ_ONLY=<i,j,...> sends only those requests (request i is built from the
// seed and i; only continue tokens and resourceVersions picked up from earlier answers vary).
// APISERVER_FUZZ_OUT=<file> writes every problem as JSON; APISERVER_FUZZ_KNOWN=fail counts the
// known, reported bugs (KNOWN below) as failures again.
import { writeFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Agent, request } from "undici";
import { seededRandom } from "@corekube/kv/raft/testing";
import { startControlPlane, type ControlPlane } from "../support/apiserver-process.js";

const SEED = Number(process.env.APISERVER_FUZZ_SEED ?? 20_251_126);
const REQUESTS = Number(process.env.APISERVER_FUZZ_REQUESTS ?? 10_000);
const ONLY = process.env.APISERVER_FUZZ_ONLY?.split(",").map(Number);
const CONCURRENCY = 16;
const NS = "fuzz";

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
type Rng = () => number;

// ------------------------------------------------------------------------------------ random helpers

const int = (r: Rng, lo: number, hi: number) => lo + Math.floor(r() * (hi - lo + 1));
const pick = <T>(r: Rng, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
const chance = (r: Rng, p: number) => r() < p;

/** Raw JSON text placed inside a generated value (nesting deeper than JSON.stringify handles). */
class Raw {
  constructor(readonly text: string) {}
}

function serialize(v: unknown): string {
  const raws: string[] = [];
  const text = JSON.stringify(v, (_k, x) => {
    if (x instanceof Raw) {
      raws.push(x.text);
      return `@@raw${raws.length - 1}@@`;
    }
    return x;
  });
  return raws.length ? text.replace(/"@@raw(\d+)@@"/g, (_m, i) => raws[Number(i)]!) : text;
}

const UNICODE = ["☃", "𝔘𝔫𝔦", "\u202eevil", "日本語", "\u0000nul", "e\u0301", "\ud800", "🙂🙃", "\uffff", "ß", "İ", "\t\n\r"];
const NAMES = ["f0", "f1", "f2", "f3", "f4", "f5", "base"];
const GARBAGE_NAMES = ["", "UPPER", "a_b", "-x", "x-", "a..b", "a".repeat(254), "..", ".", "%", "a/b", "ünï", "a b", "0", "x".repeat(64)];

function str(r: Rng): string {
  switch (int(r, 0, 6)) {
    case 0:
      return pick(r, UNICODE);
    case 1:
      return "x".repeat(pick(r, [0, 1, 63, 64, 253, 254, 5_000, 70_000]));
    case 2:
      return pick(r, ["true", "null", "1", "-1", "1e400", "0x10", "100m", "1Gi", "NaN", "$patch", "../..", "*/5 * * * *", "10.0.0.1", "::1"]);
    case 3:
      return pick(r, GARBAGE_NAMES);
    default:
      return Math.floor(r() * 1e9).toString(36);
  }
}

function scalar(r: Rng): Json {
  switch (int(r, 0, 7)) {
    case 0:
      return null;
    case 1:
      return chance(r, 0.5);
    case 2:
      return pick(r, [0, -1, 1, 2 ** 31, 2 ** 53 + 2, -(2 ** 63), 1e308, 0.5, -0, 65_536, 70_000]);
    case 3:
      return int(r, -5, 100);
    default:
      return str(r);
  }
}

function deep(r: Rng): Json | Raw {
  const depth = pick(r, [20, 200, 900, 1_300, 2_100, 5_000]);
  const open = chance(r, 0.5) ? "[" : '{"a":';
  const close = open === "[" ? "]" : "}";
  return new Raw(open.repeat(depth) + (open === "[" ? "" : "1") + close.repeat(depth));
}

/** Something a schema does not expect. */
function weird(r: Rng, depth = 0): Json {
  switch (int(r, 0, 9)) {
    case 0:
      return deep(r) as unknown as Json;
    case 1:
      return Array.from({ length: pick(r, [0, 1, 3, 1_000]) }, () => scalar(r));
    case 2:
      return depth > 2 ? {} : { [pick(r, ["__proto__", "constructor", "toString", "", "a", "☃", "$patch", "$retainKeys"])]: weird(r, depth + 1) };
    case 3:
      return JSON.parse('{"__proto__": {"polluted": "yes"}, "x": 1}') as Json;
    case 4:
      return depth > 2 ? [] : [weird(r, depth + 1), weird(r, depth + 1)];
    default:
      return scalar(r);
  }
}

/** Mutates a copy of `v`: somewhere inside, a value is replaced, removed, added, wrapped or unwrapped. */
function mutate(r: Rng, v: Json, depth = 0): Json {
  const isObj = v !== null && typeof v === "object" && !Array.isArray(v);
  const isArr = Array.isArray(v);
  if ((isObj || isArr) && depth < 8 && chance(r, 0.75)) {
    if (isArr) {
      if (v.length === 0) return [weird(r)];
      const out = v.slice();
      const i = int(r, 0, out.length - 1);
      out[i] = mutate(r, out[i]!, depth + 1);
      return out;
    }
    const keys = Object.keys(v);
    if (keys.length === 0) return { [str(r)]: weird(r) };
    const out: { [k: string]: Json } = { ...v };
    const k = pick(r, keys);
    switch (int(r, 0, 9)) {
      case 0:
        delete out[k];
        return out;
      case 1:
        out[pick(r, ["__proto__", "bogus", "☃", "", "$patch", "metadata", "status", "x".repeat(300)])] = weird(r);
        return out;
      default:
        out[k] = mutate(r, v[k]!, depth + 1);
        return out;
    }
  }
  switch (int(r, 0, 4)) {
    case 0:
      return [v];
    case 1:
      return isArr ? ((v as Json[])[0] ?? null) : { value: v };
    default:
      return weird(r);
  }
}

/** A tiny block-style YAML writer (JSON text is YAML too; this gives the parser real YAML). */
function toYaml(v: unknown, indent = ""): string {
  if (v instanceof Raw) return v.text;
  if (v === null || typeof v !== "object") return JSON.stringify(v) ?? "null";
  if (Array.isArray(v)) {
    if (v.length === 0) return "[]";
    return v.map((x) => `\n${indent}- ${toYaml(x, `${indent}  `).replace(/^\n\s*/, "")}`).join("");
  }
  const keys = Object.keys(v);
  if (keys.length === 0) return "{}";
  return keys.map((k) => `\n${indent}${JSON.stringify(k)}: ${toYaml((v as Record<string, unknown>)[k], `${indent}  `)}`).join("");
}

// ------------------------------------------------------------------------------------ valid objects

const container = { name: "c", image: "busybox:1.36", ports: [{ containerPort: 80, protocol: "TCP" }], env: [{ name: "A", value: "b" }], resources: { requests: { cpu: "100m", memory: "64Mi" }, limits: { cpu: "1", memory: "128Mi" } } };
const template = { metadata: { labels: { app: "fz" } }, spec: { containers: [container] } };
const selector = { matchLabels: { app: "fz" } };
const CRD_GROUP = "fuzz.example.com";

/** resource → (apiVersion, kind, the rest of a valid object). */
const SAMPLES: Record<string, { apiVersion: string; kind: string; body: Record<string, Json> }> = {
  pods: { apiVersion: "v1", kind: "Pod", body: { spec: { containers: [container] } } },
  configmaps: { apiVersion: "v1", kind: "ConfigMap", body: { data: { a: "b" }, binaryData: { bin: "AAEC" } } },
  secrets: { apiVersion: "v1", kind: "Secret", body: { type: "Opaque", data: { a: "YWJj" }, stringData: { b: "c" } } },
  services: { apiVersion: "v1", kind: "Service", body: { spec: { selector: { app: "fz" }, ports: [{ name: "http", port: 80, targetPort: 8080, protocol: "TCP" }] } } },
  namespaces: { apiVersion: "v1", kind: "Namespace", body: {} },
  nodes: { apiVersion: "v1", kind: "Node", body: { spec: { podCIDR: "10.244.1.0/24" }, status: { capacity: { cpu: "4", memory: "8Gi", pods: "110" } } } },
  serviceaccounts: { apiVersion: "v1", kind: "ServiceAccount", body: {} },
  endpoints: { apiVersion: "v1", kind: "Endpoints", body: { subsets: [{ addresses: [{ ip: "10.1.2.3" }], ports: [{ port: 80, protocol: "TCP" }] }] } },
  persistentvolumes: { apiVersion: "v1", kind: "PersistentVolume", body: { spec: { capacity: { storage: "1Gi" }, accessModes: ["ReadWriteOnce"], hostPath: { path: "/tmp/fz" } } } },
  persistentvolumeclaims: { apiVersion: "v1", kind: "PersistentVolumeClaim", body: { spec: { accessModes: ["ReadWriteOnce"], resources: { requests: { storage: "1Gi" } } } } },
  resourcequotas: { apiVersion: "v1", kind: "ResourceQuota", body: { spec: { hard: { pods: "10" } } } },
  limitranges: { apiVersion: "v1", kind: "LimitRange", body: { spec: { limits: [{ type: "Container", default: { cpu: "100m" } }] } } },
  deployments: { apiVersion: "apps/v1", kind: "Deployment", body: { spec: { replicas: 2, selector, template } } },
  replicasets: { apiVersion: "apps/v1", kind: "ReplicaSet", body: { spec: { replicas: 1, selector, template } } },
  statefulsets: { apiVersion: "apps/v1", kind: "StatefulSet", body: { spec: { serviceName: "s", replicas: 1, selector, template } } },
  daemonsets: { apiVersion: "apps/v1", kind: "DaemonSet", body: { spec: { selector, template } } },
  jobs: { apiVersion: "batch/v1", kind: "Job", body: { spec: { template: { spec: { containers: [container], restartPolicy: "Never" } } } } },
  cronjobs: {
    apiVersion: "batch/v1",
    kind: "CronJob",
    body: { spec: { schedule: "*/5 * * * *", jobTemplate: { spec: { template: { spec: { containers: [container], restartPolicy: "OnFailure" } } } } } },
  },
  horizontalpodautoscalers: {
    apiVersion: "autoscaling/v2",
    kind: "HorizontalPodAutoscaler",
    body: {
      spec: {
        scaleTargetRef: { apiVersion: "apps/v1", kind: "Deployment", name: "d" },
        minReplicas: 1,
        maxReplicas: 3,
        metrics: [{ type: "Resource", resource: { name: "cpu", target: { type: "Utilization", averageUtilization: 50 } } }],
      },
    },
  },
  leases: { apiVersion: "coordination.k8s.io/v1", kind: "Lease", body: { spec: { holderIdentity: "x", leaseDurationSeconds: 15 } } },
  endpointslices: { apiVersion: "discovery.k8s.io/v1", kind: "EndpointSlice", body: { addressType: "IPv4", endpoints: [{ addresses: ["10.1.2.3"] }], ports: [{ port: 80, protocol: "TCP" }] } },
  networkpolicies: {
    apiVersion: "networking.k8s.io/v1",
    kind: "NetworkPolicy",
    body: { spec: { podSelector: selector, policyTypes: ["Ingress"], ingress: [{ from: [{ podSelector: {} }], ports: [{ port: 80 }] }] } },
  },
  storageclasses: { apiVersion: "storage.k8s.io/v1", kind: "StorageClass", body: { provisioner: "example.com/fz", reclaimPolicy: "Delete" } },
  poddisruptionbudgets: { apiVersion: "policy/v1", kind: "PodDisruptionBudget", body: { spec: { minAvailable: 1, selector } } },
  priorityclasses: { apiVersion: "scheduling.k8s.io/v1", kind: "PriorityClass", body: { value: 1000 } },
  roles: { apiVersion: "rbac.authorization.k8s.io/v1", kind: "Role", body: { rules: [{ apiGroups: [""], resources: ["pods"], verbs: ["get"] }] } },
  clusterroles: { apiVersion: "rbac.authorization.k8s.io/v1", kind: "ClusterRole", body: { rules: [{ apiGroups: [""], resources: ["pods"], verbs: ["get"] }] } },
  rolebindings: {
    apiVersion: "rbac.authorization.k8s.io/v1",
    kind: "RoleBinding",
    body: { roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: "r" }, subjects: [{ kind: "User", name: "u", apiGroup: "rbac.authorization.k8s.io" }] },
  },
  clusterrolebindings: {
    apiVersion: "rbac.authorization.k8s.io/v1",
    kind: "ClusterRoleBinding",
    body: { roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "r" }, subjects: [{ kind: "User", name: "u", apiGroup: "rbac.authorization.k8s.io" }] },
  },
  customresourcedefinitions: {
    apiVersion: "apiextensions.k8s.io/v1",
    kind: "CustomResourceDefinition",
    body: {
      spec: {
        group: CRD_GROUP,
        names: { plural: "widgets", singular: "widget", kind: "Widget", listKind: "WidgetList" },
        scope: "Namespaced",
        versions: [
          {
            name: "v1",
            served: true,
            storage: true,
            schema: {
              openAPIV3Schema: {
                type: "object",
                properties: {
                  spec: {
                    type: "object",
                    properties: {
                      size: { type: "integer", minimum: 0 },
                      replicas: { type: "integer" },
                      tags: { type: "array", items: { type: "string" } },
                      free: { type: "object", "x-kubernetes-preserve-unknown-fields": true },
                    },
                  },
                  status: { type: "object", properties: { replicas: { type: "integer" } } },
                },
              },
            },
            subresources: { status: {}, scale: { specReplicasPath: ".spec.replicas", statusReplicasPath: ".status.replicas" } },
            additionalPrinterColumns: [{ name: "Size", type: "integer", jsonPath: ".spec.size" }],
          },
        ],
      },
    },
  },
  widgets: { apiVersion: `${CRD_GROUP}/v1`, kind: "Widget", body: { spec: { size: 3, replicas: 1, tags: ["a"], free: { x: [1, { y: null }] } } } },
};

const CRD_NAME = `widgets.${CRD_GROUP}`;

function sampleFor(resource: string, name: string, namespace: string | undefined): Record<string, Json> {
  const s = SAMPLES[resource];
  if (!s) return { apiVersion: "v1", kind: "Thing", metadata: { name } };
  const metadata: Record<string, Json> = { name: resource === "customresourcedefinitions" ? CRD_NAME : name, labels: { app: "fz" }, annotations: { note: "fuzz" } };
  if (namespace) metadata.namespace = namespace;
  return structuredClone({ apiVersion: s.apiVersion, kind: s.kind, metadata, ...s.body });
}

// ------------------------------------------------------------------------------------ requests

interface Resource {
  prefix: string; // "/api/v1" or "/apis/<group>/<version>"
  name: string;
  namespaced: boolean;
  subresources: string[];
}

interface FuzzRequest {
  i: number;
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: string | Buffer;
  watch: boolean;
  /** What sort of request it is (for the time summary). */
  sort: string;
}

/** Things the server handed out earlier that later requests can reuse. */
const seen = { continues: [] as string[], rvs: ["1"] as string[] };

const ACCEPTS = [
  "application/json",
  "application/json;as=Table;v=v1;g=meta.k8s.io",
  "application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json",
  "application/json;as=Table;v=v1;g=meta.k8s.io;includeObject=Object",
  "application/json;as=PartialObjectMetadataList;v=v1;g=meta.k8s.io",
  "application/vnd.kubernetes.protobuf",
  "application/yaml",
  "*/*",
  "text/html",
  "as=Table",
  "application/json;as=Table;g=meta.k8s.io",
  ";;;,,=",
];
const OBJECT_TYPES = ["application/json", "application/yaml", "application/json; charset=utf-8", "application/x-yaml", "text/plain", "application/xml", "", "garbage/x", "multipart/form-data; boundary=x", "application/vnd.kubernetes.protobuf"];
const PATCH_TYPES = ["application/json-patch+json", "application/merge-patch+json", "application/strategic-merge-patch+json", "application/apply-patch+yaml", "application/apply-patch+json", "application/json", "text/plain"];

function labelSelector(r: Rng): string {
  const toks = ["a", "b", "app", "fz", "=", "==", "!=", "in", "notin", "(", ")", ",", "!", "x.y/z", " ", "a".repeat(70), "☃", "-", "_", ".", "exists"];
  if (chance(r, 0.3)) return pick(r, ["app=fz", "app in (fz,x)", "!app", "app", "app notin (x)", "a=b,c!=d"]);
  return Array.from({ length: int(r, 1, 8) }, () => pick(r, toks)).join("");
}

function fieldSelector(r: Rng): string {
  const toks = ["metadata.name", "metadata.namespace", "status.phase", "spec.nodeName", "spec.unschedulable", "=", "==", "!=", ",", "f0", "bogus", "☃", "", "\\,", "x"];
  if (chance(r, 0.3)) return pick(r, ["metadata.name=f0", "metadata.namespace!=default", "status.phase=Running", "spec.nodeName="]);
  return Array.from({ length: int(r, 1, 6) }, () => pick(r, toks)).join("");
}

function query(r: Rng, method: string): { q: URLSearchParams; watch: boolean } {
  const q = new URLSearchParams();
  const n = int(r, 0, 4);
  for (let k = 0; k < n; k++) {
    switch (int(r, 0, 21)) {
      case 0:
        q.append("limit", pick(r, ["1", "2", "0", "-1", "abc", "1e3", "99999999999999999999", "500", ""]));
        break;
      case 1:
        q.append("continue", seen.continues.length && chance(r, 0.6) ? pick(r, seen.continues) : pick(r, ["garbage", "", Buffer.from('{"v":"meta.k8s.io/v1","rv":1,"start":"../../x"}').toString("base64url"), Buffer.from('{"v":"meta.k8s.io/v1","rv":-5,"start":""}').toString("base64url"), "eyJ2IjoibWV0YS5rOHMuaW8vdjEiLCJydiI6MSwic3RhcnQiOjF9"]));
        break;
      case 2:
        // A resourceVersion far ahead makes the server wait (504 after 3 s); keep that one rare.
        q.append("resourceVersion", chance(r, 0.02) ? "99999999999" : pick(r, ["0", "", "1", "abc", "-1", "1.5", pick(r, seen.rvs)]));
        break;
      case 3:
        q.append("resourceVersionMatch", pick(r, ["Exact", "NotOlderThan", "garbage", ""]));
        break;
      case 4:
        if (method === "GET") q.append("watch", pick(r, ["true", "false", "garbage", "0", "True"]));
        break;
      case 5:
        q.append("labelSelector", labelSelector(r));
        break;
      case 6:
        q.append("fieldSelector", fieldSelector(r));
        break;
      case 7:
        q.append("dryRun", pick(r, ["All", "All", "all", "", "x"]));
        break;
      case 8:
        q.append("fieldValidation", pick(r, ["Strict", "Warn", "Ignore", "strict", ""]));
        break;
      case 9:
        q.append("fieldManager", pick(r, ["fuzz", "kubectl", "x".repeat(200), "☃", "", "a\u0007b"]));
        break;
      case 10:
        q.append("force", pick(r, ["true", "false", "x"]));
        break;
      case 11:
        q.append("gracePeriodSeconds", pick(r, ["0", "-1", "abc", "30", "1e30"]));
        break;
      case 12:
        q.append("propagationPolicy", pick(r, ["Foreground", "Background", "Orphan", "x", ""]));
        break;
      case 13:
        q.append("includeObject", pick(r, ["None", "Object", "Metadata", "x"]));
        break;
      case 14:
        q.append("timeoutSeconds", pick(r, ["1", "0", "-1", "abc", "1e9"]));
        break;
      case 15:
        q.append("allowWatchBookmarks", pick(r, ["true", "x"]));
        break;
      case 16:
        q.append("sendInitialEvents", pick(r, ["true", "false", "x"]));
        break;
      case 17:
        q.append(pick(r, ["container", "tailLines", "limitBytes", "sinceSeconds", "previous", "timestamps"]), pick(r, ["c", "-1", "10", "abc", "true"]));
        break;
      case 18:
        q.append("orphanDependents", pick(r, ["true", "false", "x"]));
        break;
      case 19:
        q.append("pretty", "true");
        break;
      case 20:
        q.append("exclude", pick(r, ["etcd", "ping", "x"]));
        break;
      default:
        q.append(str(r).slice(0, 50), str(r).slice(0, 200));
    }
  }
  const watch = q.getAll("watch").some((w) => w !== "" && w !== "false");
  return { q, watch };
}

function seg(r: Rng, s: string): string {
  if (chance(r, 0.02)) return pick(r, ["%zz", "%", "%E0%A4%A", "%00", "%2F", "%2e%2e", "..", "."]);
  // Lone surrogates have no UTF-8 form; their replacement character goes out instead.
  return [...Buffer.from(s, "utf8")].map((b) => (/[A-Za-z0-9\-_.~]/.test(String.fromCharCode(b)) ? String.fromCharCode(b) : `%${b.toString(16).toUpperCase().padStart(2, "0")}`)).join("");
}

function namespaceFor(r: Rng): string {
  return chance(r, 0.8) ? NS : pick(r, ["default", "kube-system", "nope", "", "UPPER", "☃", "a".repeat(70)]);
}

function nameFor(r: Rng): string {
  return chance(r, 0.85) ? pick(r, NAMES) : pick(r, GARBAGE_NAMES);
}

function objectBody(r: Rng, resource: string, name: string, ns: string | undefined): { body: string | Buffer; type: string } {
  let obj: Json = sampleFor(SAMPLES[resource] || chance(r, 0.5) ? resource : pick(r, Object.keys(SAMPLES)), name, ns);
  const mutations = pick(r, [0, 0, 1, 1, 2, 3, 6]);
  for (let k = 0; k < mutations; k++) obj = mutate(r, obj);
  if (chance(r, 0.02) && obj !== null && typeof obj === "object" && !Array.isArray(obj)) obj.huge = "x".repeat(pick(r, [300_000, 1_500_000, 3_200_000]));
  const yaml = chance(r, 0.15);
  let text = yaml ? `---${toYaml(obj)}\n` : serialize(obj);
  if (chance(r, 0.08)) {
    // Text-level damage: truncation, stray bytes, a BOM, duplicate keys, YAML specials.
    switch (int(r, 0, 6)) {
      case 0:
        text = text.slice(0, int(r, 0, text.length));
        break;
      case 1:
        text = text.slice(0, int(r, 0, text.length)) + pick(r, ["\u0000", "}", "{", "]", '"', ",", "\\", "\ud800"]) + text.slice(int(r, 0, text.length));
        break;
      case 2:
        text = `\ufeff${text}`;
        break;
      case 3:
        text = text.replace(/^\{/, '{"kind":"Pod","kind":"ConfigMap",');
        break;
      case 4:
        text = "a: &a [x,x,x,x,x,x,x,x,x]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\ne: [*d,*d,*d,*d,*d,*d,*d,*d,*d]\n";
        break;
      case 5:
        return { body: Buffer.from([0xff, 0xfe, 0x00, 0x7b, 0xc3, 0x28, 0x7d]), type: "application/json" };
      default:
        text = pick(r, ["null", "[]", "5", '"x"', "true", "{}", "---\n---\n", "!!binary x", "? complex\n: key"]);
    }
  }
  const type = chance(r, 0.85) ? (yaml ? "application/yaml" : "application/json") : pick(r, OBJECT_TYPES);
  return { body: text, type };
}

function jsonPointer(r: Rng): string {
  return pick(r, ["/metadata/labels/a", "/metadata/labels", "/metadata/name", "/metadata/namespace", "/metadata/resourceVersion", "/spec", "/spec/containers/0/image", "/spec/containers/-", "/spec/containers/99999999999", "/spec/replicas", "/data/a", "/data", "/", "", "/~2", "/~1x", "/status", "/kind", "/apiVersion", "/metadata/annotations/a~1b", "/spec/template/spec/containers/0", "/metadata/finalizers/-", "/metadata/uid", "/metadata/creationTimestamp", "/metadata/managedFields"]);
}

function patchBody(r: Rng, type: string, resource: string, name: string, ns: string | undefined): string {
  if (type === "application/json-patch+json") {
    const ops = Array.from({ length: int(r, 0, 4) }, () => {
      const op: Record<string, Json> = { op: pick(r, ["add", "remove", "replace", "move", "copy", "test", "garbage", ""]), path: jsonPointer(r) };
      if (chance(r, 0.8)) op.value = chance(r, 0.5) ? scalar(r) : weird(r);
      if (chance(r, 0.3)) op.from = jsonPointer(r);
      return chance(r, 0.1) ? mutate(r, op) : op;
    });
    return chance(r, 0.1) ? serialize(mutate(r, ops)) : serialize(ops);
  }
  if (type.startsWith("application/apply-patch")) {
    let obj: Json = sampleFor(resource in SAMPLES ? resource : "configmaps", name, ns);
    for (let k = pick(r, [0, 1, 2]); k > 0; k--) obj = mutate(r, obj);
    return type.endsWith("yaml") && chance(r, 0.7) ? toYaml(obj) : serialize(obj);
  }
  // merge and strategic: a partial object, sometimes with directives.
  let p: Json = chance(r, 0.5) ? { metadata: { labels: { [pick(r, ["a", "b", "app"])]: pick(r, ["x", null] as Json[]) } } } : sampleFor(resource, name, ns);
  if (type.includes("strategic") && chance(r, 0.4)) {
    const directives: Json[] = [
      { $patch: pick(r, ["replace", "delete", "merge", "garbage"]) },
      { spec: { containers: [{ name: "c", $patch: "delete" }] } },
      { spec: { $setElementOrder$containers: [{ name: "c" }, { name: "z" }], containers: [{ name: "z", image: "x" }] } },
      { spec: { $retainKeys: ["replicas"], replicas: 1 } },
      { metadata: { $deleteFromPrimitiveList$finalizers: ["a"] } },
      { spec: { template: { spec: { containers: [{ name: "c", env: [{ name: "A", $patch: "delete" }] }] } } } },
      { $retainKeys: "notalist" },
    ];
    p = pick(r, directives);
  }
  for (let k = pick(r, [0, 1, 2]); k > 0; k--) p = mutate(r, p);
  return serialize(p);
}

function deleteBody(r: Rng): string | undefined {
  if (chance(r, 0.6)) return undefined;
  let o: Json = {
    kind: "DeleteOptions",
    apiVersion: "v1",
    gracePeriodSeconds: pick(r, [0, 30, -1] as Json[]),
    propagationPolicy: pick(r, ["Foreground", "Background", "Orphan"]),
    preconditions: { uid: pick(r, ["", "x"]), resourceVersion: pick(r, seen.rvs) },
    dryRun: pick(r, [[], ["All"]] as Json[]),
  };
  for (let k = pick(r, [0, 1, 2]); k > 0; k--) o = mutate(r, o);
  return serialize(o);
}

function resourcePath(r: Rng, res: Resource, withName: boolean): { path: string; ns?: string; name?: string } {
  const ns = res.namespaced || chance(r, 0.05) ? namespaceFor(r) : undefined;
  const name = withName ? nameFor(r) : undefined;
  let p = res.prefix;
  if (chance(r, 0.01)) p += "/watch";
  if (ns !== undefined) p += `/namespaces/${seg(r, ns)}`;
  p += `/${res.name}`;
  if (name !== undefined) p += `/${seg(r, name)}`;
  if (chance(r, 0.03)) p += "/";
  return { path: p, ns, name };
}

function build(i: number, resources: Resource[]): FuzzRequest {
  const r = seededRandom((SEED + Math.imul(i + 1, 0x9e3779b1)) >>> 0);
  const res = pick(r, resources);
  const headers: Record<string, string> = {};
  if (chance(r, 0.25)) headers.accept = pick(r, ACCEPTS);
  if (chance(r, 0.03)) headers[pick(r, ["x-fuzz", "impersonate-user", "impersonate-group", "authorization", "user-agent", "if-none-match"])] = pick(r, ["system:anonymous", "Bearer garbage", "x".repeat(2_000), "snowman", "", "*"]);
  let method: string;
  let path: string;
  let body: string | Buffer | undefined;
  let q: URLSearchParams;
  let watch = false;
  let sort: string;
  const kind = r();
  if (kind < 0.3) {
    sort = "create";
    method = "POST";
    const where = resourcePath(r, res, chance(r, 0.05));
    path = where.path;
    const name = chance(r, 0.1) ? "" : nameFor(r);
    const b = objectBody(r, res.name, name, chance(r, 0.9) ? where.ns : pick(r, ["other", NS]));
    if (!name && chance(r, 0.5)) body = b.body.toString().replace('"name":""', '"generateName":"fz-"');
    else body = b.body;
    headers["content-type"] = b.type;
    ({ q } = query(r, method));
  } else if (kind < 0.4) {
    sort = "update";
    method = "PUT";
    const where = resourcePath(r, res, chance(r, 0.95));
    path = where.path;
    const b = objectBody(r, res.name, chance(r, 0.9) ? (where.name ?? "f0") : nameFor(r), where.ns);
    body = b.body;
    headers["content-type"] = b.type;
    ({ q } = query(r, method));
    if (res.subresources.length && chance(r, 0.3)) path += `/${pick(r, res.subresources)}`;
  } else if (kind < 0.55) {
    sort = "patch";
    method = "PATCH";
    const where = resourcePath(r, res, chance(r, 0.95));
    path = where.path;
    const type = pick(r, PATCH_TYPES);
    headers["content-type"] = type;
    body = patchBody(r, type, res.name, where.name ?? "f0", where.ns);
    ({ q } = query(r, method));
    if (type.startsWith("application/apply-patch") && chance(r, 0.8)) q.set("fieldManager", "fuzz");
    if (res.subresources.length && chance(r, 0.3)) path += `/${pick(r, res.subresources)}`;
  } else if (kind < 0.76) {
    sort = "read";
    method = chance(r, 0.95) ? "GET" : "HEAD";
    const where = resourcePath(r, res, chance(r, 0.4));
    path = where.path;
    ({ q, watch } = query(r, method));
    if (where.name && res.subresources.length && chance(r, 0.2)) path += `/${pick(r, res.subresources)}`;
  } else if (kind < 0.77) {
    sort = "watch";
    method = "GET";
    const where = resourcePath(r, res, chance(r, 0.2));
    path = where.path;
    ({ q } = query(r, method));
    q.set("watch", "true");
    if (chance(r, 0.5)) q.set("resourceVersion", pick(r, [...seen.rvs, "0", "1"]));
    watch = true;
  } else if (kind < 0.86) {
    sort = "delete";
    method = "DELETE";
    const collection = chance(r, 0.1) && res.name !== "namespaces"; // see the report: no deletecollection of namespaces
    const where = resourcePath(r, res, !collection);
    path = where.path;
    if (res.name === "namespaces" && where.name && !NAMES.includes(where.name)) path = `${res.prefix}/namespaces/f1`;
    body = deleteBody(r);
    if (body) headers["content-type"] = pick(r, ["application/json", "application/json", "application/yaml", "text/plain"]);
    ({ q } = query(r, method));
  } else if (kind < 0.92) {
    sort = "subresource";
    const sub = pick(r, ["binding", "eviction", "log", "exec", "attach", "portforward", "proxy", "status", "finalize", "scale", "garbage", "ephemeralcontainers"]);
    method = pick(r, ["GET", "POST", "PUT", "PATCH", "DELETE"]);
    const isNs = sub === "finalize";
    path = isNs ? `/api/v1/namespaces/${pick(r, ["f1", "f2", "nope"])}/finalize` : `/api/v1/namespaces/${seg(r, namespaceFor(r))}/pods/${seg(r, nameFor(r))}/${sub}`;
    if (chance(r, 0.1)) path += "/extra/parts";
    const target = pick(r, [
      { apiVersion: "v1", kind: "Binding", metadata: { name: "f0" }, target: { apiVersion: "v1", kind: "Node", name: pick(r, ["n1", "", "☃"]) } },
      { apiVersion: "policy/v1", kind: "Eviction", metadata: { name: "f0" }, deleteOptions: { gracePeriodSeconds: 0 } },
      sampleFor(isNs ? "namespaces" : "pods", "f1", isNs ? undefined : NS),
    ] as Json[]);
    if (method !== "GET") {
      body = serialize(chance(r, 0.5) ? mutate(r, target) : target);
      headers["content-type"] = method === "PATCH" ? pick(r, PATCH_TYPES) : "application/json";
    }
    ({ q } = query(r, method));
  } else if (kind < 0.96) {
    sort = "non-resource";
    method = pick(r, ["GET", "GET", "GET", "HEAD", "POST", "DELETE"]);
    path = pick(r, ["/healthz", "/livez", "/readyz", "/readyz/etcd", "/readyz/informer-sync", "/healthz/garbage", "/livez/ping", "/version", "/metrics", "/openapi/v2", "/openapi/v3", "/openapi/v3/api/v1", "/openapi/v3/apis/apps/v1", "/openapi/v3/apis/nope/v1", "/", "/garbage", "//api//v1", "/api", "/apis", "/api/v1", "/apis/apps", "/apis/apps/v1", "/apis/nope", "/api/v2", "/apis/apps/v9", "/api/v1/../../etc/passwd", "/apis/fuzz.example.com/v1"]);
    if (method !== "GET" && method !== "HEAD" && chance(r, 0.5)) {
      body = "{}";
      headers["content-type"] = "application/json";
    }
    ({ q } = query(r, method));
    if (chance(r, 0.3)) headers.accept = pick(r, ["application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList", "application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,application/json", "application/com.github.proto-openapi.spec.v2@v1.0+protobuf"]);
  } else {
    sort = "chaos";
    method = pick(r, ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "PROPFIND", "SEARCH", "PURGE", "LOCK", "FOO"]);
    const parts = Array.from({ length: int(r, 0, 8) }, () => seg(r, pick(r, ["api", "apis", "v1", "namespaces", NS, "pods", "f0", "status", "watch", "apps", "deployments", str(r).slice(0, 40)])));
    path = `/${parts.join("/")}`;
    if (chance(r, 0.5)) {
      body = chance(r, 0.5) ? serialize(weird(r)) : str(r);
      headers["content-type"] = pick(r, [...OBJECT_TYPES, ...PATCH_TYPES]);
    }
    ({ q, watch } = query(r, method === "HEAD" ? "GET" : method));
  }
  if (method !== "GET" && method !== "HEAD") q.delete("watch");
  // The namespaces every later request uses stay: a terminating one would answer 403 from then on.
  if (method === "DELETE" && /^\/api\/v1\/(watch\/)?namespaces\/(fuzz|default)\/?$/.test(path)) path = "/api/v1/namespaces/f1";
  // Anything that might turn into a watch ends after a second.
  if (watch || q.has("watch") || /\/watch(\/|$)/.test(path)) {
    q.set("timeoutSeconds", "1");
    watch = true;
  }
  const qs = q.toString();
  return { i, method, path: qs ? `${path}?${qs}` : path, headers, body, watch, sort };
}

// ------------------------------------------------------------------------------------ known bugs

/**
 * Bugs this fuzzer found outside the HTTP front, reported to the lead with these requests as
 * repros. Requests that hit one are counted and printed, not failed, so the test guards everything
 * else; APISERVER_FUZZ_KNOWN=fail turns them back into failures (do that once they are fixed, then
 * delete the entry).
 */
const KNOWN: { bug: string; skip?: (f: FuzzRequest) => boolean; answer?: (f: FuzzRequest, status: number, text: string) => boolean }[] = [];
const KNOWN_FAIL = process.env.APISERVER_FUZZ_KNOWN === "fail";

// ------------------------------------------------------------------------------------ checking answers

interface Problem {
  i: number;
  request: string;
  problem: string;
  status?: number;
  answer?: string;
}

function describeRequest(f: FuzzRequest): string {
  const body = f.body === undefined ? "" : ` body=${f.body.toString().slice(0, 300)}${f.body.length > 300 ? `…(${f.body.length} bytes)` : ""}`;
  return `${f.method} ${f.path.slice(0, 300)} ${JSON.stringify(f.headers).slice(0, 200)}${body}`;
}

/** Kube answers a too-new resourceVersion with 504 Timeout after waiting; that one 5xx is expected. */
function allowed5xx(status: number, s: { reason?: string; message?: string } | undefined): boolean {
  return status === 504 && s?.reason === "Timeout" && /Too large resource version/.test(s?.message ?? "");
}

function checkStatus(s: unknown, code: number): string | undefined {
  const st = s as Record<string, unknown>;
  if (!st || typeof st !== "object") return "error body is not an object";
  if (st.kind !== "Status" || st.apiVersion !== "v1") return "error body is not a v1 Status";
  if (st.status !== "Failure") return `Status.status is ${JSON.stringify(st.status)}`;
  if (st.code !== code) return `Status.code ${String(st.code)} differs from HTTP ${code}`;
  if (typeof st.message !== "string" || typeof st.reason !== "string") return "Status lacks message or reason";
  return undefined;
}

function check(f: FuzzRequest, status: number, type: string, text: string): string | undefined {
  let parsed: unknown;
  const isJson = type.startsWith("application/json");
  if (status >= 400 && f.method !== "HEAD") {
    try {
      parsed = JSON.parse(text);
    } catch {
      return `error answer is not JSON (${type})`;
    }
    if (status >= 500 && !allowed5xx(status, parsed as never)) return `server error ${status}`;
    return checkStatus(parsed, status);
  }
  if (status >= 500) return `server error ${status}`;
  if (f.method === "HEAD" || !isJson || status === 204) return undefined;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  // A watch answers with one JSON event per line (the server decides what is a watch).
  if (parsed === undefined && f.watch && status === 200) {
    for (const line of text.split("\n")) {
      if (line.trim() === "") continue;
      let ev: { type?: string; object?: { code?: number; reason?: string; message?: string } };
      try {
        ev = JSON.parse(line);
      } catch {
        return `watch line is not JSON: ${line.slice(0, 100)}`;
      }
      if (!["ADDED", "MODIFIED", "DELETED", "BOOKMARK", "ERROR"].includes(ev.type ?? "")) return `watch event type ${String(ev.type)}`;
      if (ev.type === "ERROR") {
        const code = ev.object?.code ?? 0;
        const bad = checkStatus(ev.object, code);
        if (bad) return `watch ERROR event: ${bad}`;
        if (code >= 500 && !allowed5xx(code, ev.object)) return `watch ERROR event with code ${code}`;
      }
    }
    return undefined;
  }
  if (parsed === undefined) return "2xx answer is not JSON";
  const md = (parsed as { metadata?: { continue?: string; resourceVersion?: string } }).metadata;
  if (md?.continue && seen.continues.length < 200) seen.continues.push(md.continue);
  if (md?.resourceVersion && seen.rvs.length < 200) seen.rvs.push(md.resourceVersion);
  return undefined;
}

// ------------------------------------------------------------------------------------ the test

describe("apiserver fuzz", () => {
  let cp: ControlPlane;
  let agent: Agent;
  let resources: Resource[] = [];

  const call = async (method: string, path: string, body?: unknown, headers: Record<string, string> = {}) => {
    const r = await request(cp.url + path, {
      method: method as never,
      dispatcher: agent,
      headers: body === undefined ? headers : { "content-type": "application/json", ...headers },
      body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body),
    });
    const text = await r.body.text();
    return { status: r.statusCode, text, json: () => JSON.parse(text) as Record<string, unknown> };
  };

  beforeAll(async () => {
    cp = await startControlPlane({ backend: "kv" });
    agent = new Agent({ connect: { ca: cp.tls.ca, cert: cp.tls.cert, key: cp.tls.key }, connections: CONCURRENCY * 2 });
  }, 90_000);

  afterAll(async () => {
    await agent?.close();
    await cp?.stop();
  });

  it("every valid sample is accepted, so mutations start from objects the server takes", async () => {
    expect((await call("POST", "/api/v1/namespaces", { apiVersion: "v1", kind: "Namespace", metadata: { name: NS } })).status).toBe(201);
    const crd = sampleFor("customresourcedefinitions", CRD_NAME, undefined);
    expect((await call("POST", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions", crd)).status).toBe(201);
    for (let t = 0; t < 100 && (await call("GET", `/apis/${CRD_GROUP}/v1`)).status !== 200; t++) await new Promise((r) => setTimeout(r, 100));

    // The paths to fuzz come from discovery, so new resources join by themselves.
    const lists: { prefix: string; list: { resources: { name: string; namespaced: boolean }[] } }[] = [];
    lists.push({ prefix: "/api/v1", list: (await call("GET", "/api/v1")).json() as never });
    const groups = (await call("GET", "/apis")).json() as { groups: { versions: { groupVersion: string }[] }[] };
    for (const g of groups.groups) for (const v of g.versions) lists.push({ prefix: `/apis/${v.groupVersion}`, list: (await call("GET", `/apis/${v.groupVersion}`)).json() as never });
    const byName = new Map<string, Resource>();
    for (const { prefix, list } of lists) {
      for (const r of list.resources) {
        const [base, sub] = r.name.split("/") as [string, string | undefined];
        const key = `${prefix} ${base}`;
        if (!byName.has(key)) byName.set(key, { prefix, name: base, namespaced: r.namespaced, subresources: [] });
        if (sub) byName.get(key)!.subresources.push(sub);
      }
    }
    resources = [...byName.values()];
    resources.push({ prefix: "/api/v1", name: "nopes", namespaced: true, subresources: [] }, { prefix: "/apis/nope.example.com/v1", name: "things", namespaced: false, subresources: [] });
    expect(resources.some((r) => r.name === "widgets")).toBe(true);

    const rejected: string[] = [];
    for (const res of resources) {
      if (!SAMPLES[res.name] || res.name === "customresourcedefinitions") continue;
      const ns = res.namespaced ? NS : undefined;
      const path = `${res.prefix}${ns ? `/namespaces/${ns}` : ""}/${res.name}`;
      const r = await call("POST", path, sampleFor(res.name, "base", ns));
      if (r.status !== 201) rejected.push(`${res.name}: ${r.status} ${r.text.slice(0, 300)}`);
    }
    expect(rejected).toEqual([]);
  });

  it(`${REQUESTS} random requests: no 5xx, every error a Status, the server healthy afterwards`, async () => {
    console.log(`apiserver fuzz: seed ${SEED} (APISERVER_FUZZ_SEED=${SEED} to replay), ${REQUESTS} requests, ${CONCURRENCY} at a time`);
    const started = Date.now();
    const indices = ONLY ?? Array.from({ length: REQUESTS }, (_, i) => i);
    const problems: Problem[] = [];
    const codes = new Map<number, number>();
    const time = new Map<string, number>();
    const known = new Map<string, number[]>();
    let skipped = 0;
    let next = 0;
    const worker = async () => {
      for (;;) {
        const k = next++;
        if (k >= indices.length) return;
        const f = build(indices[k]!, resources);
        const skip = KNOWN_FAIL ? undefined : KNOWN.find((b) => b.skip?.(f));
        if (skip) {
          known.set(skip.bug, [...(known.get(skip.bug) ?? []), f.i]);
          continue;
        }
        const t0 = performance.now();
        try {
          const r = await request(cp.url + f.path, {
            method: f.method as never,
            headers: f.headers,
            body: f.body,
            dispatcher: agent,
            headersTimeout: 20_000,
            bodyTimeout: 20_000,
          });
          const text = await r.body.text();
          time.set(f.sort, (time.get(f.sort) ?? 0) + performance.now() - t0);
          codes.set(r.statusCode, (codes.get(r.statusCode) ?? 0) + 1);
          const type = String(r.headers["content-type"] ?? "");
          const bad = check(f, r.statusCode, type, text);
          const hit = bad && !KNOWN_FAIL ? KNOWN.find((b) => b.answer?.(f, r.statusCode, text)) : undefined;
          if (hit) known.set(hit.bug, [...(known.get(hit.bug) ?? []), f.i]);
          else if (bad) problems.push({ i: f.i, request: describeRequest(f), problem: bad, status: r.statusCode, answer: text.slice(0, 400) });
        } catch (e) {
          const err = e as Error & { code?: string };
          // undici refuses some generated paths or headers before sending; nothing reached the server.
          if (err.code === "UND_ERR_INVALID_ARG" || err.name === "InvalidArgumentError") {
            skipped++;
            continue;
          }
          // A body over the 3 MiB limit: the server may answer 413 and close before the client
          // has finished sending, so the client sees the socket closed under it.
          if ((err.code === "EPIPE" || err.code === "ECONNRESET" || err.code === "UND_ERR_SOCKET") && (f.body?.length ?? 0) > 3 * 1024 * 1024) {
            skipped++;
            continue;
          }
          problems.push({ i: f.i, request: describeRequest(f), problem: `request failed: ${err.code ?? ""} ${err.message}` });
        }
      }
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));
    const seconds = (Date.now() - started) / 1000;
    const summary = [...codes.entries()].sort((a, b) => a[0] - b[0]).map(([c, n]) => `${c}×${n}`).join(" ");
    console.log(`apiserver fuzz: ${indices.length} requests in ${seconds.toFixed(1)} s (${skipped} refused by the client); answers ${summary}`);
    console.log(`apiserver fuzz: seconds spent waiting, by sort: ${[...time.entries()].map(([k, ms]) => `${k} ${(ms / 1000).toFixed(1)}`).join(", ")}`);
    for (const [bug, is] of known) console.log(`apiserver fuzz: known bug (reported), ${is.length} request(s), e.g. #${is.slice(0, 5).join(", #")}: ${bug}`);
    if (process.env.APISERVER_FUZZ_OUT) writeFileSync(process.env.APISERVER_FUZZ_OUT, JSON.stringify(problems, null, 1));
    if (problems.length) console.log(`apiserver fuzz: seed ${SEED}, ${problems.length} problems; first ones:\n${problems.slice(0, 15).map((p) => JSON.stringify(p)).join("\n")}`);
    expect(problems.slice(0, 10)).toEqual([]);
    expect(skipped).toBeLessThan(indices.length / 20);
    // Most requests must get past the front door, or the fuzzing only tests the parser.
    const ok = [...codes.entries()].filter(([c]) => c < 300).reduce((a, [, n]) => a + n, 0);
    if (!ONLY) expect(ok).toBeGreaterThan(indices.length / 10);

    // Still healthy: probes, every list (JSON and Table) over whatever the fuzz stored, a watch, a write.
    expect((await call("GET", "/readyz")).status).toBe(200);
    expect((await call("GET", "/livez")).status).toBe(200);
    const broken: string[] = [];
    for (const res of resources) {
      if (res.name === "nopes" || res.name === "things" || !SAMPLES[res.name]) continue;
      for (const accept of ["application/json", "application/json;as=Table;v=v1;g=meta.k8s.io"]) {
        const r = await call("GET", `${res.prefix}/${res.name}`, undefined, { accept });
        if (r.status !== 200) broken.push(`${res.prefix}/${res.name} (${accept}): ${r.status} ${r.text.slice(0, 200)}`);
      }
    }
    expect(broken).toEqual([]);
    const w = await call("GET", "/api/v1/pods?watch=true&timeoutSeconds=1");
    expect(w.status).toBe(200);
    for (const line of w.text.split("\n").filter(Boolean)) expect(["ADDED", "BOOKMARK"]).toContain((JSON.parse(line) as { type: string }).type);
    const after = `fuzz-after-${SEED}`;
    expect((await call("POST", "/api/v1/namespaces", { apiVersion: "v1", kind: "Namespace", metadata: { name: after } })).status).toBe(201);
    const cm = { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "still-works" }, data: { a: "b" } };
    expect((await call("POST", `/api/v1/namespaces/${after}/configmaps`, cm)).status).toBe(201);
    const got = await call("GET", `/api/v1/namespaces/${after}/configmaps/still-works`);
    expect(got.status).toBe(200);
    expect(got.json().data).toEqual({ a: "b" });
    // A 5xx that was not a Status error would have been logged as an internal error.
    expect(cp.log()).not.toMatch(/internal error|Unhandled|uncaught/i);
  }, 240_000);
});
