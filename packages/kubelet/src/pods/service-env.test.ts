// Book 10.2: the service environment variables a pod's containers see, for realistic Services.
import { describe, expect, it } from "vitest";
import { type ServiceForEnv, envName, serviceEnv, serviceVars } from "./service-env.js";

const svc = (namespace: string, name: string, clusterIP: string | undefined, ports: { name?: string; protocol?: string; port: number }[] = []): ServiceForEnv => ({
  apiVersion: "v1",
  kind: "Service",
  metadata: { name, namespace, uid: `${namespace}-${name}` },
  spec: { clusterIP, ports: ports.map((p) => ({ targetPort: p.port, ...p })) },
});

const asMap = (kvs: { key: string; value: string }[]) => Object.fromEntries(kvs.map((kv) => [kv.key, kv.value]));

const kubernetes = svc("default", "kubernetes", "10.96.0.1", [{ name: "https", protocol: "TCP", port: 443 }]);
const redis = svc("shop", "redis-primary", "10.96.12.7", [{ port: 6379 }]);
const web = svc("shop", "web", "10.96.40.2", [
  { name: "http", protocol: "TCP", port: 80 },
  { name: "dns-udp", protocol: "UDP", port: 53 },
]);
const headless = svc("shop", "db", "None", [{ port: 5432 }]);
const unallocated = svc("shop", "pending", "", [{ port: 8080 }]);
const external = { metadata: { name: "mail", namespace: "shop" }, spec: { type: "ExternalName", externalName: "mail.example.com" } } as ServiceForEnv;
const elsewhere = svc("billing", "ledger", "10.96.9.9", [{ port: 9000 }]);
const all = [kubernetes, redis, web, headless, unallocated, external, elsewhere];

describe("serviceVars", () => {
  it("writes host, port and the docker-links variables for an unnamed single port", () => {
    expect(asMap(serviceVars(redis))).toEqual({
      REDIS_PRIMARY_SERVICE_HOST: "10.96.12.7",
      REDIS_PRIMARY_SERVICE_PORT: "6379",
      REDIS_PRIMARY_PORT: "tcp://10.96.12.7:6379",
      REDIS_PRIMARY_PORT_6379_TCP: "tcp://10.96.12.7:6379",
      REDIS_PRIMARY_PORT_6379_TCP_PROTO: "tcp",
      REDIS_PRIMARY_PORT_6379_TCP_PORT: "6379",
      REDIS_PRIMARY_PORT_6379_TCP_ADDR: "10.96.12.7",
    });
  });

  it("names every named port, keeps the first port as the plain _PORT, and writes a link set per port", () => {
    expect(asMap(serviceVars(web))).toEqual({
      WEB_SERVICE_HOST: "10.96.40.2",
      WEB_SERVICE_PORT: "80",
      WEB_SERVICE_PORT_HTTP: "80",
      WEB_SERVICE_PORT_DNS_UDP: "53",
      WEB_PORT: "tcp://10.96.40.2:80",
      WEB_PORT_80_TCP: "tcp://10.96.40.2:80",
      WEB_PORT_80_TCP_PROTO: "tcp",
      WEB_PORT_80_TCP_PORT: "80",
      WEB_PORT_80_TCP_ADDR: "10.96.40.2",
      WEB_PORT_53_UDP: "udp://10.96.40.2:53",
      WEB_PORT_53_UDP_PROTO: "udp",
      WEB_PORT_53_UDP_PORT: "53",
      WEB_PORT_53_UDP_ADDR: "10.96.40.2",
    });
  });

  it("brackets an IPv6 cluster IP in URLs but not in _HOST or _ADDR", () => {
    const m = asMap(serviceVars(svc("shop", "api", "fd00:10:96::a", [{ port: 8443, protocol: "SCTP" }])));
    expect(m.API_SERVICE_HOST).toBe("fd00:10:96::a");
    expect(m.API_PORT).toBe("sctp://[fd00:10:96::a]:8443");
    expect(m.API_PORT_8443_SCTP).toBe("sctp://[fd00:10:96::a]:8443");
    expect(m.API_PORT_8443_SCTP_ADDR).toBe("fd00:10:96::a");
  });

  it("writes nothing for headless, unallocated or ExternalName Services", () => {
    expect(serviceVars(headless)).toEqual([]);
    expect(serviceVars(unallocated)).toEqual([]);
    expect(serviceVars(external)).toEqual([]);
  });

  it("does not crash on a Service with a cluster IP and no ports", () => {
    expect(serviceVars(svc("shop", "bare", "10.96.1.1"))).toEqual([{ key: "BARE_SERVICE_HOST", value: "10.96.1.1" }]);
  });
});

describe("serviceEnv", () => {
  it("gives a pod the kubernetes service and the Services of its own namespace, nothing from other namespaces", () => {
    const m = asMap(serviceEnv(all, "shop", true));
    expect(m.KUBERNETES_SERVICE_HOST).toBe("10.96.0.1");
    expect(m.KUBERNETES_SERVICE_PORT).toBe("443");
    expect(m.KUBERNETES_SERVICE_PORT_HTTPS).toBe("443");
    expect(m.KUBERNETES_PORT).toBe("tcp://10.96.0.1:443");
    expect(m.REDIS_PRIMARY_SERVICE_HOST).toBe("10.96.12.7");
    expect(m.WEB_SERVICE_PORT_HTTP).toBe("80");
    expect(Object.keys(m).some((k) => k.startsWith("LEDGER_"))).toBe(false);
    expect(Object.keys(m).some((k) => k.startsWith("DB_") || k.startsWith("PENDING_") || k.startsWith("MAIL_"))).toBe(false);
  });

  it("treats an unset enableServiceLinks as true", () => {
    expect(serviceEnv(all, "shop", undefined)).toEqual(serviceEnv(all, "shop", true));
  });

  it("with enableServiceLinks false keeps only the master kubernetes service", () => {
    const keys = serviceEnv(all, "shop", false).map((kv) => kv.key);
    expect(keys.length).toBeGreaterThan(0);
    expect(keys.every((k) => k.startsWith("KUBERNETES_"))).toBe(true);
  });

  it("in the default namespace with links off, other default Services stay out but kubernetes stays in", () => {
    const other = svc("default", "frontend", "10.96.3.3", [{ port: 80 }]);
    const keys = serviceEnv([kubernetes, other], "default", false).map((kv) => kv.key);
    expect(keys).toContain("KUBERNETES_SERVICE_HOST");
    expect(keys).not.toContain("FRONTEND_SERVICE_HOST");
    expect(serviceEnv([kubernetes, other], "default", true).map((kv) => kv.key)).toContain("FRONTEND_SERVICE_HOST");
  });

  it("lets the pod namespace's own 'kubernetes' Service win over the master one, whatever the list order", () => {
    const mine = svc("shop", "kubernetes", "10.96.77.7", [{ port: 6443 }]);
    for (const list of [[kubernetes, mine], [mine, kubernetes]]) {
      const m = asMap(serviceEnv(list, "shop", true));
      expect(m.KUBERNETES_SERVICE_HOST).toBe("10.96.77.7");
      expect(m.KUBERNETES_SERVICE_PORT).toBe("6443");
      expect(m.KUBERNETES_SERVICE_PORT_HTTPS).toBeUndefined();
    }
    expect(asMap(serviceEnv([kubernetes, mine], "shop", false)).KUBERNETES_SERVICE_HOST).toBe("10.96.0.1");
  });

  it("honours another master namespace", () => {
    const m = asMap(serviceEnv([kubernetes, svc("kube-system", "kubernetes", "10.0.0.1", [{ port: 443 }])], "shop", false, "kube-system"));
    expect(m.KUBERNETES_SERVICE_HOST).toBe("10.0.0.1");
  });

  it("ignores a headless kubernetes Service and gives each key once", () => {
    expect(serviceEnv([svc("default", "kubernetes", "None", [{ port: 443 }])], "shop", true)).toEqual([]);
    const keys = serviceEnv(all, "shop", true).map((kv) => kv.key);
    expect(new Set(keys).size).toBe(keys.length);
  });

  it("turns dashes into underscores and upper-cases names", () => {
    expect(envName("my-cool-svc")).toBe("MY_COOL_SVC");
  });
});
