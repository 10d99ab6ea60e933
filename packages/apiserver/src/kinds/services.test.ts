// Book 3.5.2, 5.2 and 10.2: Services as users meet them — defaults, port and type rules, a cluster
// IP that cannot change, values kept across updates, and the `kubectl get svc` row.
import { fieldErrorMessage } from "@corekube/api";
import { describe, expect, it } from "vitest";
import type { KubeObject, RequestContext } from "../registry/types.js";
import { endpoints, formatEndpoints, services } from "./core-services.js";

const ctx: RequestContext = { user: { username: "u", groups: [] }, namespace: "default", now: new Date("2024-05-01T12:00:00Z"), dryRun: false, warnings: [] };
const s = services.strategy;

function svc(spec: Record<string, unknown>, name = "web"): KubeObject {
  return { metadata: { name, namespace: "default", creationTimestamp: "2024-05-01T10:00:00Z" }, spec };
}

function create(o: KubeObject, allocate?: string): string[] {
  s.defaults!(o);
  s.prepareForCreate!(o, ctx);
  // The store's allocator fills in the cluster IP before validation.
  if (allocate) Object.assign(o.spec as object, { clusterIP: allocate, clusterIPs: [allocate] });
  return s.validate!(o, ctx).map(fieldErrorMessage);
}

describe("Service defaults", () => {
  it("fills in type, affinity, protocols, target ports and families", () => {
    const o = svc({ selector: { app: "web" }, ports: [{ port: 80 }, { name: "https", port: 443, targetPort: 8443 }] });
    create(o, "10.96.0.10");
    expect(o.spec).toMatchObject({
      type: "ClusterIP",
      sessionAffinity: "None",
      internalTrafficPolicy: "Cluster",
      ipFamilyPolicy: "SingleStack",
      ipFamilies: ["IPv4"],
      ports: [
        { port: 80, protocol: "TCP", targetPort: 80 },
        { name: "https", port: 443, protocol: "TCP", targetPort: 8443 },
      ],
    });
    expect((o.spec as any).externalTrafficPolicy).toBeUndefined();
    expect(o.status).toEqual({ loadBalancer: {} });
  });

  it("adds an external traffic policy for NodePort and LoadBalancer", () => {
    const np = svc({ type: "NodePort", ports: [{ port: 80 }] });
    create(np);
    expect((np.spec as any).externalTrafficPolicy).toBe("Cluster");
    const lb = svc({ type: "LoadBalancer", ports: [{ port: 80 }] });
    create(lb);
    expect((lb.spec as any).allocateLoadBalancerNodePorts).toBe(true);
  });

  it("marks a headless service without selector RequireDualStack", () => {
    const o = svc({ clusterIP: "None" });
    expect(create(o)).toEqual([]);
    expect(o.spec).toMatchObject({ clusterIPs: ["None"], ipFamilyPolicy: "RequireDualStack", ipFamilies: ["IPv4"] });
  });
});

describe("Service validation", () => {
  it("needs ports unless headless or ExternalName, and names when there are several", () => {
    expect(create(svc({}))).toEqual(["spec.ports: Required value"]);
    expect(create(svc({ ports: [{ port: 80 }, { port: 81 }] }))).toEqual(["spec.ports[0].name: Required value", "spec.ports[1].name: Required value"]);
    expect(create(svc({ type: "ExternalName", externalName: "db.example.com" }))).toEqual([]);
  });

  it("checks ports and node ports", () => {
    const errs = create(svc({ ports: [{ port: 0, nodePort: 30080, targetPort: "Http_" }] }));
    expect(errs).toContain("spec.ports[0].port: Invalid value: 0: must be between 1 and 65535, inclusive");
    expect(errs).toContain("spec.ports[0].nodePort: Forbidden: may not be used when `type` is 'ClusterIP'");
    expect(errs.some((e) => e.startsWith('spec.ports[0].targetPort: Invalid value: "Http_"'))).toBe(true);
  });

  it("refuses an unknown type and a bad cluster IP", () => {
    expect(create(svc({ type: "Magic", ports: [{ port: 80 }] }))).toContain(
      'spec.type: Unsupported value: "Magic": supported values: "ClusterIP", "ExternalName", "LoadBalancer", "NodePort"',
    );
    expect(create(svc({ clusterIP: "10.0.0.300", ports: [{ port: 80 }] }))).toContain(
      'spec.clusterIPs[0]: Invalid value: "10.0.0.300": must be empty, \'None\', or a valid IP address',
    );
  });

  it("needs an RFC 1035 name (starting with a letter)", () => {
    expect(create(svc({ ports: [{ port: 80 }] }, "1web"))[0]).toMatch(/^metadata\.name: Invalid value: "1web": a DNS-1035 label must consist of lower case/);
    expect(services.nameValidation).toBe("label");
  });

  it("forbids externalTrafficPolicy for cluster-internal services", () => {
    expect(create(svc({ ports: [{ port: 80 }], externalTrafficPolicy: "Local" }))).toEqual([
      'spec.externalTrafficPolicy: Invalid value: "Local": may only be set for externally-accessible services',
    ]);
  });
});

describe("Service updates", () => {
  const existing = () => {
    const o = svc({ type: "NodePort", selector: { app: "web" }, ports: [{ name: "http", port: 80 }] });
    create(o, "10.96.0.10");
    (o.spec as any).ports[0].nodePort = 30080;
    return o;
  };
  const update = (change: (spec: any) => void) => {
    const old = existing();
    const next = structuredClone(old);
    change(next.spec);
    s.defaults!(next);
    s.prepareForUpdate!(next, old, ctx);
    return { next, errs: [...s.validate!(next, ctx), ...s.validateUpdate!(next, old, ctx)].map(fieldErrorMessage) };
  };

  it("keeps the cluster IP and node ports a client leaves out", () => {
    const { next, errs } = update((spec) => {
      delete spec.clusterIP;
      delete spec.clusterIPs;
      spec.ports = [{ name: "http", port: 80 }];
    });
    expect(errs).toEqual([]);
    expect(next.spec).toMatchObject({ clusterIP: "10.96.0.10", clusterIPs: ["10.96.0.10"], ports: [{ nodePort: 30080 }] });
  });

  it("refuses a new cluster IP", () => {
    const { errs } = update((spec) => {
      spec.clusterIP = "10.96.0.11";
      spec.clusterIPs = ["10.96.0.11"];
    });
    expect(errs).toEqual(['spec.clusterIPs[0]: Invalid value: ["10.96.0.11"]: may not change once set']);
  });

  it("drops node ports and the external policy when the type becomes ClusterIP", () => {
    const { next, errs } = update((spec) => (spec.type = "ClusterIP"));
    expect(errs).toEqual([]);
    expect((next.spec as any).ports[0].nodePort).toBeUndefined();
    expect((next.spec as any).externalTrafficPolicy).toBeUndefined();
  });

  it("clears the cluster IP when the type becomes ExternalName", () => {
    const { next, errs } = update((spec) => {
      spec.type = "ExternalName";
      spec.externalName = "db.example.com";
    });
    expect(errs).toEqual([]);
    expect((next.spec as any).clusterIP).toBeUndefined();
    expect((next.spec as any).ipFamilies).toBeUndefined();
  });
});

describe("Service table and fields", () => {
  it("shows type, IPs and ports as kubectl does", () => {
    const o = svc({ type: "NodePort", selector: { app: "web" }, ports: [{ port: 80, nodePort: 30080 }] });
    create(o, "10.96.0.10");
    expect(services.table!.cells(o, ctx.now)).toEqual(["web", "NodePort", "10.96.0.10", "<none>", "80:30080/TCP", "120m", "app=web"]);
    const lb = svc({ type: "LoadBalancer", ports: [{ port: 443 }] });
    create(lb, "10.96.0.12");
    expect(services.table!.cells(lb, ctx.now)[3]).toBe("<pending>");
    lb.status = { loadBalancer: { ingress: [{ ip: "203.0.113.7" }] } };
    expect(services.table!.cells(lb, ctx.now)[3]).toBe("203.0.113.7");
  });

  it("is selectable by cluster IP and type", () => {
    const o = svc({ clusterIP: "None", selector: { app: "db" } });
    create(o);
    expect(services.fields!(o)).toEqual({ "spec.clusterIP": "None", "spec.type": "ClusterIP" });
  });
});

describe("Endpoints", () => {
  it("validates addresses and prints at most three", () => {
    const ep: KubeObject = {
      metadata: { name: "web", namespace: "default" },
      subsets: [{ addresses: [{ ip: "10.0.0.1" }, { ip: "10.0.0.2" }, { ip: "10.0.0.3" }, { ip: "10.0.0.4" }], ports: [{ port: 8080 }] }],
    };
    endpoints.strategy.defaults!(ep);
    expect(endpoints.strategy.validate!(ep, ctx)).toEqual([]);
    expect(formatEndpoints(ep)).toBe("10.0.0.1:8080,10.0.0.2:8080,10.0.0.3:8080 + 1 more...");
    const bad: KubeObject = { metadata: { name: "x" }, subsets: [{ addresses: [{ ip: "nope" }], ports: [{ port: 80, protocol: "TCP" }] }] };
    expect(endpoints.strategy.validate!(bad, ctx).map(fieldErrorMessage)).toEqual([
      'subsets[0].addresses[0].ip: Invalid value: "nope": must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)',
    ]);
    expect(formatEndpoints({ metadata: {} })).toBe("<none>");
  });
});
