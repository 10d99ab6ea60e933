// Book 11.2: the built-in resource list as discovery and the store rely on it — unique names,
// complete definitions, Tables whose rows fit their columns, and strategies that survive bad input.
import { describe, expect, it } from "vitest";
import type { KubeObject, RequestContext } from "../registry/types.js";
import { builtinResources } from "./index.js";

const ctx: RequestContext = { user: { username: "u", groups: [] }, namespace: "default", now: new Date("2024-05-01T12:00:00Z"), dryRun: false, warnings: [] };
const defs = builtinResources();

describe("builtinResources", () => {
  it("names each resource once per group and version", () => {
    const keys = defs.map((d) => `${d.group}/${d.version}/${d.resource}`);
    expect(new Set(keys).size).toBe(keys.length);
    expect(keys).toContain("/v1/pods");
    expect(keys).toContain("apps/v1/deployments");
    expect(keys).toContain("autoscaling/v2/horizontalpodautoscalers");
    expect(keys).toContain("events.k8s.io/v1/events");
    expect(keys).toContain("rbac.authorization.k8s.io/v1/clusterrolebindings");
  });

  it("gives every resource its discovery names and schema", () => {
    for (const d of defs) {
      expect(d.listKind).toBe(`${d.kind}List`);
      expect(d.singular).toBe(d.kind.toLowerCase());
      const group = d.group === "" ? "core" : d.group.replace(/\.k8s\.io$/, "").replace(/^rbac\.authorization$/, "rbac");
      expect(d.schemaName).toBe(`io.k8s.api.${group}.${d.version}.${d.kind}`);
    }
  });

  it("uses Kubernetes' short names and the `all` category", () => {
    const byResource = (g: string, r: string) => defs.find((d) => d.group === g && d.resource === r)!;
    expect(byResource("", "pods").shortNames).toEqual(["po"]);
    expect(byResource("", "services").categories).toEqual(["all"]);
    expect(byResource("apps", "deployments").shortNames).toEqual(["deploy"]);
    expect(byResource("", "namespaces").namespaced).toBe(false);
    expect(byResource("", "nodes").strategy.keepStatusOnCreate).toBe(true);
    const all = defs.filter((d) => d.categories?.includes("all")).map((d) => d.resource).sort();
    expect(all).toEqual(["cronjobs", "daemonsets", "deployments", "horizontalpodautoscalers", "jobs", "pods", "replicasets", "services", "statefulsets"]);
    const shorts = defs.flatMap((d) => (d.shortNames ?? []).map((s) => `${d.group}:${s}`));
    expect(new Set(shorts).size).toBe(shorts.length);
  });

  it("builds rows with one cell per column and a Name column", () => {
    const o: KubeObject = { metadata: { name: "x", namespace: "default", creationTimestamp: "2024-05-01T11:00:00Z" } };
    for (const d of defs) {
      const t = d.table!;
      expect(t, d.resource).toBeDefined();
      expect(t.cells(structuredClone(o), ctx.now)).toHaveLength(t.columns.length);
      expect(t.columns.some((c) => c.name === "Name" && c.format === "name")).toBe(true);
    }
  });

  /** Known field names holding values of the wrong type, nested the way real specs nest. */
  const wrongTypes = {
    containers: [1, null, "x", { name: 5, image: 7, ports: "p", env: 5, volumeMounts: [5], resources: { limits: "x", requests: { cpu: {} } }, livenessProbe: 5 }],
    initContainers: 5,
    volumes: [{}, 5, { name: "v", secret: 5, projected: { sources: 5 } }],
    template: { metadata: 5, spec: { containers: "x", tolerations: [5, { key: 5 }] } },
    selector: { matchLabels: 5, matchExpressions: [5, { key: 5, operator: 5, values: 5 }] },
    ports: [5, { port: "x", nodePort: "y", targetPort: {} }],
    clusterIPs: [5],
    strategy: 5,
    updateStrategy: { type: 5, rollingUpdate: 5 },
    jobTemplate: { spec: 5 },
    metrics: [5, { type: "Resource", resource: 5 }, { type: "Pods", pods: { metric: 5, target: 5 } }],
    behavior: { scaleUp: 5, scaleDown: { policies: [5] } },
    scaleTargetRef: 5,
    hard: { pods: {} },
    limits: [5, { type: "Container", max: 5, default: { cpu: [] } }],
    capacity: { storage: {} },
    accessModes: "RWO",
    resources: { requests: { storage: [] } },
    ingress: [5, { ports: [5], from: [5, { ipBlock: 5 }] }],
    minAvailable: {},
    podCIDRs: [5],
    taints: [5, { key: 5 }],
    conditions: [5],
    containerStatuses: [5, { state: 5, lastState: { terminated: 5 } }],
    initContainerStatuses: [{ state: { terminated: { exitCode: "x" } } }],
    podIPs: [5],
    loadBalancer: { ingress: [5] },
    involvedObject: 5,
    regarding: "x",
    series: 5,
    addresses: 5,
    nodeInfo: 5,
    active: 5,
  };
  const garbage: unknown[] = [undefined, null, 5, "text", [], [1, "a", null], { a: { b: [null] } }, wrongTypes];

  it("never throws on malformed objects", () => {
    for (const d of defs) {
      for (const g of garbage) {
        const make = (): KubeObject =>
          ({
            metadata: { name: "x", namespace: "default", labels: g, annotations: g, ownerReferences: g, finalizers: g },
            spec: g,
            status: g,
            data: g,
            subsets: g,
            rules: g,
            subjects: g,
            roleRef: g,
            endpoints: g,
            ports: g,
          }) as unknown as KubeObject;
        const o = make();
        const old = make();
        const s = d.strategy;
        expect(() => {
          s.defaults?.(o);
          s.prepareForCreate?.(o, ctx);
          s.validate?.(o, ctx);
          s.prepareForUpdate?.(o, old, ctx);
          s.validateUpdate?.(o, old, ctx);
          s.prepareForStatusUpdate?.(o, old, ctx);
          s.validateStatusUpdate?.(o, old, ctx);
          s.defaultGracePeriodSeconds?.(o);
          d.table?.cells(o, ctx.now);
          d.fields?.(o);
          d.subresources?.scale?.selectorFrom?.(o);
        }, `${d.resource} with ${JSON.stringify(g)}`).not.toThrow();
      }
    }
  });

  it("reports a missing spec as validation errors rather than accepting it", () => {
    const needsSpec = ["pods", "deployments", "replicasets", "statefulsets", "daemonsets", "jobs", "cronjobs", "persistentvolumes", "persistentvolumeclaims", "horizontalpodautoscalers"];
    for (const name of needsSpec) {
      const d = defs.find((x) => x.resource === name)!;
      const o: KubeObject = { metadata: { name: "x", namespace: "default", uid: "u" } };
      d.strategy.defaults?.(o);
      d.strategy.prepareForCreate?.(o, ctx);
      expect(d.strategy.validate!(o, ctx).length, name).toBeGreaterThan(0);
    }
  });
});
