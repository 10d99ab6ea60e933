// Book 14.1–14.2: mutual TLS end to end — the PKI's serving certificate on a real HTTPS server,
// clients with and without the admin certificate, and the user the authenticators find.
import * as https from "node:https";
import type { AddressInfo } from "node:net";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { statusOf } from "@corekube/api";
import { createCA, issueCert } from "../pki/certs.js";
import { ensurePki, issueClientCert, type Pki } from "../pki/pki.js";
import { resolveUser } from "./anonymous.js";
import { unionAuthenticator } from "./authenticator.js";
import { parseTokenFile, tokenAuthenticator } from "./tokenfile.js";
import { clientCertAuthenticator } from "./x509.js";

let dir: string;
let pki: Pki;
let server: https.Server;
let port: number;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "corekube-mtls-"));
  pki = await ensurePki(dir, { hosts: [] });
  const authn = unionAuthenticator(clientCertAuthenticator(), tokenAuthenticator(parseTokenFile("tok,tina,7,readers\n").tokens));
  server = https.createServer(
    { cert: pki.apiserver.certPem, key: pki.apiserver.keyPem, ca: pki.ca.certPem, requestCert: true, rejectUnauthorized: false },
    (req, res) => {
      resolveUser(authn, req).then(
        (user) => {
          res.writeHead(200, { "content-type": "application/json" });
          res.end(JSON.stringify(user));
        },
        (err: unknown) => {
          const status = statusOf(err);
          res.writeHead(status.code, { "content-type": "application/json" });
          res.end(JSON.stringify(status));
        },
      );
    },
  );
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  port = (server.address() as AddressInfo).port;
});

afterAll(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
  await rm(dir, { recursive: true, force: true });
});

function get(
  path: string,
  opts: { host?: string; cert?: string; key?: string; token?: string; ca?: string } = {},
): Promise<{ code: number; body: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const req = https.request(
      {
        host: opts.host ?? "127.0.0.1",
        port,
        path,
        ca: opts.ca ?? pki.ca.certPem,
        cert: opts.cert,
        key: opts.key,
        agent: false,
        headers: opts.token ? { authorization: `Bearer ${opts.token}` } : {},
      },
      (res) => {
        let text = "";
        res.setEncoding("utf8");
        res.on("data", (c: string) => (text += c));
        res.on("end", () => resolve({ code: res.statusCode ?? 0, body: JSON.parse(text) as Record<string, unknown> }));
      },
    );
    req.on("error", reject);
    req.end();
  });
}

describe("mutual TLS with the cluster PKI", () => {
  it("the admin certificate authenticates as kubernetes-admin in system:masters", async () => {
    const r = await get("/api/v1/pods", { cert: pki.admin.certPem, key: pki.admin.keyPem });
    expect(r.code).toBe(200);
    expect(r.body).toEqual({ username: "kubernetes-admin", groups: ["system:masters", "system:authenticated"] });
  });

  it("the serving certificate is valid for localhost as well as 127.0.0.1", async () => {
    const r = await get("/version", { host: "localhost" });
    expect(r.code).toBe(200);
  });

  it("a kubelet's client certificate carries its node identity", async () => {
    const kubelet = await issueClientCert(pki, "system:node:worker-1", ["system:nodes"]);
    const r = await get("/api/v1/nodes", { cert: kubelet.certPem, key: kubelet.keyPem });
    expect(r.body).toEqual({ username: "system:node:worker-1", groups: ["system:nodes", "system:authenticated"] });
  });

  it("no certificate and no token: anonymous on /healthz, 401 elsewhere", async () => {
    expect((await get("/healthz")).body).toEqual({ username: "system:anonymous", groups: ["system:unauthenticated"] });
    const r = await get("/api/v1/pods");
    expect(r.code).toBe(401);
    expect(r.body.reason).toBe("Unauthorized");
  });

  it("a bearer token works over TLS without a certificate", async () => {
    const r = await get("/api/v1/pods", { token: "tok" });
    expect(r.body).toEqual({ username: "tina", uid: "7", groups: ["readers", "system:authenticated"] });
  });

  it("a certificate from another CA is rejected with 401, even on /healthz", async () => {
    const stranger = await createCA("stranger");
    const forged = await issueCert(stranger, { commonName: "kubernetes-admin", organizations: ["system:masters"], usages: ["client"] });
    const r = await get("/healthz", { cert: forged.certPem, key: forged.keyPem });
    expect(r.code).toBe(401);
  });

  it("a serving-only certificate cannot be used as a client certificate", async () => {
    const serverOnly = await issueCert(pki.ca, { commonName: "sneaky", usages: ["server"], hosts: ["x"] });
    const r = await get("/api/v1/pods", { cert: serverOnly.certPem, key: serverOnly.keyPem });
    expect(r.code).toBe(401);
  });
});
