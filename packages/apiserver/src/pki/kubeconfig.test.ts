// Book 14.1: tests for writing and reading kubeconfig files.
import { mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { readKubeconfig, renderKubeconfig, writeKubeconfig } from "./kubeconfig.js";

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "corekube-kubeconfig-"));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const CA = "-----BEGIN CERTIFICATE-----\nQ0E=\n-----END CERTIFICATE-----\n";
const CERT = "-----BEGIN CERTIFICATE-----\nY2VydA==\n-----END CERTIFICATE-----\n";
const KEY = "-----BEGIN PRIVATE KEY-----\na2V5\n-----END PRIVATE KEY-----\n";

describe("writeKubeconfig / readKubeconfig", () => {
  it("writes a 0600 kubeconfig with embedded data that reads back", async () => {
    const path = join(dir, "sub", "admin.conf");
    await writeKubeconfig(path, {
      server: "https://127.0.0.1:6443",
      caPem: CA,
      clientCertPem: CERT,
      clientKeyPem: KEY,
      user: "kubernetes-admin",
      cluster: "corekube",
      context: "kubernetes-admin@corekube",
    });
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    const doc = parse(await readFile(path, "utf8"));
    expect(doc["current-context"]).toBe("kubernetes-admin@corekube");
    expect(doc.clusters[0].cluster["certificate-authority-data"]).toBe(Buffer.from(CA).toString("base64"));
    expect(doc.users[0].user["client-key-data"]).toBe(Buffer.from(KEY).toString("base64"));

    const cfg = await readKubeconfig(path);
    expect(cfg).toEqual({
      server: "https://127.0.0.1:6443",
      caPem: CA,
      clientCertPem: CERT,
      clientKeyPem: KEY,
      insecureSkipTlsVerify: false,
      namespace: "default",
      context: "kubernetes-admin@corekube",
      cluster: "corekube",
      user: "kubernetes-admin",
    });
  });

  it("carries a bearer token and a default namespace", async () => {
    const path = join(dir, "dev.conf");
    await writeKubeconfig(path, {
      server: "https://10.0.0.1:6443",
      caPem: CA,
      token: "abc123",
      user: "dev",
      cluster: "c",
      context: "dev",
      namespace: "team-a",
    });
    const cfg = await readKubeconfig(path);
    expect(cfg.token).toBe("abc123");
    expect(cfg.namespace).toBe("team-a");
    expect(cfg.clientCertPem).toBeUndefined();
  });

  it("refuses a certificate without its key", () => {
    expect(() =>
      renderKubeconfig({ server: "https://x:6443", caPem: CA, clientCertPem: CERT, user: "u", cluster: "c", context: "x" }),
    ).toThrow(/give both or neither/);
  });

  it("reads file references relative to the kubeconfig, as kubectl does", async () => {
    await writeFile(join(dir, "ca.crt"), CA);
    await writeFile(join(dir, "u.crt"), CERT);
    await writeFile(join(dir, "u.key"), KEY);
    const path = join(dir, "files.conf");
    await writeFile(
      path,
      [
        "apiVersion: v1",
        "kind: Config",
        "clusters:",
        "- name: c",
        "  cluster: {server: 'https://h:6443', certificate-authority: ca.crt}",
        "users:",
        "- name: u",
        "  user: {client-certificate: u.crt, client-key: u.key}",
        "contexts:",
        "- name: a",
        "  context: {cluster: c, user: u}",
        "- name: b",
        "  context: {cluster: c, user: u, namespace: other}",
        "current-context: a",
      ].join("\n"),
    );
    const cfg = await readKubeconfig(path);
    expect(cfg.caPem).toBe(CA);
    expect(cfg.clientCertPem).toBe(CERT);
    expect(cfg.clientKeyPem).toBe(KEY);
    expect((await readKubeconfig(path, { context: "b" })).namespace).toBe("other");
  });

  it("names what is missing", async () => {
    const path = join(dir, "broken.conf");
    await writeFile(path, "apiVersion: v1\nkind: Config\ncontexts:\n- name: a\n  context: {cluster: gone, user: u}\ncurrent-context: a\n");
    await expect(readKubeconfig(path)).rejects.toThrow(/broken\.conf: no cluster named "gone"/);
    await writeFile(path, "apiVersion: v1\nkind: Config\n");
    await expect(readKubeconfig(path)).rejects.toThrow(/no current-context is set/);
    await expect(readKubeconfig(join(dir, "absent.conf"))).rejects.toThrow(/cannot read kubeconfig .*absent\.conf/);
    await writeFile(path, "a: [unclosed\n");
    await expect(readKubeconfig(path)).rejects.toThrow(/is not valid YAML/);
  });
});
