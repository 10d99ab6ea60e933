// Book 14.1: tests for writing and reading kubeconfig files.
import { mkdtemp, readFile, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { loadKubeconfig } from "@corekube/client/kubeconfig";
import { renderKubeconfig, writeKubeconfig } from "./kubeconfig.js";

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

    const cfg = await loadKubeconfig({ path });
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
    const cfg = await loadKubeconfig({ path });
    expect(cfg.token).toBe("abc123");
    expect(cfg.namespace).toBe("team-a");
    expect(cfg.clientCertPem).toBeUndefined();
  });

  it("refuses a certificate without its key", () => {
    expect(() =>
      renderKubeconfig({ server: "https://x:6443", caPem: CA, clientCertPem: CERT, user: "u", cluster: "c", context: "x" }),
    ).toThrow(/give both or neither/);
  });

});
