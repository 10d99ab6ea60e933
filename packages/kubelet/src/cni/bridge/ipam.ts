// Book 5.4 and 6.2: corekube-bridge's IPAM, a host-local-like allocator. Each lease is a file named after
// the IP, holding the container id and interface, under <dataDir>/<network>/, changed only under a lock.
import { mkdir, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { CniError, CniErrorCode } from "../spec.js";
import { withFileLock } from "./lock.js";

export const DEFAULT_IPAM_DATA_DIR = "/var/lib/corekube/cni/networks";
const LAST_RESERVED = "last_reserved_ip";
const LOCK = "lock";

/** An IPv4 CIDR as numbers. */
export interface Cidr {
  /** Network address as an unsigned 32-bit number. */
  base: number;
  prefix: number;
}

export function ipToInt(ip: string): number {
  const parts = ip.split(".");
  if (parts.length !== 4) throw new Error(`"${ip}" is not an IPv4 address`);
  let n = 0;
  for (const p of parts) {
    if (!/^\d{1,3}$/.test(p) || Number(p) > 255) throw new Error(`"${ip}" is not an IPv4 address`);
    n = n * 256 + Number(p);
  }
  return n;
}

export function intToIp(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join(".");
}

/** Parses "a.b.c.d/nn" (IPv4 only); host bits must be zero. Throws CniError(InvalidNetworkConfig). */
export function parseCidr(cidr: string): Cidr {
  const m = /^([0-9.]+)\/(\d{1,2})$/.exec(String(cidr));
  const prefix = m ? Number(m[2]) : -1;
  if (!m || prefix < 0 || prefix > 32) {
    throw new CniError(CniErrorCode.InvalidNetworkConfig, `"${cidr}" is not an IPv4 CIDR`);
  }
  let addr: number;
  try {
    addr = ipToInt(m[1] as string);
  } catch (e) {
    throw new CniError(CniErrorCode.InvalidNetworkConfig, `"${cidr}": ${(e as Error).message}`);
  }
  const size = 2 ** (32 - prefix);
  if (addr % size !== 0) throw new CniError(CniErrorCode.InvalidNetworkConfig, `"${cidr}" has host bits set`);
  return { base: addr, prefix };
}

export function cidrContains(c: Cidr, ip: number): boolean {
  const size = 2 ** (32 - c.prefix);
  return ip >= c.base && ip < c.base + size;
}

export interface Lease {
  ip: string;
  /** "ip/prefix", ready for `ip addr add` and for a CNI result. */
  address: string;
  gateway: string;
}

/**
 * Leases addresses from one subnet. The gateway is the first host address; pods get the rest, excluding
 * the network and broadcast addresses. Allocation continues after the last reserved address and wraps,
 * as host-local does, so a released IP is not handed out again at once unless the range is full.
 */
export class IpamStore {
  readonly dir: string;
  readonly subnet: Cidr;
  readonly gateway: number;
  private readonly first: number;
  private readonly last: number;

  constructor(dataDir: string, network: string, subnet: string) {
    if (!/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(network)) {
      throw new CniError(CniErrorCode.InvalidNetworkConfig, `network name "${network}" is not usable as a directory name`);
    }
    this.dir = join(dataDir, network);
    this.subnet = parseCidr(subnet);
    const size = 2 ** (32 - this.subnet.prefix);
    if (size < 4) throw new CniError(CniErrorCode.InvalidNetworkConfig, `subnet ${subnet} is too small for a gateway and a pod`);
    this.gateway = this.subnet.base + 1;
    this.first = this.subnet.base + 2;
    this.last = this.subnet.base + size - 2;
  }

  get gatewayIp(): string {
    return intToIp(this.gateway);
  }

  /** How many pod addresses the range holds. */
  get capacity(): number {
    return this.last - this.first + 1;
  }

  private lease(ip: number): Lease {
    return { ip: intToIp(ip), address: `${intToIp(ip)}/${this.subnet.prefix}`, gateway: this.gatewayIp };
  }

  private async owners(): Promise<Map<string, string>> {
    const out = new Map<string, string>();
    let names: string[] = [];
    try {
      names = await readdir(this.dir);
    } catch {
      return out;
    }
    for (const n of names) {
      if (!/^\d+\.\d+\.\d+\.\d+$/.test(n)) continue;
      try {
        out.set(n, (await readFile(join(this.dir, n), "utf8")).trim());
      } catch {
        // released meanwhile
      }
    }
    return out;
  }

  /** Runs fn with the network's lock held (also used by the plugin to serialize bridge/iptables setup). */
  async locked<T>(fn: () => Promise<T>): Promise<T> {
    await mkdir(this.dir, { recursive: true, mode: 0o755 });
    return withFileLock(join(this.dir, LOCK), fn);
  }

  /** Allocates an address for (containerId, ifName); returns the existing lease if it already has one. */
  allocate(containerId: string, ifName: string): Promise<Lease> {
    return this.locked(() => this.allocateLocked(containerId, ifName));
  }

  /** Same as allocate, for callers that already hold the lock. */
  async allocateLocked(containerId: string, ifName: string): Promise<Lease> {
    const owner = `${containerId}\n${ifName}`;
    const taken = await this.owners();
    for (const [ip, who] of taken) if (who === owner) return this.lease(ipToInt(ip));
    let lastReserved = this.first - 1;
    try {
      const n = ipToInt((await readFile(join(this.dir, LAST_RESERVED), "utf8")).trim());
      if (n >= this.first && n <= this.last) lastReserved = n;
    } catch {
      // no history yet: start at the beginning
    }
    const count = this.capacity;
    for (let i = 1; i <= count; i++) {
      const ip = this.first + ((lastReserved - this.first + i + count) % count);
      const name = intToIp(ip);
      if (taken.has(name)) continue;
      try {
        // 'wx' makes the lease itself exclusive, even against a writer that ignored the lock.
        await writeFile(join(this.dir, name), owner, { flag: "wx", mode: 0o644 });
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === "EEXIST") continue;
        throw new CniError(CniErrorCode.IoFailure, `cannot write lease ${name}: ${(e as Error).message}`);
      }
      await writeFile(join(this.dir, LAST_RESERVED), name);
      return this.lease(ip);
    }
    throw new CniError(
      CniErrorCode.IpamExhausted,
      `no free IP address in ${intToIp(this.subnet.base)}/${this.subnet.prefix} (all ${count} leased)`,
    );
  }

  /** Releases every lease of (containerId, ifName). Idempotent; returns the IPs released. */
  release(containerId: string, ifName: string): Promise<string[]> {
    return this.locked(async () => {
      const owner = `${containerId}\n${ifName}`;
      const freed: string[] = [];
      for (const [ip, who] of await this.owners()) {
        if (who !== owner) continue;
        await rm(join(this.dir, ip), { force: true });
        freed.push(ip);
      }
      return freed;
    });
  }

  /** The lease held by (containerId, ifName), if any. */
  async find(containerId: string, ifName: string): Promise<Lease | undefined> {
    const owner = `${containerId}\n${ifName}`;
    for (const [ip, who] of await this.owners()) if (who === owner) return this.lease(ipToInt(ip));
    return undefined;
  }

  /** All leases, ip → "containerId\nifName". */
  leases(): Promise<Map<string, string>> {
    return this.owners();
  }
}
