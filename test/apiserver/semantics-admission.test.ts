// Book 11.2 (and 10.1, 5.2): what admission and the registry promise — Service ClusterIPs and
// NodePorts handed out once each and given back on delete, and CRDs that serve their custom
// resources from the moment they are created until they are deleted.
import { expect, it } from "vitest";
import { describeApiServer, eventually, NODE_PORTS } from "./semantics-support.js";

const ipNum = (ip: string) => ip.split(".").reduce((n, o) => n * 256 + Number(o), 0);

function service(name: string, extra: Record<string, unknown> = {}, ports: Record<string, unknown>[] = [{ port: 80, targetPort: 8080 }]): any {
  return { apiVersion: "v1", kind: "Service", metadata: { name }, spec: { selector: { app: name }, ports, ...extra } };
}

describeApiServer("admission: services and CRDs", (t) => {
  it("ClusterIPs are unique and in range, a requested IP can be had once (then 422), released on delete and re-usable; headless is None", async () => {
    const ns = await t.api.namespace();
    const base = `/api/v1/namespaces/${ns}/services`;
    const ips: string[] = [];
    for (let i = 0; i < 5; i++) {
      const r = await t.api.post(base, service(`s${i}`));
      expect(r.status).toBe(201);
      const ip = r.body.spec.clusterIP as string;
      expect(r.body.spec.clusterIPs).toEqual([ip]);
      const n = ipNum(ip);
      expect(n).toBeGreaterThan(ipNum("10.96.0.1")); // .1 is the kubernetes Service's
      expect(n).toBeLessThan(ipNum("10.96.0.255"));
      ips.push(ip);
    }
    const kube = await t.api.get(`/api/v1/namespaces/default/services/kubernetes`);
    expect(kube.body.spec.clusterIP).toBe("10.96.0.1");
    expect(new Set([...ips, "10.96.0.1"]).size).toBe(6);

    // An address none of the above was given (they are drawn at random).
    const want = ["10.96.0.200", "10.96.0.201", "10.96.0.202", "10.96.0.203", "10.96.0.204", "10.96.0.205"].find((ip) => !ips.includes(ip))!;
    const moveTo = ["10.96.0.210", "10.96.0.211", "10.96.0.212", "10.96.0.213", "10.96.0.214", "10.96.0.215"].find((ip) => !ips.includes(ip))!;
    const a = await t.api.post(base, service("want-a", { clusterIP: want }));
    expect(a.status).toBe(201);
    expect(a.body.spec.clusterIP).toBe(want);
    const b = await t.api.post(base, service("want-b", { clusterIP: want }));
    expect(b.status).toBe(422);
    expect(b.body.reason).toBe("Invalid");
    expect(b.body.message).toContain("already allocated");
    // An IP taken by an auto-allocated service is also refused.
    expect((await t.api.post(base, service("want-c", { clusterIP: ips[0] }))).status).toBe(422);
    // Out of range.
    expect((await t.api.post(base, service("far", { clusterIP: "10.0.0.5" }))).status).toBe(422);
    // A failed create keeps nothing: "want-b" may take another IP now.
    expect((await t.api.post(base, service("want-b"))).status).toBe(201);
    // Released on delete, and can be had again.
    expect((await t.api.del(`${base}/want-a`)).status).toBe(200);
    const again = await t.api.post(base, service("want-d", { clusterIP: want }));
    expect(again.status).toBe(201);
    // A dry run reserves nothing.
    expect((await t.api.del(`${base}/want-d`)).status).toBe(200);
    expect((await t.api.post(`${base}?dryRun=All`, service("dry", { clusterIP: want }))).status).toBe(201);
    expect((await t.api.post(base, service("want-e", { clusterIP: want }))).status).toBe(201);
    // The IP cannot be changed by an update; it is kept when the client leaves it out.
    const s0 = await t.api.get(`${base}/s0`);
    const moved = await t.api.put(`${base}/s0`, { ...s0.body, spec: { ...s0.body.spec, clusterIP: moveTo, clusterIPs: [moveTo] } });
    expect(moved.status).toBe(422);
    const { clusterIP: _c, clusterIPs: _cs, ...rest } = s0.body.spec;
    const kept = await t.api.put(`${base}/s0`, { ...s0.body, spec: { ...rest, sessionAffinity: "ClientIP" } });
    expect(kept.status).toBe(200);
    expect(kept.body.spec.clusterIP).toBe(ips[0]);

    const headless = await t.api.post(base, service("hl", { clusterIP: "None" }));
    expect(headless.status).toBe(201);
    expect(headless.body.spec.clusterIP).toBe("None");
    expect(headless.body.spec.clusterIPs).toEqual(["None"]);
    const headless2 = await t.api.post(base, service("hl2", { clusterIP: "None" }));
    expect(headless2.status).toBe(201);
    const ext = await t.api.post(base, { metadata: { name: "ext" }, spec: { type: "ExternalName", externalName: "example.com" } });
    expect(ext.status).toBe(201);
    expect(ext.body.spec.clusterIP ?? "").toBe("");
  });

  it("NodePorts are unique and in range, a requested port twice is 422, released on delete and on type change", async () => {
    const ns = await t.api.namespace();
    const base = `/api/v1/namespaces/${ns}/services`;
    const ports: number[] = [];
    for (let i = 0; i < 4; i++) {
      const r = await t.api.post(base, service(`np${i}`, { type: "NodePort" }, [{ name: "a", port: 80 }, { name: "b", port: 81 }]));
      expect(r.status).toBe(201);
      for (const p of r.body.spec.ports) {
        expect(p.nodePort).toBeGreaterThanOrEqual(NODE_PORTS.min);
        expect(p.nodePort).toBeLessThanOrEqual(NODE_PORTS.max);
        ports.push(p.nodePort);
      }
    }
    expect(new Set(ports).size).toBe(ports.length);
    const want = [NODE_PORTS.max, NODE_PORTS.max - 1, NODE_PORTS.max - 2, NODE_PORTS.min, NODE_PORTS.min + 1, NODE_PORTS.min + 2, NODE_PORTS.min + 3, NODE_PORTS.min + 4, NODE_PORTS.min + 5].find((p) => !ports.includes(p))!;
    const fixed = await t.api.post(base, service("fixed", { type: "NodePort" }, [{ port: 80, nodePort: want }]));
    expect(fixed.status).toBe(201);
    expect(fixed.body.spec.ports[0].nodePort).toBe(want);
    const dup = await t.api.post(base, service("dup", { type: "NodePort" }, [{ port: 80, nodePort: want }]));
    expect(dup.status).toBe(422);
    expect(dup.body.message).toContain("already allocated");
    expect((await t.api.post(base, service("taken", { type: "NodePort" }, [{ port: 80, nodePort: ports[0] }]))).status).toBe(422);
    expect((await t.api.post(base, service("out", { type: "NodePort" }, [{ port: 80, nodePort: NODE_PORTS.max + 1 }]))).status).toBe(422);
    // An update keeps the ports it had when the client leaves them out.
    const np0 = await t.api.get(`${base}/np0`);
    const kept = await t.api.put(`${base}/np0`, { ...np0.body, spec: { ...np0.body.spec, ports: np0.body.spec.ports.map(({ nodePort: _n, ...p }: any) => p) } });
    expect(kept.status).toBe(200);
    expect(kept.body.spec.ports.map((p: any) => p.nodePort)).toEqual(np0.body.spec.ports.map((p: any) => p.nodePort));
    // Delete releases; the port can be requested again.
    expect((await t.api.del(`${base}/fixed`)).status).toBe(200);
    expect((await t.api.post(base, service("dup", { type: "NodePort" }, [{ port: 80, nodePort: want }]))).status).toBe(201);
    // Changing to ClusterIP gives the ports back.
    const np1 = await t.api.get(`${base}/np1`);
    const freed = np1.body.spec.ports.map((p: any) => p.nodePort);
    const toCip = await t.api.put(`${base}/np1`, { ...np1.body, spec: { ...np1.body.spec, type: "ClusterIP", ports: np1.body.spec.ports.map(({ nodePort: _n, ...p }: any) => p) } });
    expect(toCip.status).toBe(200);
    expect(toCip.body.spec.ports.every((p: any) => p.nodePort === undefined)).toBe(true);
    const reuse = await t.api.post(base, service("reuse", { type: "NodePort" }, [{ port: 80, nodePort: freed[0] }]));
    expect(reuse.status).toBe(201);
  });

  it("a CRD serves its custom resources as soon as it is created; deleting it removes them and their endpoints", async () => {
    const ns = await t.api.namespace();
    const group = `g${process.pid}.example.com`;
    const crd = {
      apiVersion: "apiextensions.k8s.io/v1",
      kind: "CustomResourceDefinition",
      metadata: { name: `widgets.${group}` },
      spec: {
        group,
        scope: "Namespaced",
        names: { plural: "widgets", singular: "widget", kind: "Widget", listKind: "WidgetList" },
        versions: [
          {
            name: "v1",
            served: true,
            storage: true,
            subresources: { status: {} },
            schema: { openAPIV3Schema: { type: "object", properties: { spec: { type: "object", properties: { size: { type: "integer" } } }, status: { type: "object", "x-kubernetes-preserve-unknown-fields": true } } } },
          },
        ],
      },
    };
    const c = await t.api.post("/apis/apiextensions.k8s.io/v1/customresourcedefinitions", crd);
    expect(c.status).toBe(201);
    const established = (c.body.status?.conditions ?? []).find((x: any) => x.type === "Established");
    expect(established?.status).toBe("True");
    // Established in the reply: the very next request may use the new resource.
    const base = `/apis/${group}/v1/namespaces/${ns}/widgets`;
    const w = await t.api.post(base, { apiVersion: `${group}/v1`, kind: "Widget", metadata: { name: "w1" }, spec: { size: 3, junk: 1 }, status: { ready: true } });
    expect(w.status).toBe(201);
    expect(w.body.spec).toEqual({ size: 3 }); // pruned
    expect(w.body.status).toBeUndefined(); // status is written through /status only
    const st = await t.api.patch(`${base}/w1/status`, { status: { ready: true } });
    expect(st.status).toBe(200);
    expect(st.body.status).toEqual({ ready: true });
    const main = await t.api.patch(`${base}/w1`, { spec: { size: 4 }, status: { ready: false } });
    expect(main.body.status).toEqual({ ready: true });
    expect(main.body.metadata.generation).toBe(2);
    await t.api.patch(`${base}/w1`, { spec: { size: 3 } });
    expect((await t.api.get(`${base}/w1`)).body.spec.size).toBe(3);
    expect((await t.api.get(base)).body.items.map((i: any) => i.metadata.name)).toEqual(["w1"]);
    const disc = await t.api.get(`/apis/${group}/v1`);
    expect(disc.status).toBe(200);
    expect(disc.body.resources.map((r: any) => r.name)).toEqual(expect.arrayContaining(["widgets", "widgets/status"]));
    // Validation from the schema.
    expect((await t.api.post(base, { apiVersion: `${group}/v1`, kind: "Widget", metadata: { name: "w2" }, spec: { size: "big" } })).status).toBe(422);

    const d = await t.api.del(`/apis/apiextensions.k8s.io/v1/customresourcedefinitions/widgets.${group}`);
    expect(d.status).toBe(200);
    await eventually(async () => (await t.api.get(`/apis/apiextensions.k8s.io/v1/customresourcedefinitions/widgets.${group}`)).status === 404, 10_000, "CRD gone");
    await eventually(async () => (await t.api.get(`${base}/w1`)).status === 404, 10_000, "custom resource endpoint gone");
    expect((await t.api.get(base)).status).toBe(404);
    expect((await t.api.get(`/apis/${group}/v1`)).status).toBe(404);
    const groups = await t.api.get("/apis");
    expect(groups.body.groups.map((g: any) => g.name)).not.toContain(group);

    // Created again: it starts empty (the old custom resources were deleted from storage).
    const c2 = await t.api.post("/apis/apiextensions.k8s.io/v1/customresourcedefinitions", crd);
    expect(c2.status).toBe(201);
    const list = await eventually(async () => {
      const r = await t.api.get(base);
      return r.status === 200 ? r : undefined;
    }, 10_000, "widgets served again");
    expect(list.body.items).toEqual([]);
    await t.api.del(`/apis/apiextensions.k8s.io/v1/customresourcedefinitions/widgets.${group}`);
  });
});
