// Book 2.3.2 and 11.2.3: the addresses of simulated nodes: each node's pod CIDR and InternalIP, and a
// per-node pod IP allocator (what a CNI plugin's host-local IPAM does on a real node).

/** An IPv4 address as an unsigned 32-bit number. */
export function parseIPv4(text: string): number {
  const parts = text.split(".");
  if (parts.length !== 4) throw new Error(`"${text}" is not an IPv4 address`);
  let n = 0;
  for (const p of parts) {
    if (!/^\d{1,3}$/.test(p) || Number(p) > 255) throw new Error(`"${text}" is not an IPv4 address`);
    n = n * 256 + Number(p);
  }
  return n;
}

export function formatIPv4(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join(".");
}

/**
 * A base written as one to four octets ("10.244", "172.16.0.0") as the 32-bit address it starts,
 * the missing octets being zero.
 */
export function parseBase(base: string): number {
  const parts = base.split(".").filter((p) => p !== "");
  if (parts.length < 1 || parts.length > 4) throw new Error(`"${base}" is not an address prefix like 10.244`);
  while (parts.length < 4) parts.push("0");
  return parseIPv4(parts.join("."));
}

const SPACE = 2 ** 32;

/**
 * Node i's pod range: the i-th /24 counted from the base, so with "10.244" node 0 gets
 * 10.244.0.0/24, node 255 10.244.255.0/24 and node 256 10.245.0.0/24. Past 10.255.255.0 (3,072
 * nodes from 10.244) the count carries into the first octet (11.0.0.0/24, ...): nothing is routed
 * in a simulation, so such addresses only need to be distinct.
 */
export function podCIDRForNode(base: string, index: number): string {
  const start = parseBase(base) - (parseBase(base) % 256) + index * 256;
  if (!Number.isInteger(index) || index < 0 || start + 255 >= SPACE) throw new Error(`no /24 left for node ${index} after ${base}`);
  return `${formatIPv4(start)}/24`;
}

/**
 * Node i's InternalIP: 254 nodes per /24 of the base (hosts .1 to .254), so with "172.16" node 0
 * is 172.16.0.1, node 253 172.16.0.254 and node 254 172.16.1.1.
 */
export function nodeIPForNode(base: string, index: number): string {
  const start = parseBase(base) - (parseBase(base) % 256);
  const n = start + Math.floor(index / 254) * 256 + (index % 254) + 1;
  if (!Number.isInteger(index) || index < 0 || n >= SPACE) throw new Error(`no address left for node ${index} after ${base}`);
  return formatIPv4(n);
}

export interface CIDR {
  network: number;
  prefix: number;
}

export function parseCIDR(text: string): CIDR {
  const m = /^([\d.]+)\/(\d{1,2})$/.exec(text);
  if (!m || Number(m[2]) > 32) throw new Error(`"${text}" is not an IPv4 CIDR`);
  const prefix = Number(m[2]);
  const size = 2 ** (32 - prefix);
  const addr = parseIPv4(m[1]!);
  return { network: addr - (addr % size), prefix };
}

export function cidrContains(c: CIDR, ip: string): boolean {
  let n: number;
  try {
    n = parseIPv4(ip);
  } catch {
    return false;
  }
  return n >= c.network && n < c.network + 2 ** (32 - c.prefix);
}

/**
 * Hands out pod IPs from one node's range: the network address and the first host (the bridge's
 * gateway on a real node) and the broadcast address are never given; the rest go round-robin from
 * where the last allocation stopped, so a freed address is not reused at once.
 */
export class IPAllocator {
  readonly cidr: CIDR;
  private readonly first: number;
  private readonly last: number;
  private readonly used = new Set<number>();
  private next: number;

  constructor(cidr: string) {
    this.cidr = parseCIDR(cidr);
    const size = 2 ** (32 - this.cidr.prefix);
    this.first = this.cidr.network + 2;
    this.last = this.cidr.network + size - 2;
    this.next = this.first;
  }

  /** How many addresses the range can hand out. */
  get capacity(): number {
    return Math.max(0, this.last - this.first + 1);
  }

  get inUse(): number {
    return this.used.size;
  }

  contains(ip: string): boolean {
    return cidrContains(this.cidr, ip);
  }

  /** The next free address, or undefined when the range is full. */
  allocate(): string | undefined {
    const cap = this.capacity;
    for (let tried = 0; tried < cap; tried++) {
      const n = this.next;
      this.next = n >= this.last ? this.first : n + 1;
      if (!this.used.has(n)) {
        this.used.add(n);
        return formatIPv4(n);
      }
    }
    return undefined;
  }

  /** Marks an address as taken (a pod that already had it, found after a restart); false if outside the range. */
  reserve(ip: string): boolean {
    if (!this.contains(ip)) return false;
    const n = parseIPv4(ip);
    if (n < this.first || n > this.last) return false;
    this.used.add(n);
    return true;
  }

  release(ip: string): void {
    try {
      this.used.delete(parseIPv4(ip));
    } catch {
      // not an address of ours
    }
  }
}
