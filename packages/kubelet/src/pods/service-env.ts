// Book 10.2 (and 3.5): service environment variables. Before cluster DNS, a container found a Service through
// variables the kubelet wrote into its environment: FOO_SERVICE_HOST/PORT plus the old Docker-links names.
import type { KeyValue } from "../runtime/cri.js";

/** The parts of a Service this file reads (loose, like every object a client sees). */
export interface ServiceForEnv {
  metadata: { name?: string; namespace?: string; [key: string]: unknown };
  spec?: { clusterIP?: string; ports?: { name?: string; protocol?: string; port: number; [key: string]: unknown }[]; [key: string]: unknown };
  [key: string]: unknown;
}

/** Services whose variables every pod gets, from the master namespace, whatever enableServiceLinks says. */
export const MASTER_SERVICES: ReadonlySet<string> = new Set(["kubernetes"]);

/** Whether the Service has a virtual IP: not headless ("None") and allocated (not empty). */
export const hasServiceIP = (svc: ServiceForEnv): boolean => {
  const ip = svc.spec?.clusterIP;
  return ip !== undefined && ip !== "" && ip !== "None";
};

/** "my-svc" -> "MY_SVC": how a Service or port name becomes part of a variable name. */
export const envName = (name: string): string => name.replace(/-/g, "_").toUpperCase();

/** "10.0.0.1", 80 -> "10.0.0.1:80"; an IPv6 address goes in brackets so the port stays readable. */
const hostPort = (ip: string, port: number): string => (ip.includes(":") ? `[${ip}]:${port}` : `${ip}:${port}`);

/**
 * The variables one Service contributes, in a fixed order: host, first port, named ports, then the
 * Docker-links set (FOO_PORT for the first port, and FOO_PORT_<port>_<PROTO>{,_PROTO,_PORT,_ADDR} for each).
 * Empty for a Service without a cluster IP or without a name; a Service without ports gets only its host.
 */
export function serviceVars(svc: ServiceForEnv): KeyValue[] {
  const name = svc.metadata.name;
  if (!name || !hasServiceIP(svc)) return [];
  const ip = svc.spec!.clusterIP!;
  const ports = (svc.spec?.ports ?? []).filter((p) => Number.isInteger(p?.port));
  const prefix = envName(name);
  const out: KeyValue[] = [{ key: `${prefix}_SERVICE_HOST`, value: ip }];
  if (ports.length === 0) return out;
  const portVar = `${prefix}_SERVICE_PORT`;
  out.push({ key: portVar, value: String(ports[0]!.port) });
  for (const p of ports) if (p.name) out.push({ key: `${portVar}_${envName(p.name)}`, value: String(p.port) });
  ports.forEach((p, i) => {
    const proto = (p.protocol || "TCP").toLowerCase();
    const url = `${proto}://${hostPort(ip, p.port)}`;
    if (i === 0) out.push({ key: `${prefix}_PORT`, value: url });
    const pp = `${prefix}_PORT_${p.port}_${proto.toUpperCase()}`;
    out.push({ key: pp, value: url }, { key: `${pp}_PROTO`, value: proto }, { key: `${pp}_PORT`, value: String(p.port) }, { key: `${pp}_ADDR`, value: ip });
  });
  return out;
}

/**
 * The service environment of a pod in `namespace`: the master namespace's `kubernetes` Service always, and,
 * unless the pod sets enableServiceLinks: false, every Service of the pod's own namespace. Only Services with a
 * cluster IP count. When the pod's namespace has a Service with a master service's name, the pod's own wins.
 * `services` may hold every Service the kubelet knows (all namespaces); the others are ignored.
 *
 * The caller puts these below the container's own variables: an `env` entry of the same name replaces the
 * service value, and `$(FOO_SERVICE_HOST)` in an env value may refer to them. Image (Dockerfile ENV) values
 * sit below both. Each key appears once.
 */
export function serviceEnv(services: readonly ServiceForEnv[], namespace: string, enableServiceLinks: boolean | undefined, masterNamespace = "default"): KeyValue[] {
  const chosen = new Map<string, ServiceForEnv>();
  for (const svc of services) {
    const name = svc?.metadata?.name;
    if (!name || !hasServiceIP(svc)) continue;
    const ns = svc.metadata.namespace ?? "default";
    if (ns === masterNamespace && MASTER_SERVICES.has(name)) {
      if (!chosen.has(name)) chosen.set(name, svc);
    } else if (ns === namespace && enableServiceLinks !== false) {
      chosen.set(name, svc);
    }
  }
  const vars = new Map<string, string>();
  const names = [...chosen.keys()].sort();
  for (const n of names) for (const kv of serviceVars(chosen.get(n)!)) vars.set(kv.key, kv.value);
  return [...vars].map(([key, value]) => ({ key, value }));
}
