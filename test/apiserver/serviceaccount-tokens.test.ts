// Book 14.3 (service accounts), end to end: an in-process API server with TLS issues TokenRequests,
// accepts the tokens as Bearer credentials until their ServiceAccount or pod is deleted, and
// mounts the token volume into new pods.
import { mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Agent, request } from "undici";
import { startApiServer, type RunningApiServer } from "../../packages/apiserver/src/server/run.js";
import { KUBECTL_AUTH_CAPTURES } from "../../packages/apiserver/src/protobuf/fixtures.js";
import { startKv } from "../support/kv-process.js";
import { freePort } from "../support/ports.js";

describe("ServiceAccount tokens (kv, TLS)", () => {
  let server: RunningApiServer;
  let storage: { stop(): Promise<void> };
  let stateDir: string;
  let admin: Agent;
  let bare: Agent;

  beforeAll(async () => {
    const kv = await startKv();
    storage = kv;
    stateDir = mkdtempSync(join(tmpdir(), "corekube-satokens-"));
    server = await startApiServer({
      etcdServers: kv.endpoints,
      stateDir,
      securePort: await freePort(),
      bindAddress: "127.0.0.1",
      serviceClusterIpRange: "10.96.0.0/24",
      serviceNodePortRange: "30000-30049",
      compactionIntervalMs: 0,
      log: () => undefined,
    });
    const pki = join(stateDir, "pki");
    const ca = readFileSync(join(pki, "ca.crt"), "utf8");
    admin = new Agent({ connect: { ca, cert: readFileSync(join(pki, "admin.crt"), "utf8"), key: readFileSync(join(pki, "admin.key"), "utf8") } });
    bare = new Agent({ connect: { ca } });
  }, 60_000);

  afterAll(async () => {
    await server?.close().catch(() => undefined);
    await admin?.close();
    await bare?.close();
    await storage?.stop();
    if (stateDir) rmSync(stateDir, { recursive: true, force: true });
  }, 30_000);

  async function call(method: string, path: string, o: { body?: unknown; token?: string; type?: string } = {}) {
    const headers: Record<string, string> = {};
    if (o.body !== undefined) headers["content-type"] = o.type ?? "application/json";
    if (o.token) headers.authorization = `Bearer ${o.token}`;
    const r = await request(server.url + path, {
      method: method as never,
      headers,
      body: o.body === undefined ? undefined : typeof o.body === "string" || Buffer.isBuffer(o.body) ? o.body : JSON.stringify(o.body),
      dispatcher: o.token ? bare : admin,
    });
    const text = await r.body.text();
    return { status: r.statusCode, body: text ? JSON.parse(text) : undefined };
  }

  let seq = 0;
  async function namespaceWithAccount(sa = "robot") {
    const ns = `sat-${++seq}`;
    expect((await call("POST", "/api/v1/namespaces", { body: { metadata: { name: ns } } })).status).toBe(201);
    const r = await call("POST", `/api/v1/namespaces/${ns}/serviceaccounts`, { body: { metadata: { name: sa } } });
    expect(r.status).toBe(201);
    return { ns, uid: r.body.metadata.uid as string };
  }
  const tokenRequest = (spec: Record<string, unknown> = {}) => ({ apiVersion: "authentication.k8s.io/v1", kind: "TokenRequest", spec });
  const claimsOf = (token: string) => JSON.parse(Buffer.from(token.split(".")[1]!, "base64url").toString());

  it("keeps its signing key beside the CA: sa.key private, sa.pub public", () => {
    expect(statSync(join(stateDir, "pki", "sa.key")).mode & 0o777).toBe(0o600);
    expect(readFileSync(join(stateDir, "pki", "sa.pub"), "utf8")).toContain("BEGIN PUBLIC KEY");
  });

  it("lists serviceaccounts/token in discovery", async () => {
    const r = await call("GET", "/api/v1");
    expect(r.body.resources.find((x: { name: string }) => x.name === "serviceaccounts/token")).toEqual({
      name: "serviceaccounts/token",
      singularName: "",
      namespaced: true,
      group: "authentication.k8s.io",
      version: "v1",
      kind: "TokenRequest",
      verbs: ["create"],
    });
  });

  it("issues a token that authenticates as the service account until the account is deleted", async () => {
    const { ns, uid } = await namespaceWithAccount();
    const r = await call("POST", `/api/v1/namespaces/${ns}/serviceaccounts/robot/token`, { body: tokenRequest() });
    expect(r.status).toBe(201);
    expect(r.body).toMatchObject({ kind: "TokenRequest", apiVersion: "authentication.k8s.io/v1", spec: { audiences: ["https://kubernetes.default.svc.cluster.local"], expirationSeconds: 3600 } });
    const token = r.body.status.token as string;
    const claims = claimsOf(token);
    expect(claims).toMatchObject({ iss: "https://kubernetes.default.svc.cluster.local", sub: `system:serviceaccount:${ns}:robot`, "kubernetes.io": { namespace: ns, serviceaccount: { name: "robot", uid } } });
    expect(Date.parse(r.body.status.expirationTimestamp)).toBe(claims.exp * 1000);
    expect((await call("GET", "/api", { token })).status).toBe(200);
    expect((await call("GET", `/api/v1/namespaces/${ns}/serviceaccounts`, { token })).status).toBe(200);
    expect((await call("DELETE", `/api/v1/namespaces/${ns}/serviceaccounts/robot`)).status).toBe(200);
    const after = await call("GET", "/api", { token });
    expect(after.status).toBe(401);
    expect(after.body.reason).toBe("Unauthorized");
  });

  it("takes the protobuf TokenRequest kubectl create token sends", async () => {
    const { ns } = await namespaceWithAccount();
    const body = Buffer.from(KUBECTL_AUTH_CAPTURES.token!.body, "base64");
    const r = await call("POST", `/api/v1/namespaces/${ns}/serviceaccounts/robot/token`, { body, type: "application/vnd.kubernetes.protobuf" });
    expect(r.status).toBe(201);
    expect(r.body.spec).toMatchObject({ audiences: ["https://kubernetes.default.svc.cluster.local"], expirationSeconds: 3600 });
    expect((await call("GET", "/api", { token: r.body.status.token })).status).toBe(200);
  });

  it("refuses tokens for other audiences and tampered tokens", async () => {
    const { ns } = await namespaceWithAccount();
    const r = await call("POST", `/api/v1/namespaces/${ns}/serviceaccounts/robot/token`, { body: tokenRequest({ audiences: ["vault"], expirationSeconds: 600 }) });
    expect(r.status).toBe(201);
    expect(r.body.spec.audiences).toEqual(["vault"]);
    expect((await call("GET", "/api", { token: r.body.status.token })).status).toBe(401);
    const good = (await call("POST", `/api/v1/namespaces/${ns}/serviceaccounts/robot/token`, { body: tokenRequest() })).body.status.token as string;
    const [h, p, s] = good.split(".");
    const c = JSON.parse(Buffer.from(p!, "base64url").toString());
    c.sub = "system:serviceaccount:kube-system:admin";
    expect((await call("GET", "/api", { token: `${h}.${Buffer.from(JSON.stringify(c)).toString("base64url")}.${s}` })).status).toBe(401);
  });

  it("answers bad TokenRequests as kube-apiserver does", async () => {
    const { ns } = await namespaceWithAccount();
    const missing = await call("POST", `/api/v1/namespaces/${ns}/serviceaccounts/ghost/token`, { body: tokenRequest() });
    expect(missing.status).toBe(404);
    expect(missing.body.message).toBe('serviceaccounts "ghost" not found');
    const short = await call("POST", `/api/v1/namespaces/${ns}/serviceaccounts/robot/token`, { body: tokenRequest({ expirationSeconds: 599 }) });
    expect(short.status).toBe(422);
    expect(short.body.message).toBe('TokenRequest.authentication.k8s.io "robot" is invalid: spec.expirationSeconds: Invalid value: 599: may not specify a duration less than 10 minutes');
    const noPod = await call("POST", `/api/v1/namespaces/${ns}/serviceaccounts/robot/token`, { body: tokenRequest({ boundObjectRef: { apiVersion: "v1", kind: "Pod", name: "nope" } }) });
    expect(noPod.status).toBe(404);
    expect(noPod.body.message).toBe('pods "nope" not found');
    const cm = await call("POST", `/api/v1/namespaces/${ns}/serviceaccounts/robot/token`, { body: tokenRequest({ boundObjectRef: { apiVersion: "v1", kind: "ConfigMap", name: "x" } }) });
    expect(cm.status).toBe(400);
    expect(cm.body.message).toBe("cannot bind token to object of type /v1, Kind=ConfigMap");
    const secret = await call("POST", `/api/v1/namespaces/${ns}/secrets`, { body: { metadata: { name: "s" }, data: {} } });
    const wrongUid = await call("POST", `/api/v1/namespaces/${ns}/serviceaccounts/robot/token`, { body: tokenRequest({ boundObjectRef: { apiVersion: "v1", kind: "Secret", name: "s", uid: "not-it" } }) });
    expect(wrongUid.status).toBe(409);
    expect(wrongUid.body.message).toContain(`the UID in the bound object reference (not-it) does not match the UID in record (${secret.body.metadata.uid})`);
    expect((await call("GET", `/api/v1/namespaces/${ns}/serviceaccounts/robot/token`)).status).toBe(405);
  });

  it("binds a token to a pod: it carries the pod and stops working once the pod is gone", async () => {
    const { ns } = await namespaceWithAccount();
    const pod = await call("POST", `/api/v1/namespaces/${ns}/pods`, { body: { metadata: { name: "web" }, spec: { serviceAccountName: "robot", containers: [{ name: "c", image: "busybox" }] } } });
    expect(pod.status).toBe(201);
    const podUid = pod.body.metadata.uid as string;
    const other = await call("POST", `/api/v1/namespaces/${ns}/serviceaccounts/default/token`, { body: tokenRequest({ boundObjectRef: { apiVersion: "v1", kind: "Pod", name: "web" } }) });
    // "default" is not made here (no controller-manager): 404 for the account comes first.
    expect(other.status).toBe(404);
    const r = await call("POST", `/api/v1/namespaces/${ns}/serviceaccounts/robot/token`, { body: tokenRequest({ boundObjectRef: { apiVersion: "v1", kind: "Pod", name: "web", uid: podUid } }) });
    expect(r.status).toBe(201);
    expect(claimsOf(r.body.status.token)["kubernetes.io"].pod).toEqual({ name: "web", uid: podUid });
    expect((await call("GET", "/api", { token: r.body.status.token })).status).toBe(200);
    expect((await call("DELETE", `/api/v1/namespaces/${ns}/pods/web?gracePeriodSeconds=0`)).status).toBe(200);
    expect((await call("GET", "/api", { token: r.body.status.token })).status).toBe(401);
  });

  it("mounts the token volume into new pods unless automount is off, and refuses unknown accounts", async () => {
    const { ns } = await namespaceWithAccount();
    const made = await call("POST", `/api/v1/namespaces/${ns}/pods`, { body: { metadata: { name: "a" }, spec: { containers: [{ name: "c", image: "busybox" }] } } });
    expect(made.status).toBe(201);
    expect(made.body.spec.serviceAccountName).toBe("default");
    const vol = made.body.spec.volumes[0];
    expect(vol.name).toMatch(/^kube-api-access-[a-z0-9]{5}$/);
    expect(vol.projected.sources[0]).toEqual({ serviceAccountToken: { expirationSeconds: 3607, path: "token" } });
    expect(made.body.spec.containers[0].volumeMounts).toEqual([{ name: vol.name, readOnly: true, mountPath: "/var/run/secrets/kubernetes.io/serviceaccount" }]);
    const off = await call("POST", `/api/v1/namespaces/${ns}/pods`, { body: { metadata: { name: "b" }, spec: { automountServiceAccountToken: false, containers: [{ name: "c", image: "busybox" }] } } });
    expect(off.status).toBe(201);
    expect(off.body.spec.volumes).toBeUndefined();
    const ghost = await call("POST", `/api/v1/namespaces/${ns}/pods`, { body: { metadata: { name: "c" }, spec: { serviceAccountName: "ghost", containers: [{ name: "c", image: "busybox" }] } } });
    expect(ghost.status).toBe(403);
    expect(ghost.body.message).toBe(`pods "c" is forbidden: error looking up service account ${ns}/ghost: serviceaccount "ghost" not found`);
  });
});
