// Book 11.2 (and 10.x): ClusterIP and NodePort allocation for Services — each IP of
// --service-cluster-ip-range and each port of --service-node-port-range is claimed by one Service
// through a create-if-absent key in storage, so two API servers can never hand out the same one.
import { failure, type FieldError, field, invalid } from "@corekube/api";
import type { EtcdStorage } from "../storage/etcd.js";
import type { AdmissionPlugin, AdmissionRequest, Rollback } from "../registry/admission.js";
import type { KubeObject, ResourceDef } from "../registry/types.js";

export const IP_PREFIX = "/registry/ranges/serviceips/";
export const PORT_PREFIX = "/registry/ranges/servicenodeports/";

export interface Cidr {
  base: number;
  bits: number;
  size: number;
}

export function parseCidr(s: string): Cidr {
  const m = /^(\d+)\.(\d+)\.(\d+)\.(\d+)\/(\d+)$/.exec(s.trim());
  if (!m) throw new Error(`"${s}" is not an IPv4 CIDR such as 10.96.0.0/12`);
  const octets = m.slice(1, 5).map(Number);
  const bits = Number(m[5]);
  if (octets.some((o) => o > 255) || bits < 8 || bits > 30) throw new Error(`"${s}" is not a usable IPv4 CIDR (prefix length 8..30)`);
  const ip = ((octets[0]! << 24) | (octets[1]! << 16) | (octets[2]! << 8) | octets[3]!) >>> 0;
  const mask = bits === 0 ? 0 : (~0 << (32 - bits)) >>> 0;
  return { base: (ip & mask) >>> 0, bits, size: 2 ** (32 - bits) };
}

export const ipToString = (n: number): string => [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join(".");

export function ipToNumber(s: string): number | undefined {
  const m = /^(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(s);
  if (!m) return undefined;
  const o = m.slice(1).map(Number);
  if (o.some((x) => x > 255)) return undefined;
  return ((o[0]! << 24) | (o[1]! << 16) | (o[2]! << 8) | o[3]!) >>> 0;
}

export function parsePortRange(s: string): { min: number; max: number } {
  const m = /^(\d+)-(\d+)$/.exec(s.trim());
  const min = m ? Number(m[1]) : NaN;
  const max = m ? Number(m[2]) : NaN;
  if (!m || min < 1 || max > 65535 || min > max) throw new Error(`"${s}" is not a port range such as 30000-32767`);
  return { min, max };
}

interface ServiceSpec {
  type?: string;
  clusterIP?: string;
  clusterIPs?: string[];
  ports?: { port?: number; nodePort?: number; protocol?: string; name?: string }[];
}

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === "object" && !Array.isArray(v);
const absent = (v: unknown) => v === undefined || v === null;

/** Whether a service spec has the shapes allocation reads (strings, a list of port objects). */
function wellFormed(spec: unknown): boolean {
  if (!isObject(spec)) return false;
  if (!absent(spec.type) && typeof spec.type !== "string") return false;
  if (!absent(spec.clusterIP) && typeof spec.clusterIP !== "string") return false;
  if (!absent(spec.clusterIPs) && !(Array.isArray(spec.clusterIPs) && spec.clusterIPs.every((ip) => typeof ip === "string"))) return false;
  if (absent(spec.ports)) return true;
  if (!Array.isArray(spec.ports)) return false;
  return spec.ports.every((p) => isObject(p) && (absent(p.nodePort) || Number.isInteger(p.nodePort)));
}

const owner = (obj: KubeObject) => `${obj.metadata.namespace ?? ""}/${obj.metadata.name ?? ""}`;
const isServices = (def: ResourceDef) => def.group === "" && def.resource === "services";
const wantsNodePorts = (t: string | undefined) => t === "NodePort" || t === "LoadBalancer";

export class ServiceAllocator {
  constructor(
    private readonly storage: EtcdStorage,
    readonly cidr: Cidr,
    readonly ports: { min: number; max: number },
  ) {}

  private async claimed(prefix: string): Promise<Set<string>> {
    return new Set((await this.storage.keys(prefix)).map((k) => k.key.slice(prefix.length)));
  }

  /** Claims a specific IP, or a free one when ip is undefined. */
  async claimIp(ip: string | undefined, who: string): Promise<string> {
    if (ip !== undefined) {
      const n = ipToNumber(ip);
      if (n === undefined) throw invalid("Service", who.split("/")[1] ?? "", [field.invalid("spec.clusterIPs[0]", ip, "must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)")]);
      if (n <= this.cidr.base || n >= this.cidr.base + this.cidr.size - 1)
        throw this.invalidIp(ip, `failed to allocate IP ${ip}: the provided IP (${ip}) is not in the valid range. The range of valid IPs is ${ipToString(this.cidr.base)}/${this.cidr.bits}`, who);
      if (!(await this.storage.claim(IP_PREFIX + ip, who))) throw this.invalidIp(ip, `failed to allocate IP ${ip}: provided IP is already allocated`, who);
      return ip;
    }
    const used = await this.claimed(IP_PREFIX);
    const usable = this.cidr.size - 2;
    const start = Math.floor(Math.random() * usable);
    for (let i = 0; i < usable; i++) {
      const cand = ipToString(this.cidr.base + 1 + ((start + i) % usable));
      if (used.has(cand)) continue;
      if (await this.storage.claim(IP_PREFIX + cand, who)) return cand;
    }
    throw failure(500, "InternalError", `Internal error occurred: failed to allocate a serviceIP: range is full`);
  }

  async claimPort(port: number | undefined, who: string, path: string): Promise<number> {
    if (port !== undefined) {
      if (port < this.ports.min || port > this.ports.max)
        throw invalid("Service", who.split("/")[1] ?? "", [field.invalid(path, port, `provided port is not in the valid range. The range of valid ports is ${this.ports.min}-${this.ports.max}`)]);
      if (!(await this.storage.claim(PORT_PREFIX + port, who)))
        throw invalid("Service", who.split("/")[1] ?? "", [field.invalid(path, port, "provided port is already allocated")]);
      return port;
    }
    const used = await this.claimed(PORT_PREFIX);
    const n = this.ports.max - this.ports.min + 1;
    const start = Math.floor(Math.random() * n);
    for (let i = 0; i < n; i++) {
      const cand = this.ports.min + ((start + i) % n);
      if (used.has(String(cand))) continue;
      if (await this.storage.claim(PORT_PREFIX + cand, who)) return cand;
    }
    throw failure(500, "InternalError", "Internal error occurred: failed to allocate a nodePort: range is full");
  }

  async releaseIp(ip: string): Promise<void> {
    await this.storage.release(IP_PREFIX + ip);
  }

  async releasePort(port: number): Promise<void> {
    await this.storage.release(PORT_PREFIX + port);
  }

  private invalidIp(ip: string, msg: string, who: string) {
    const errs: FieldError[] = [field.invalid("spec.clusterIPs", [ip], msg)];
    return invalid("Service", who.split("/")[1] ?? "", errs);
  }

  /** The admission plugin that allocates on create/update and releases on delete. */
  plugin(): AdmissionPlugin {
    return {
      name: "ServiceIPAllocation",
      mutate: (req) => this.mutate(req),
      afterDelete: async (def, obj) => {
        if (!isServices(def)) return;
        const spec = (obj.spec ?? {}) as ServiceSpec;
        for (const ip of spec.clusterIPs ?? (spec.clusterIP ? [spec.clusterIP] : [])) if (ip !== "None") await this.releaseIp(ip).catch(() => undefined);
        for (const p of spec.ports ?? []) if (p.nodePort) await this.releasePort(p.nodePort).catch(() => undefined);
      },
    };
  }

  private async mutate(req: AdmissionRequest): Promise<Rollback | void> {
    if (!isServices(req.def) || !req.obj || req.subresource !== "") return;
    if (req.operation !== "CREATE" && req.operation !== "UPDATE") return;
    const obj = req.obj;
    obj.spec ??= {};
    // A malformed spec gets no allocations: validation refuses it next, with a 422 that says why.
    if (!wellFormed(obj.spec)) return;
    const spec = obj.spec as ServiceSpec;
    const old = (wellFormed(req.old?.spec) ? req.old?.spec : {}) as ServiceSpec;
    const who = owner(obj);
    const undo: (() => Promise<void>)[] = [];
    const rollback: Rollback = async () => {
      for (const u of undo) await u().catch(() => undefined);
    };
    try {
      if (spec.type !== "ExternalName") {
        if (req.operation === "CREATE" || !old.clusterIP || old.clusterIP === "") {
          const asked = spec.clusterIP || spec.clusterIPs?.[0] || "";
          if (asked !== "None") {
            const ip = await this.claimIp(asked === "" ? undefined : asked, who);
            undo.push(() => this.releaseIp(ip));
            spec.clusterIP = ip;
            spec.clusterIPs = [ip];
          } else {
            spec.clusterIP = "None";
            spec.clusterIPs = ["None"];
          }
        } else {
          // Kept from the old object when the client left it out (validation refuses changes).
          if (!spec.clusterIP) spec.clusterIP = old.clusterIP;
          if (!spec.clusterIPs?.length) spec.clusterIPs = old.clusterIPs ?? [old.clusterIP];
        }
      }
      const oldPorts = new Map<string, number>();
      for (const p of old.ports ?? []) if (p.nodePort) oldPorts.set(`${p.port}/${p.protocol ?? "TCP"}`, p.nodePort);
      const keptPorts = new Set<number>();
      if (wantsNodePorts(spec.type)) {
        for (const [i, p] of (spec.ports ?? []).entries()) {
          const prev = oldPorts.get(`${p.port}/${p.protocol ?? "TCP"}`);
          if (p.nodePort && prev === p.nodePort) {
            keptPorts.add(p.nodePort);
            continue;
          }
          if (!p.nodePort && prev !== undefined && req.operation === "UPDATE") {
            p.nodePort = prev;
            keptPorts.add(prev);
            continue;
          }
          const port = await this.claimPort(p.nodePort || undefined, who, `spec.ports[${i}].nodePort`);
          undo.push(() => this.releasePort(port));
          p.nodePort = port;
        }
      } else {
        for (const p of spec.ports ?? []) delete p.nodePort;
      }
      if (req.operation === "UPDATE" && !req.ctx.dryRun) {
        // Ports the service no longer uses go back to the pool.
        for (const port of oldPorts.values()) if (!keptPorts.has(port)) await this.releasePort(port).catch(() => undefined);
      }
    } catch (e) {
      await rollback();
      throw e;
    }
    if (req.ctx.dryRun) {
      await rollback();
      return;
    }
    return rollback;
  }
}
