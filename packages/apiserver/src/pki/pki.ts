// Book 14.1 and 11.1: the cluster's PKI directory, as kubeadm lays it out — one CA made once and
// kept, the API server's serving certificate, the admin's client certificate, and later clients'.
import { chmod, mkdir, readFile, rename, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { isIP } from "node:net";
import {
  createCA,
  isIssuedBy,
  issueCert,
  keyMatchesCert,
  normalizeIp,
  parseCert,
  splitHosts,
  type CertAndKey,
} from "./certs.js";

/** A certificate and key in memory together with the files they live in. */
export interface CertFiles extends CertAndKey {
  certFile: string;
  keyFile: string;
}

export interface Pki {
  dir: string;
  /** ca.crt / ca.key: signs every other certificate; the clients' and kubelets' trust anchor. */
  ca: CertFiles;
  /** apiserver.crt / apiserver.key: the API server's serving certificate. */
  apiserver: CertFiles;
  /** admin.crt / admin.key: CN kubernetes-admin, O system:masters. */
  admin: CertFiles;
  /** apiserver-kubelet-client.crt / .key: how the API server proves itself to kubelets (logs, exec). */
  kubeletClient: CertFiles;
  /** Every subject alternative name on the serving certificate (DNS names, then IPs). */
  servingHosts: string[];
}

export interface EnsurePkiOptions {
  /** Extra DNS names and IP addresses for the serving certificate (node name, public IP, ...). */
  hosts: string[];
  /** The service network; its first address (the `kubernetes` Service's ClusterIP) joins the SANs. */
  serviceCIDR?: string;
  /** Reissue leaves with less than this many days left (default 30). */
  renewBeforeDays?: number;
}

export const DEFAULT_SERVICE_CIDR = "10.96.0.0/12";
export const ADMIN_USER = "kubernetes-admin";
export const MASTERS_GROUP = "system:masters";
export const KUBELET_CLIENT_USER = "kube-apiserver-kubelet-client";

/** The names every in-cluster client may use for the API server. */
const BUILTIN_HOSTS = [
  "localhost",
  "kubernetes",
  "kubernetes.default",
  "kubernetes.default.svc",
  "kubernetes.default.svc.cluster.local",
  "127.0.0.1",
];

const DAY_MS = 24 * 60 * 60 * 1000;

/** The first usable address of a CIDR: 10.96.0.0/12 → 10.96.0.1, fd00::/108 → fd00::1. */
export function firstServiceIP(cidr: string): string {
  const slash = cidr.indexOf("/");
  const base = slash < 0 ? cidr : cidr.slice(0, slash);
  const bits = slash < 0 ? NaN : Number(cidr.slice(slash + 1));
  const family = isIP(base);
  const width = family === 4 ? 32 : 128;
  if (family === 0 || !Number.isInteger(bits) || bits < 0 || bits > width - 2) {
    throw new Error(`invalid service CIDR ${JSON.stringify(cidr)}: want an address/prefix such as 10.96.0.0/12`);
  }
  const value = family === 4 ? ipv4ToBig(base) : ipv6ToBig(base);
  const mask = ((1n << BigInt(width)) - 1n) ^ ((1n << BigInt(width - bits)) - 1n);
  const first = (value & mask) + 1n;
  return family === 4 ? bigToIpv4(first) : bigToIpv6(first);
}

function ipv4ToBig(ip: string): bigint {
  return ip.split(".").reduce((acc, part) => (acc << 8n) | BigInt(Number(part)), 0n);
}

function bigToIpv4(v: bigint): string {
  return [24n, 16n, 8n, 0n].map((s) => String((v >> s) & 0xffn)).join(".");
}

function ipv6ToBig(ip: string): bigint {
  // URL parsing expands and validates the address for us; then read its eight groups.
  const canonical = new URL(`http://[${ip}]/`).hostname.slice(1, -1);
  const [head, tail] = canonical.includes("::") ? canonical.split("::") : [canonical, undefined];
  const h = head === "" ? [] : head!.split(":");
  const t = tail === undefined || tail === "" ? [] : tail.split(":");
  const groups = tail === undefined ? h : [...h, ...Array<string>(8 - h.length - t.length).fill("0"), ...t];
  return groups.reduce((acc, g) => (acc << 16n) | BigInt(parseInt(g, 16)), 0n);
}

function bigToIpv6(v: bigint): string {
  const groups: string[] = [];
  for (let i = 7; i >= 0; i--) groups.push(((v >> BigInt(i * 16)) & 0xffffn).toString(16));
  return normalizeIp(groups.join(":"));
}

export async function readIfExists(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw err;
  }
}

/** Writes via a temporary file and a rename, so a reader never sees half a file. */
export async function writeAtomic(path: string, data: string, mode: number): Promise<void> {
  const tmp = `${path}.tmp-${process.pid}-${Date.now()}`;
  await writeFile(tmp, data, { mode });
  await chmod(tmp, mode);
  await rename(tmp, path);
}

/** Writes a certificate (0644) and its key (0600) as `<name>.crt` and `<name>.key` in `dir`. */
export async function writeCertFiles(dir: string, name: string, pair: CertAndKey): Promise<CertFiles> {
  await mkdir(dir, { recursive: true });
  const certFile = join(dir, `${name}.crt`);
  const keyFile = join(dir, `${name}.key`);
  // Key first: a certificate on disk without its key would look like a broken PKI.
  await writeAtomic(keyFile, pair.keyPem, 0o600);
  await writeAtomic(certFile, pair.certPem, 0o644);
  return { ...pair, certFile, keyFile };
}

/** Key files must stay private even if someone loosened them by hand. */
async function tightenKeyMode(keyFile: string): Promise<void> {
  const st = await stat(keyFile);
  if ((st.mode & 0o077) !== 0) await chmod(keyFile, 0o600);
}

async function loadOrCreateCA(dir: string): Promise<CertFiles> {
  const certFile = join(dir, "ca.crt");
  const keyFile = join(dir, "ca.key");
  const certPem = await readIfExists(certFile);
  const keyPem = await readIfExists(keyFile);
  if (certPem === undefined && keyPem === undefined) {
    return writeCertFiles(dir, "ca", await createCA("corekube-ca"));
  }
  // Never replace a CA: every certificate and kubeconfig already handed out trusts it.
  if (certPem === undefined) throw new Error(`${keyFile} exists but ${certFile} is missing; restore it or remove both to make a new CA`);
  if (keyPem === undefined) throw new Error(`${certFile} exists but ${keyFile} is missing; restore it or remove both to make a new CA`);
  let info;
  try {
    info = parseCert(certPem);
  } catch (err) {
    throw new Error(`${certFile}: ${(err as Error).message}`);
  }
  if (!info.isCA) throw new Error(`${certFile} is not a CA certificate (basicConstraints CA:FALSE)`);
  if (!keyMatchesCert(certPem, keyPem)) throw new Error(`${keyFile} does not belong to ${certFile}`);
  await tightenKeyMode(keyFile);
  return { certPem, keyPem, certFile, keyFile };
}

interface LeafWant {
  name: string;
  commonName: string;
  organizations: string[];
  usages: ("server" | "client")[];
  hosts: string[];
}

/** Why an existing leaf must be replaced, or undefined when it is still good. */
function leafProblem(ca: CertAndKey, pair: CertAndKey, want: LeafWant, renewBefore: number): string | undefined {
  let info;
  try {
    info = parseCert(pair.certPem);
  } catch {
    return "unreadable";
  }
  if (!isIssuedBy(pair.certPem, ca.certPem)) return "not signed by the current CA";
  if (!keyMatchesCert(pair.certPem, pair.keyPem)) return "key does not match";
  if (info.notAfter.getTime() - Date.now() < renewBefore) return "expires soon";
  if (info.commonName !== want.commonName) return "different common name";
  if (want.organizations.join("\n") !== info.organizations.join("\n")) return "different organizations";
  const have = new Set([...info.dnsNames, ...info.ips]);
  const missing = want.hosts.filter((h) => !have.has(isIP(h) ? normalizeIp(h) : h));
  if (missing.length > 0) return `lacks ${missing.join(", ")}`;
  return undefined;
}

async function ensureLeaf(dir: string, ca: CertAndKey, want: LeafWant, renewBefore: number): Promise<CertFiles> {
  const certFile = join(dir, `${want.name}.crt`);
  const keyFile = join(dir, `${want.name}.key`);
  const certPem = await readIfExists(certFile);
  const keyPem = await readIfExists(keyFile);
  if (certPem !== undefined && keyPem !== undefined) {
    const pair = { certPem, keyPem };
    if (leafProblem(ca, pair, want, renewBefore) === undefined) {
      await tightenKeyMode(keyFile);
      return { ...pair, certFile, keyFile };
    }
  }
  const issued = await issueCert(ca, {
    commonName: want.commonName,
    organizations: want.organizations,
    usages: want.usages,
    hosts: want.hosts,
  });
  return writeCertFiles(dir, want.name, issued);
}

/**
 * Makes sure `dir` holds the cluster's CA and the API server's, admin's and kubelet-client
 * certificates. Idempotent: an existing CA is always reused; a leaf is reissued only when it is
 * missing, broken, signed by another CA, close to expiry, or (the serving cert) lacks a host.
 */
export async function ensurePki(dir: string, opts: EnsurePkiOptions): Promise<Pki> {
  await mkdir(dir, { recursive: true });
  const renewBefore = (opts.renewBeforeDays ?? 30) * DAY_MS;
  const serviceIP = firstServiceIP(opts.serviceCIDR ?? DEFAULT_SERVICE_CIDR);
  const { dnsNames, ips } = splitHosts([...BUILTIN_HOSTS, serviceIP, ...opts.hosts]);
  const servingHosts = [...dnsNames, ...ips.map(normalizeIp)];

  const ca = await loadOrCreateCA(dir);
  const apiserver = await ensureLeaf(
    dir,
    ca,
    { name: "apiserver", commonName: "kube-apiserver", organizations: [], usages: ["server"], hosts: servingHosts },
    renewBefore,
  );
  const admin = await ensureLeaf(
    dir,
    ca,
    { name: "admin", commonName: ADMIN_USER, organizations: [MASTERS_GROUP], usages: ["client"], hosts: [] },
    renewBefore,
  );
  const kubeletClient = await ensureLeaf(
    dir,
    ca,
    {
      name: "apiserver-kubelet-client",
      commonName: KUBELET_CLIENT_USER,
      organizations: [MASTERS_GROUP],
      usages: ["client"],
      hosts: [],
    },
    renewBefore,
  );
  // Report what the serving certificate really carries (a kept one may carry more than asked).
  const info = parseCert(apiserver.certPem);
  return { dir, ca, apiserver, admin, kubeletClient, servingHosts: [...info.dnsNames, ...info.ips] };
}

/**
 * A client certificate signed by the cluster CA: the API server reads CN as the user name and
 * each O as a group (a kubelet: `system:node:<name>` in `system:nodes`). Kept in memory only;
 * use writeCertFiles to store it.
 */
export async function issueClientCert(
  pki: Pick<Pki, "ca">,
  commonName: string,
  groups: readonly string[] = [],
  days?: number,
): Promise<CertAndKey> {
  return issueCert(pki.ca, { commonName, organizations: [...groups], usages: ["client"], days });
}

/** A serving certificate signed by the cluster CA, e.g. a kubelet's for its :10250 endpoint. */
export async function issueServingCert(
  pki: Pick<Pki, "ca">,
  commonName: string,
  hosts: readonly string[],
  days?: number,
): Promise<CertAndKey> {
  if (hosts.length === 0) throw new Error("a serving certificate needs at least one DNS name or IP address");
  return issueCert(pki.ca, { commonName, usages: ["server"], hosts: [...hosts], days });
}
