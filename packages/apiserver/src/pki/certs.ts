// Book 14.1 (node security: TLS certificates) and 11.1: making the cluster's certificates — a
// self-signed CA and the leaf certificates it signs — with ECDSA P-256 keys, in memory (no file I/O).
import "reflect-metadata";
import { X509Certificate as NodeX509, createPrivateKey, randomBytes, webcrypto } from "node:crypto";
import { isIP } from "node:net";
import * as x509 from "@peculiar/x509";

// @peculiar/x509 signs through WebCrypto; Node's implementation is the one it should use.
const subtle = webcrypto.subtle;
x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);
type CryptoKey = webcrypto.CryptoKey;
type CryptoKeyPair = webcrypto.CryptoKeyPair;

const EC_KEY = { name: "ECDSA", namedCurve: "P-256" } as const;
const SIGNING = { name: "ECDSA", hash: "SHA-256" } as const;
const DAY_MS = 24 * 60 * 60 * 1000;

/** A certificate and its private key, both PEM ("CERTIFICATE" and PKCS#8 "PRIVATE KEY"). */
export interface CertAndKey {
  certPem: string;
  keyPem: string;
}

export type CertUsage = "server" | "client";

export interface CertRequest {
  commonName: string;
  /** Subject organizations; Kubernetes reads them as the user's groups. */
  organizations?: string[];
  /** "server" adds serverAuth, "client" adds clientAuth to the extended key usage. */
  usages: CertUsage[];
  /** Subject alternative names: DNS names and IP addresses, sorted apart automatically. */
  hosts?: string[];
  /** Validity in days from now (default 365, as kubeadm's leaf certificates). */
  days?: number;
}

/** A certificate's facts as the cluster needs them (from Node's own parser). */
export interface CertInfo {
  commonName: string;
  organizations: string[];
  dnsNames: string[];
  ips: string[];
  notBefore: Date;
  notAfter: Date;
  isCA: boolean;
  serialNumber: string;
}

function subjectName(commonName: string, organizations: readonly string[] = []): x509.JsonName {
  // The JSON form keeps commas and other RFC 4514 specials inside values intact.
  const name: x509.JsonName = [{ CN: [commonName] }];
  for (const o of organizations) name.push({ O: [o] });
  return name;
}

/** A positive, non-zero 128-bit serial number (RFC 5280 asks for at most 20 octets). */
function serialNumber(): string {
  const bytes = randomBytes(16);
  bytes[0] = (bytes[0]! & 0x7f) | 0x01;
  return bytes.toString("hex");
}

function toPem(der: ArrayBuffer, label: string): string {
  const b64 = Buffer.from(der).toString("base64");
  const lines = b64.match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join("\n")}\n-----END ${label}-----\n`;
}

function fromPem(pem: string, label: string): Buffer {
  const re = new RegExp(`-----BEGIN ${label}-----([\\s\\S]*?)-----END ${label}-----`);
  const m = re.exec(pem);
  if (!m) throw new Error(`no PEM block of type "${label}" found`);
  return Buffer.from(m[1]!.replace(/\s+/g, ""), "base64");
}

async function newKeyPair(): Promise<CryptoKeyPair> {
  return (await subtle.generateKey(EC_KEY, true, ["sign", "verify"])) as CryptoKeyPair;
}

async function keyToPem(key: CryptoKey): Promise<string> {
  return toPem(await subtle.exportKey("pkcs8", key), "PRIVATE KEY");
}

/** Reads a PKCS#8 "PRIVATE KEY" PEM holding an ECDSA P-256 key, for signing. */
export async function importSigningKey(keyPem: string): Promise<CryptoKey> {
  let der: Buffer;
  try {
    der = fromPem(keyPem, "PRIVATE KEY");
  } catch {
    throw new Error('the key is not a PKCS#8 PEM block ("-----BEGIN PRIVATE KEY-----")');
  }
  try {
    return await subtle.importKey("pkcs8", der, EC_KEY, true, ["sign"]);
  } catch (err) {
    throw new Error(`the key is not an ECDSA P-256 PKCS#8 key: ${(err as Error).message}`);
  }
}

/** Splits hosts into DNS names and IP addresses, dropping duplicates and blanks, keeping order. */
export function splitHosts(hosts: readonly string[]): { dnsNames: string[]; ips: string[] } {
  const dnsNames: string[] = [];
  const ips: string[] = [];
  for (const raw of hosts) {
    const h = raw.trim();
    if (h === "") continue;
    const list = isIP(h) !== 0 ? ips : dnsNames;
    if (!list.includes(h)) list.push(h);
  }
  return { dnsNames, ips };
}

/** A self-signed certificate authority (10 years, as kubeadm's CA), key usage certSign + cRLSign. */
export async function createCA(commonName = "corekube-ca", days = 3650): Promise<CertAndKey> {
  const keys = await newKeyPair();
  const now = Date.now();
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serialNumber(),
    name: subjectName(commonName),
    notBefore: new Date(now - 60_000),
    notAfter: new Date(now + days * DAY_MS),
    signingAlgorithm: SIGNING,
    keys,
    extensions: [
      new x509.BasicConstraintsExtension(true, undefined, true),
      new x509.KeyUsagesExtension(
        x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign | x509.KeyUsageFlags.digitalSignature,
        true,
      ),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return { certPem: cert.toString("pem") + "\n", keyPem: await keyToPem(keys.privateKey) };
}

/** A leaf certificate signed by `ca` for a fresh key. */
export async function issueCert(ca: CertAndKey, req: CertRequest): Promise<CertAndKey> {
  if (req.commonName === "") throw new Error("a certificate needs a common name");
  if (req.usages.length === 0) throw new Error("a certificate needs at least one usage (server or client)");
  const caCert = new x509.X509Certificate(ca.certPem);
  const caKey = await importSigningKey(ca.keyPem);
  const keys = await newKeyPair();
  const now = Date.now();
  const { dnsNames, ips } = splitHosts(req.hosts ?? []);
  const ekus: string[] = [];
  if (req.usages.includes("server")) ekus.push(x509.ExtendedKeyUsage.serverAuth);
  if (req.usages.includes("client")) ekus.push(x509.ExtendedKeyUsage.clientAuth);
  const extensions: x509.Extension[] = [
    new x509.BasicConstraintsExtension(false, undefined, true),
    new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
    new x509.ExtendedKeyUsageExtension(ekus, false),
    await x509.AuthorityKeyIdentifierExtension.create(caCert.publicKey),
  ];
  if (dnsNames.length + ips.length > 0) {
    const names: x509.JsonGeneralNames = [
      ...dnsNames.map((value) => ({ type: "dns" as const, value })),
      ...ips.map((value) => ({ type: "ip" as const, value })),
    ];
    extensions.push(new x509.SubjectAlternativeNameExtension(names, false));
  }
  const days = req.days ?? 365;
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serialNumber(),
    subject: subjectName(req.commonName, req.organizations),
    issuer: caCert.subjectName,
    notBefore: new Date(now - 60_000),
    // A leaf never outlives the CA that vouches for it.
    notAfter: new Date(Math.min(now + days * DAY_MS, caCert.notAfter.getTime())),
    signingAlgorithm: SIGNING,
    publicKey: keys.publicKey,
    signingKey: caKey,
    extensions,
  });
  return { certPem: cert.toString("pem") + "\n", keyPem: await keyToPem(keys.privateKey) };
}

/** Reads a PEM certificate; throws a clear Error when it is not one. */
export function parseCert(certPem: string): CertInfo {
  let cert: x509.X509Certificate;
  try {
    cert = new x509.X509Certificate(certPem);
  } catch (err) {
    throw new Error(`not a PEM certificate: ${(err as Error).message}`);
  }
  const dnsNames: string[] = [];
  const ips: string[] = [];
  const san = cert.getExtension(x509.SubjectAlternativeNameExtension);
  for (const n of san?.names.toJSON() ?? []) {
    if (n.type === "dns") dnsNames.push(n.value);
    else if (n.type === "ip") ips.push(normalizeIp(n.value));
  }
  return {
    commonName: cert.subjectName.getField("CN")[0] ?? "",
    organizations: cert.subjectName.getField("O"),
    dnsNames,
    ips,
    notBefore: cert.notBefore,
    notAfter: cert.notAfter,
    isCA: cert.getExtension(x509.BasicConstraintsExtension)?.ca ?? false,
    serialNumber: cert.serialNumber,
  };
}

/** IPv6 addresses are compared in their canonical short form. */
export function normalizeIp(ip: string): string {
  if (isIP(ip) !== 6) return ip;
  try {
    return new URL(`http://[${ip}]/`).hostname.slice(1, -1);
  } catch {
    return ip;
  }
}

/** True when `certPem` was signed by `caPem`'s key (and names it as issuer). */
export function isIssuedBy(certPem: string, caPem: string): boolean {
  try {
    const cert = new NodeX509(certPem);
    const ca = new NodeX509(caPem);
    return cert.checkIssued(ca) && cert.verify(ca.publicKey);
  } catch {
    return false;
  }
}

/** True when the private key PEM belongs to the certificate. */
export function keyMatchesCert(certPem: string, keyPem: string): boolean {
  try {
    return new NodeX509(certPem).checkPrivateKey(createPrivateKey({ key: keyPem, format: "pem" }));
  } catch {
    return false;
  }
}
