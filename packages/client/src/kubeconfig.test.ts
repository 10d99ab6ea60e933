// Book 14.1: tests for loading kubeconfig files the way kubectl does (files, contexts, KUBECONFIG lists).
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { inClusterConfig, kubeconfigPaths, loadKubeconfig } from "./kubeconfig.js";

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
const b64 = (s: string) => Buffer.from(s).toString("base64");

describe("loadKubeconfig", () => {
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
    const cfg = await loadKubeconfig({ path });
    expect(cfg.caPem).toBe(CA);
    expect(cfg.clientCertPem).toBe(CERT);
    expect(cfg.clientKeyPem).toBe(KEY);
    expect((await loadKubeconfig({ path, context: "b" })).namespace).toBe("other");
  });

  it("names what is missing", async () => {
    const path = join(dir, "broken.conf");
    await writeFile(path, "apiVersion: v1\nkind: Config\ncontexts:\n- name: a\n  context: {cluster: gone, user: u}\ncurrent-context: a\n");
    await expect(loadKubeconfig({ path })).rejects.toThrow(/broken\.conf: no cluster named "gone"/);
    await writeFile(path, "apiVersion: v1\nkind: Config\n");
    await expect(loadKubeconfig({ path })).rejects.toThrow(/no current-context is set/);
    await expect(loadKubeconfig({ path: join(dir, "absent.conf") })).rejects.toThrow(/cannot read kubeconfig .*absent\.conf/);
    await writeFile(path, "a: [unclosed\n");
    await expect(loadKubeconfig({ path })).rejects.toThrow(/is not valid YAML/);
  });

  it("merges the files of a KUBECONFIG list: the first definition and current-context win", async () => {
    const a = join(dir, "a.conf");
    const b = join(dir, "b.conf");
    await writeFile(a, `apiVersion: v1
kind: Config
clusters:
- name: c
  cluster: {server: 'https://first:6443/', certificate-authority-data: ${b64(CA)}}
users:
- name: u
  user: {token: first-token}
`);
    await writeFile(b, `apiVersion: v1
kind: Config
clusters:
- name: c
  cluster: {server: 'https://second:6443'}
users:
- name: u
  user: {token: second-token}
- name: t
  user: {tokenFile: token.txt}
contexts:
- name: main
  context: {cluster: c, user: u, namespace: team}
- name: other
  context: {cluster: c, user: t}
current-context: main
`);
    await writeFile(join(dir, "token.txt"), "from-file\n");
    const env = { KUBECONFIG: [a, join(dir, "missing.conf"), b].join(":"), HOME: dir };
    expect(kubeconfigPaths({ env })).toHaveLength(3);
    const cfg = await loadKubeconfig({ env });
    expect(cfg.server).toBe("https://first:6443");
    expect(cfg.token).toBe("first-token");
    expect(cfg.caPem).toBe(CA);
    expect(cfg.namespace).toBe("team");
    expect((await loadKubeconfig({ env, context: "other" })).token).toBe("from-file");
    await expect(loadKubeconfig({ env, context: "nope" })).rejects.toThrow(/no context named "nope"/);
  });

  it("falls back to ~/.kube/config", () => {
    expect(kubeconfigPaths({ env: { HOME: "/home/x" } })).toEqual(["/home/x/.kube/config"]);
  });

  it("builds the in-cluster config from the service account files", async () => {
    await writeFile(join(dir, "ca.crt"), CA);
    await writeFile(join(dir, "token"), "sa-token\n");
    await writeFile(join(dir, "namespace"), "kube-system");
    const cfg = inClusterConfig({ KUBERNETES_SERVICE_HOST: "10.96.0.1", KUBERNETES_SERVICE_PORT: "443" }, dir);
    expect(cfg).toMatchObject({ server: "https://10.96.0.1:443", token: "sa-token", namespace: "kube-system", caPem: CA });
    expect(() => inClusterConfig({}, dir)).toThrow(/not running in a pod/);
  });
});
