// Book 10.2 and 3.5.2: tests for the endpoints and endpointslice reconciles: which pods a Service
// sends to, on which ports, and when the Endpoints and EndpointSlices are (re)written.
import { describe, expect, it } from "vitest";
import type { KubeObject, Pod } from "@corekube/api";
import { ENDPOINTS, ENDPOINT_SLICES } from "@corekube/client";
import { readerOf } from "../framework/testing.js";
import type { Action } from "../framework/types.js";
import {
  type EndpointSlice,
  type Endpoints,
  type Service,
  reconcileEndpoints,
  reconcileEndpointSlices,
  reconcileEndpointsObject,
} from "./reconcile.js";

const svc = (over: Partial<NonNullable<Service["spec"]>> = {}, labels: Record<string, string> = { app: "web" }): Service => ({
  apiVersion: "v1",
  kind: "Service",
  metadata: { name: "web", namespace: "ns", uid: "svc-uid", labels },
  spec: { selector: { app: "web" }, clusterIP: "10.96.0.10", ports: [{ name: "http", port: 80, targetPort: 8080, protocol: "TCP" }], ...over },
});

function pod(name: string, ip: string | undefined, opts: { ready?: boolean; labels?: Record<string, string>; ns?: string; ports?: { name: string; containerPort: number }[]; deleting?: boolean; phase?: "Running" | "Succeeded" } = {}): Pod {
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: {
      name,
      namespace: opts.ns ?? "ns",
      uid: `uid-${name}`,
      labels: opts.labels ?? { app: "web" },
      ...(opts.deleting ? { deletionTimestamp: "2026-01-01T00:00:00Z" } : {}),
    },
    spec: { nodeName: "node-1", containers: [{ name: "c", ports: opts.ports ?? [] }] },
    status: {
      phase: opts.phase ?? "Running",
      ...(ip ? { podIP: ip } : {}),
      conditions: [{ type: "Ready", status: opts.ready === false ? "False" : "True" }],
    },
  };
}

function state(services: Service[], pods: Pod[], endpoints: KubeObject[] = [], slices: KubeObject[] = []) {
  return { services: readerOf<KubeObject>(services), pods: readerOf(pods), endpoints: readerOf(endpoints), endpointSlices: readerOf(slices) };
}

const only = <T extends Action["verb"]>(actions: Action[], verb: T, resource = ENDPOINTS) =>
  actions.filter((a): a is Extract<Action, { verb: T }> => a.verb === verb && "resource" in a && a.resource === resource);
const ref = (name: string) => ({ kind: "Pod", namespace: "ns", name, uid: `uid-${name}` });

describe("reconcileEndpointsObject", () => {
  it("creates Endpoints named like the Service with ready and not-ready pods and the target port", () => {
    const r = reconcileEndpointsObject(
      "ns/web",
      state(
        [svc()],
        [
          pod("a", "10.0.0.2"),
          pod("b", "10.0.0.3", { ready: false }),
          pod("c", undefined), // no IP yet
          pod("d", "10.0.0.4", { labels: { app: "other" } }),
          pod("e", "10.0.0.5", { ns: "elsewhere" }),
          pod("f", "10.0.0.6", { phase: "Succeeded" }),
          pod("g", "10.0.0.7", { deleting: true }),
        ],
      ),
    );
    expect(r.actions).toHaveLength(1);
    const [create] = only(r.actions, "create");
    const ep = create!.object as Endpoints;
    expect(ep.metadata).toEqual({ name: "web", namespace: "ns", labels: { app: "web" } });
    expect(ep.subsets).toEqual([
      {
        addresses: [{ ip: "10.0.0.2", nodeName: "node-1", targetRef: ref("a") }],
        notReadyAddresses: [{ ip: "10.0.0.3", nodeName: "node-1", targetRef: ref("b") }],
        ports: [{ name: "http", port: 8080, protocol: "TCP" }],
      },
    ]);
  });

  it("puts every address in addresses when publishNotReadyAddresses is set, terminating pods included", () => {
    const r = reconcileEndpointsObject("ns/web", state([svc({ publishNotReadyAddresses: true })], [pod("a", "10.0.0.2", { ready: false }), pod("g", "10.0.0.7", { deleting: true })]));
    const ep = only(r.actions, "create")[0]!.object as Endpoints;
    expect(ep.subsets).toHaveLength(1);
    expect(ep.subsets![0]!.addresses!.map((a) => a.ip)).toEqual(["10.0.0.2", "10.0.0.7"]);
    expect(ep.subsets![0]!.notReadyAddresses).toBeUndefined();
  });

  it("resolves a named target port per pod and splits pods that resolve differently into subsets", () => {
    const service = svc({ ports: [{ name: "http", port: 80, targetPort: "web" }] });
    const r = reconcileEndpointsObject(
      "ns/web",
      state(
        [service],
        [
          pod("a", "10.0.0.2", { ports: [{ name: "web", containerPort: 8080 }] }),
          pod("b", "10.0.0.3", { ports: [{ name: "web", containerPort: 9090 }] }),
          pod("c", "10.0.0.4", { ports: [{ name: "web", containerPort: 8080 }] }),
          pod("d", "10.0.0.5", { ports: [{ name: "metrics", containerPort: 8080 }] }), // no "web" port: not an endpoint
        ],
      ),
    );
    const ep = only(r.actions, "create")[0]!.object as Endpoints;
    const byPort = Object.fromEntries(ep.subsets!.map((ss) => [ss.ports![0]!.port, ss.addresses!.map((a) => a.ip)]));
    expect(byPort).toEqual({ 8080: ["10.0.0.2", "10.0.0.4"], 9090: ["10.0.0.3"] });
  });

  it("does not write Endpoints that already match, and updates them when a pod's readiness changes", () => {
    const first = reconcileEndpointsObject("ns/web", state([svc()], [pod("a", "10.0.0.2")]));
    const stored = { ...(only(first.actions, "create")[0]!.object as Endpoints), metadata: { name: "web", namespace: "ns", labels: { app: "web" }, resourceVersion: "7" } };
    expect(reconcileEndpointsObject("ns/web", state([svc()], [pod("a", "10.0.0.2")], [stored])).actions).toEqual([]);

    const r = reconcileEndpointsObject("ns/web", state([svc()], [pod("a", "10.0.0.2", { ready: false })], [stored]));
    const [upd] = only(r.actions, "update");
    const ep = upd!.object as Endpoints;
    expect(ep.metadata.resourceVersion).toBe("7");
    expect(ep.subsets![0]!.addresses).toBeUndefined();
    expect(ep.subsets![0]!.notReadyAddresses!.map((a) => a.ip)).toEqual(["10.0.0.2"]);
  });

  it("follows the Service's labels and marks a headless Service's Endpoints", () => {
    const stored: Endpoints = { metadata: { name: "web", namespace: "ns", labels: { app: "web" } }, subsets: [] };
    const r = reconcileEndpointsObject("ns/web", state([svc({ clusterIP: "None" }, { app: "web", tier: "front" })], [], [stored]));
    expect((only(r.actions, "update")[0]!.object as Endpoints).metadata.labels).toEqual({ app: "web", tier: "front", "service.kubernetes.io/headless": "" });
  });

  it("lists a portless headless Service's pods with no ports, but not a portless ClusterIP Service's", () => {
    const headless = reconcileEndpointsObject("ns/web", state([svc({ clusterIP: "None", ports: [] })], [pod("a", "10.0.0.2")]));
    expect((only(headless.actions, "create")[0]!.object as Endpoints).subsets).toEqual([
      { addresses: [{ ip: "10.0.0.2", nodeName: "node-1", targetRef: ref("a") }] },
    ]);
    const plain = reconcileEndpointsObject("ns/web", state([svc({ ports: [] })], [pod("a", "10.0.0.2")]));
    expect((only(plain.actions, "create")[0]!.object as Endpoints).subsets).toEqual([]);
  });

  it("leaves the Endpoints of a selector-less Service to its users", () => {
    const user: Endpoints = { metadata: { name: "web", namespace: "ns" }, subsets: [{ addresses: [{ ip: "192.168.1.1" }] }] };
    const r = reconcileEndpointsObject("ns/web", state([svc({ selector: undefined })], [pod("a", "10.0.0.2")], [user]));
    expect(r.actions).toEqual([]);
  });

  it("deletes the Endpoints of a Service that is gone, and does nothing if there are none", () => {
    const stored: Endpoints = { metadata: { name: "web", namespace: "ns", uid: "ep-uid" }, subsets: [] };
    expect(reconcileEndpointsObject("ns/web", state([], [], [stored])).actions).toEqual([
      { verb: "delete", resource: ENDPOINTS, namespace: "ns", name: "web", uid: "ep-uid" },
    ]);
    expect(reconcileEndpointsObject("ns/web", state([], [pod("a", "10.0.0.2")])).actions).toEqual([]);
  });
});

describe("reconcileEndpointSlices", () => {
  it("creates one IPv4 slice owned by the Service with conditions, ports and the service-name label", () => {
    const r = reconcileEndpointSlices(
      "ns/web",
      state([svc()], [pod("a", "10.0.0.2"), pod("b", "10.0.0.3", { ready: false }), pod("g", "10.0.0.7", { deleting: true })]),
    );
    expect(r.actions).toHaveLength(1);
    const slice = only(r.actions, "create", ENDPOINT_SLICES)[0]!.object as EndpointSlice;
    expect(slice.metadata.generateName).toBe("web-");
    expect(slice.metadata.labels).toEqual({
      app: "web",
      "kubernetes.io/service-name": "web",
      "endpointslice.kubernetes.io/managed-by": "endpointslice-controller.k8s.io",
    });
    expect(slice.metadata.ownerReferences).toEqual([{ apiVersion: "v1", kind: "Service", name: "web", uid: "svc-uid", controller: true, blockOwnerDeletion: true }]);
    expect(slice.addressType).toBe("IPv4");
    expect(slice.ports).toEqual([{ name: "http", port: 8080, protocol: "TCP" }]);
    expect(slice.endpoints).toEqual([
      { addresses: ["10.0.0.2"], conditions: { ready: true, serving: true, terminating: false }, nodeName: "node-1", targetRef: ref("a") },
      { addresses: ["10.0.0.3"], conditions: { ready: false, serving: false, terminating: false }, nodeName: "node-1", targetRef: ref("b") },
      { addresses: ["10.0.0.7"], conditions: { ready: false, serving: true, terminating: true }, nodeName: "node-1", targetRef: ref("g") },
    ]);
  });

  it("updates the existing slice in place only when its endpoints change", () => {
    const first = reconcileEndpointSlices("ns/web", state([svc()], [pod("a", "10.0.0.2")]));
    const created = only(first.actions, "create", ENDPOINT_SLICES)[0]!.object as EndpointSlice;
    const stored: EndpointSlice = { ...created, metadata: { ...created.metadata, name: "web-abcde", uid: "slice-uid", resourceVersion: "3" } };

    expect(reconcileEndpointSlices("ns/web", state([svc()], [pod("a", "10.0.0.2")], [], [stored])).actions).toEqual([]);

    const r = reconcileEndpointSlices("ns/web", state([svc()], [pod("a", "10.0.0.2"), pod("b", "10.0.0.3")], [], [stored]));
    expect(r.actions.map((a) => a.verb)).toEqual(["update"]);
    const upd = only(r.actions, "update", ENDPOINT_SLICES)[0]!.object as EndpointSlice;
    expect(upd.metadata.name).toBe("web-abcde");
    expect(upd.metadata.resourceVersion).toBe("3");
    expect(upd.endpoints!.map((e) => e.addresses[0])).toEqual(["10.0.0.2", "10.0.0.3"]);
  });

  it("keeps an empty placeholder slice when no pod matches, and deletes slices no longer needed", () => {
    const r = reconcileEndpointSlices("ns/web", state([svc()], []));
    const placeholder = only(r.actions, "create", ENDPOINT_SLICES)[0]!.object as EndpointSlice;
    expect(placeholder.endpoints).toEqual([]);
    expect(placeholder.ports).toEqual([]);

    const stale: EndpointSlice = {
      metadata: {
        name: "web-old",
        namespace: "ns",
        uid: "old-uid",
        labels: { "kubernetes.io/service-name": "web", "endpointslice.kubernetes.io/managed-by": "endpointslice-controller.k8s.io" },
      },
      addressType: "IPv4",
      ports: [{ name: "http", port: 7070, protocol: "TCP" }],
      endpoints: [],
    };
    const r2 = reconcileEndpointSlices("ns/web", state([svc()], [pod("a", "10.0.0.2")], [], [stale]));
    expect(r2.actions.map((a) => a.verb).sort()).toEqual(["create", "delete"]);
    expect(r2.actions.find((a) => a.verb === "delete")).toEqual({ verb: "delete", resource: ENDPOINT_SLICES, namespace: "ns", name: "web-old", uid: "old-uid" });
  });

  it("writes nothing for a Service that is gone or has no selector", () => {
    expect(reconcileEndpointSlices("ns/web", state([], [pod("a", "10.0.0.2")])).actions).toEqual([]);
    expect(reconcileEndpointSlices("ns/web", state([svc({ selector: undefined })], [pod("a", "10.0.0.2")])).actions).toEqual([]);
  });
});

describe("reconcileEndpoints", () => {
  it("writes both the Endpoints and the EndpointSlice for a new Service", () => {
    const r = reconcileEndpoints("ns/web", state([svc()], [pod("a", "10.0.0.2")]));
    expect(r.actions.map((a) => (a.verb === "create" ? a.resource.kind : a.verb))).toEqual(["Endpoints", "EndpointSlice"]);
  });
});
