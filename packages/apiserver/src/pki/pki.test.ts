// Book 14.1: tests for the cluster PKI directory — made once, reused, repaired only where needed.
import { mkdtemp, readFile, rm, stat, unlink, writeFile, chmod } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { X509Certificate } from "node:crypto";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createCA, isIssuedBy, issueCert, parseCert } from "./certs.js";
import { ensurePki, firstServiceIP, issueClientCert, issueServingCert } from "./pki.js";

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "corekube-pki-"));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const FILES = ["ca", "apiserver", "admin", "apiserver-kubelet-client"];

async function snapshot(): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const f of FILES) {
    out[`${f}.crt`] = await readFile(join(dir, `${f}.crt`), "utf8");
    out[`${f}.key`] = await readFile(join(dir, `${f}.key`), "utf8");
  }
  return out;
}

describe("ensurePki", () => {
  it("creates the CA, serving, admin and kubelet-client certificates with private keys", async () => {
    const pki = await ensurePki(dir, { hosts: ["node-1", "192.168.10.5"] });
    for (const f of FILES) {
      expect((await stat(join(dir, `${f}.key`))).mode & 0o777).toBe(0o600);
      expect(await readFile(join(dir, `${f}.key`), "utf8")).toMatch(/^-----BEGIN PRIVATE KEY-----\n/);
      expect(await readFile(join(dir, `${f}.crt`), "utf8")).toMatch(/^-----BEGIN CERTIFICATE-----\n/);
    }
    const ca = parseCert(pki.ca.certPem);
    expect(ca.isCA).toBe(true);

    const serving = parseCert(pki.apiserver.certPem);
    expect(serving.isCA).toBe(false);
    expect(serving.dnsNames).toEqual(
      expect.arrayContaining([
        "localhost",
        "kubernetes",
        "kubernetes.default",
        "kubernetes.default.svc",
        "kubernetes.default.svc.cluster.local",
        "node-1",
      ]),
    );
    expect(serving.ips).toEqual(expect.arrayContaining(["127.0.0.1", "10.96.0.1", "192.168.10.5"]));
    expect(isIssuedBy(pki.apiserver.certPem, pki.ca.certPem)).toBe(true);
    const nodeView = new X509Certificate(pki.apiserver.certPem);
    expect(nodeView.checkHost("kubernetes.default.svc")).toBe("kubernetes.default.svc");
    expect(nodeView.checkIP("10.96.0.1")).toBe("10.96.0.1");

    const admin = parseCert(pki.admin.certPem);
    expect(admin.commonName).toBe("kubernetes-admin");
    expect(admin.organizations).toEqual(["system:masters"]);
    expect(isIssuedBy(pki.admin.certPem, pki.ca.certPem)).toBe(true);
    expect(parseCert(pki.kubeletClient.certPem).commonName).toBe("kube-apiserver-kubelet-client");
    expect(pki.servingHosts).toContain("node-1");
  });

  it("is idempotent: a second run changes no file", async () => {
    await ensurePki(dir, { hosts: ["node-1"] });
    const before = await snapshot();
    const again = await ensurePki(dir, { hosts: ["node-1"] });
    expect(await snapshot()).toEqual(before);
    expect(again.ca.certPem).toBe(before["ca.crt"]);
  });

  it("reissues only the serving certificate when a host is added, keeping the CA", async () => {
    await ensurePki(dir, { hosts: ["node-1"] });
    const before = await snapshot();
    const pki = await ensurePki(dir, { hosts: ["node-1", "api.example.com", "fd00::10"] });
    const after = await snapshot();
    expect(after["ca.crt"]).toBe(before["ca.crt"]);
    expect(after["ca.key"]).toBe(before["ca.key"]);
    expect(after["admin.crt"]).toBe(before["admin.crt"]);
    expect(after["apiserver.crt"]).not.toBe(before["apiserver.crt"]);
    const serving = parseCert(pki.apiserver.certPem);
    expect(serving.dnsNames).toContain("api.example.com");
    expect(serving.ips).toContain("fd00::10");
    expect(isIssuedBy(pki.apiserver.certPem, before["ca.crt"]!)).toBe(true);
  });

  it("puts the first address of a custom service CIDR on the serving certificate", async () => {
    const pki = await ensurePki(dir, { hosts: [], serviceCIDR: "10.0.0.0/24" });
    expect(parseCert(pki.apiserver.certPem).ips).toContain("10.0.0.1");
  });

  it("never replaces a CA: half a CA on disk is an error, not a new CA", async () => {
    await ensurePki(dir, { hosts: [] });
    const caCert = await readFile(join(dir, "ca.crt"), "utf8");
    await unlink(join(dir, "ca.key"));
    await expect(ensurePki(dir, { hosts: [] })).rejects.toThrow(/ca\.crt exists but .*ca\.key is missing/);
    expect(await readFile(join(dir, "ca.crt"), "utf8")).toBe(caCert);
  });

  it("refuses a CA key that does not belong to the CA certificate", async () => {
    await ensurePki(dir, { hosts: [] });
    const other = await createCA("other");
    await writeFile(join(dir, "ca.key"), other.keyPem);
    await expect(ensurePki(dir, { hosts: [] })).rejects.toThrow(/ca\.key does not belong to/);
  });

  it("reissues a leaf that another CA signed", async () => {
    await ensurePki(dir, { hosts: [] });
    const stranger = await createCA("stranger");
    const forged = await issueCert(stranger, { commonName: "kubernetes-admin", organizations: ["system:masters"], usages: ["client"] });
    await writeFile(join(dir, "admin.crt"), forged.certPem);
    await writeFile(join(dir, "admin.key"), forged.keyPem);
    const pki = await ensurePki(dir, { hosts: [] });
    expect(pki.admin.certPem).not.toBe(forged.certPem);
    expect(isIssuedBy(pki.admin.certPem, pki.ca.certPem)).toBe(true);
  });

  it("tightens a key file whose mode was loosened", async () => {
    await ensurePki(dir, { hosts: [] });
    await chmod(join(dir, "admin.key"), 0o644);
    await ensurePki(dir, { hosts: [] });
    expect((await stat(join(dir, "admin.key"))).mode & 0o777).toBe(0o600);
  });
});

describe("issuing more certificates", () => {
  it("issues a client certificate whose CN and O are the user and groups", async () => {
    const pki = await ensurePki(dir, { hosts: [] });
    const kubelet = await issueClientCert(pki, "system:node:worker-1", ["system:nodes"]);
    const info = parseCert(kubelet.certPem);
    expect(info.commonName).toBe("system:node:worker-1");
    expect(info.organizations).toEqual(["system:nodes"]);
    expect(isIssuedBy(kubelet.certPem, pki.ca.certPem)).toBe(true);
  });

  it("keeps commas inside a group name", async () => {
    const ca = await createCA();
    const cert = await issueCert(ca, { commonName: "u", organizations: ["a,b", "c"], usages: ["client"] });
    expect(parseCert(cert.certPem).organizations).toEqual(["a,b", "c"]);
  });

  it("issues a serving certificate for a kubelet's address", async () => {
    const pki = await ensurePki(dir, { hosts: [] });
    const serving = await issueServingCert(pki, "worker-1", ["worker-1", "10.1.2.3"]);
    const info = parseCert(serving.certPem);
    expect(info.dnsNames).toEqual(["worker-1"]);
    expect(info.ips).toEqual(["10.1.2.3"]);
    await expect(issueServingCert(pki, "worker-1", [])).rejects.toThrow(/at least one DNS name or IP/);
  });
});

describe("firstServiceIP", () => {
  it("takes the network's first host address", () => {
    expect(firstServiceIP("10.96.0.0/12")).toBe("10.96.0.1");
    expect(firstServiceIP("10.96.5.7/12")).toBe("10.96.0.1");
    expect(firstServiceIP("192.168.0.0/24")).toBe("192.168.0.1");
    expect(firstServiceIP("fd00:10:96::/112")).toBe("fd00:10:96::1");
  });

  it("rejects what is not a CIDR", () => {
    expect(() => firstServiceIP("10.96.0.0")).toThrow(/invalid service CIDR "10.96.0.0"/);
    expect(() => firstServiceIP("nope/12")).toThrow(/invalid service CIDR/);
    expect(() => firstServiceIP("10.0.0.0/32")).toThrow(/invalid service CIDR/);
  });
});
