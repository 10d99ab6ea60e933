// Book 14.3: signing and checking ServiceAccount JWTs — what verifies, and what is refused.
import { generateKeyPairSync, type KeyObject } from "node:crypto";
import type { IncomingMessage } from "node:http";
import { describe, expect, it } from "vitest";
import type { KubeObject } from "../registry/types.js";
import { AuthenticationError } from "./authenticator.js";
import { decodeJwt, keyIdOf, signJwt, verifyJwtSignature, JwtError } from "./jwt.js";
import { EXTRA_CREDENTIAL_ID, EXTRA_POD_NAME, EXTRA_POD_UID, serviceAccountAuthenticator, ServiceAccountTokens, type BoundObjectGetter } from "./serviceaccount.js";

const rsa = generateKeyPairSync("rsa", { modulusLength: 2048 });
const ec = generateKeyPairSync("ec", { namedCurve: "P-256" });
const other = generateKeyPairSync("rsa", { modulusLength: 2048 });

const sa: KubeObject = { metadata: { name: "robot", namespace: "team", uid: "sa-uid-1" } };
const pod: KubeObject = { metadata: { name: "web", namespace: "team", uid: "pod-uid-1" } };
const now = new Date("2026-03-01T10:00:00Z");

function tokens(signingKey: KeyObject = rsa.privateKey, publicKeys: KeyObject[] = [rsa.publicKey], extra: Partial<ConstructorParameters<typeof ServiceAccountTokens>[0]> = {}) {
  return new ServiceAccountTokens({ signingKey, publicKeys, ...extra });
}

const request = (token?: string) => ({ headers: token ? { authorization: `Bearer ${token}` } : {} }) as IncomingMessage;

function getterOf(objs: Record<string, KubeObject>): BoundObjectGetter {
  return { get: async (resource, namespace, name) => objs[`${resource}/${namespace}/${name}`] };
}

describe("JWT signing", () => {
  it("signs RS256 and ES256 tokens whose kid is the SHA-256 of the public key, and verifies them", () => {
    for (const [pair, alg] of [[rsa, "RS256"], [ec, "ES256"]] as const) {
      const jwt = signJwt({ sub: "x" }, pair.privateKey);
      const d = decodeJwt(jwt)!;
      expect(d.header).toEqual({ alg, kid: keyIdOf(pair.publicKey) });
      expect(d.claims).toEqual({ sub: "x" });
      expect(verifyJwtSignature(d, [other.publicKey, pair.publicKey])).toBe(pair.publicKey);
    }
  });

  it("refuses a tampered payload, a foreign key and alg none", () => {
    const jwt = signJwt({ sub: "x" }, rsa.privateKey);
    const [h, , s] = jwt.split(".");
    const forged = `${h}.${Buffer.from(JSON.stringify({ sub: "admin" })).toString("base64url")}.${s}`;
    expect(() => verifyJwtSignature(decodeJwt(forged)!, [rsa.publicKey])).toThrow(JwtError);
    expect(() => verifyJwtSignature(decodeJwt(jwt)!, [other.publicKey])).toThrow(/does not verify/);
    const none = `${Buffer.from('{"alg":"none"}').toString("base64url")}.${Buffer.from('{"sub":"x"}').toString("base64url")}.AA`;
    expect(() => verifyJwtSignature(decodeJwt(none)!, [rsa.publicKey])).toThrow(/unsupported token signing algorithm/);
  });

  it("does not take non-JWT strings for tokens", () => {
    expect(decodeJwt("abcdef")).toBeUndefined();
    expect(decodeJwt("a.b")).toBeUndefined();
    expect(decodeJwt("a.b.c.d")).toBeUndefined();
    expect(() => decodeJwt("a.b.c")).toThrow(JwtError);
  });

  it("refuses keys it cannot sign with", () => {
    const ed = generateKeyPairSync("ed25519");
    expect(() => signJwt({}, ed.privateKey)).toThrow(/RSA or EC P-256/);
  });
});

describe("ServiceAccountTokens", () => {
  it("issues upstream's claims", () => {
    const t = tokens();
    const issued = t.issue({ serviceAccount: sa, audiences: ["api"], expirationSeconds: 3600, now, pod });
    const c = decodeJwt(issued.token)!.claims;
    expect(c).toMatchObject({
      iss: "https://kubernetes.default.svc.cluster.local",
      sub: "system:serviceaccount:team:robot",
      aud: ["api"],
      iat: now.getTime() / 1000,
      nbf: now.getTime() / 1000,
      exp: now.getTime() / 1000 + 3600,
      "kubernetes.io": { namespace: "team", serviceaccount: { name: "robot", uid: "sa-uid-1" }, pod: { name: "web", uid: "pod-uid-1" } },
    });
    expect(c.jti).toMatch(/^[0-9a-f-]{36}$/);
    expect(issued.expirationTimestamp.toISOString()).toBe("2026-03-01T11:00:00.000Z");
  });

  it("verifies its own tokens for the issuer audience; refuses expired ones and other audiences", () => {
    const t = tokens();
    const good = t.issue({ serviceAccount: sa, audiences: [t.issuer], expirationSeconds: 600, now }).token;
    expect(t.verify(good, now)?.sub).toBe("system:serviceaccount:team:robot");
    // Still good within a minute's clock skew, not after.
    expect(t.verify(good, new Date(now.getTime() + 660_000))).toBeDefined();
    expect(() => t.verify(good, new Date(now.getTime() + 661_000))).toThrow(/expired/);
    const vault = t.issue({ serviceAccount: sa, audiences: ["vault"], expirationSeconds: 600, now }).token;
    expect(() => t.verify(vault, now)).toThrow(/audiences/);
    expect(tokens(rsa.privateKey, [rsa.publicKey], { apiAudiences: ["vault"] }).verify(vault, now)).toBeDefined();
  });

  it("leaves tokens of other issuers to other authenticators, but refuses a bad signature under our issuer", () => {
    const t = tokens();
    const foreignIssuer = signJwt({ iss: "https://elsewhere", sub: "x", exp: 9e9 }, other.privateKey);
    expect(t.verify(foreignIssuer, now)).toBeUndefined();
    expect(t.verify("static-token-from-a-file", now)).toBeUndefined();
    const forged = tokens(other.privateKey, [other.publicKey]).issue({ serviceAccount: sa, audiences: [t.issuer], expirationSeconds: 600, now }).token;
    expect(() => t.verify(forged, now)).toThrow(AuthenticationError);
  });

  it("accepts tokens of a retired issuer and key while new ones use the first", () => {
    const old = tokens(other.privateKey, [other.publicKey], { issuer: "https://old" });
    const oldToken = old.issue({ serviceAccount: sa, audiences: ["https://old"], expirationSeconds: 600, now }).token;
    const t = tokens(ec.privateKey, [ec.publicKey, other.publicKey], { issuer: "https://new", acceptedIssuers: ["https://old"], apiAudiences: ["https://new", "https://old"] });
    expect(t.verify(oldToken, now)?.iss).toBe("https://old");
    expect(decodeJwt(t.issue({ serviceAccount: sa, audiences: ["a"], expirationSeconds: 600, now }).token)!.claims.iss).toBe("https://new");
  });
});

describe("serviceAccountAuthenticator", () => {
  const t = tokens();
  const objs = { "serviceaccounts/team/robot": sa, "pods/team/web": pod };

  it("turns a token into the service account user with upstream's groups and extra", async () => {
    const issued = t.issue({ serviceAccount: sa, audiences: [t.issuer], expirationSeconds: 600, now, pod });
    const user = await serviceAccountAuthenticator(t, getterOf(objs), () => now).authenticate(request(issued.token));
    expect(user).toEqual({
      username: "system:serviceaccount:team:robot",
      uid: "sa-uid-1",
      groups: ["system:serviceaccounts", "system:serviceaccounts:team"],
      extra: { [EXTRA_POD_NAME]: ["web"], [EXTRA_POD_UID]: ["pod-uid-1"], [EXTRA_CREDENTIAL_ID]: [`JTI=${issued.claims.jti}`] },
    });
  });

  it("finds nothing without a bearer token or with someone else's", async () => {
    const a = serviceAccountAuthenticator(t, getterOf(objs), () => now);
    expect(await a.authenticate(request())).toBeUndefined();
    expect(await a.authenticate(request("abc123"))).toBeUndefined();
  });

  it("refuses a token whose service account or pod is gone or was recreated", async () => {
    const issued = t.issue({ serviceAccount: sa, audiences: [t.issuer], expirationSeconds: 600, now, pod }).token;
    const check = (o: Record<string, KubeObject>) => serviceAccountAuthenticator(t, getterOf(o), () => now).authenticate(request(issued));
    await expect(check({ "pods/team/web": pod })).rejects.toThrow("service account team/robot has been deleted");
    await expect(check({ "serviceaccounts/team/robot": sa })).rejects.toThrow("pod team/web has been deleted");
    await expect(check({ ...objs, "pods/team/web": { metadata: { ...pod.metadata, uid: "pod-uid-2" } } })).rejects.toThrow(/does not match/);
    // A pod deleted gracefully keeps its token for a minute past its deletionTimestamp.
    const deleting = (at: string) => check({ ...objs, "pods/team/web": { metadata: { ...pod.metadata, deletionTimestamp: at } } });
    await expect(deleting("2026-03-01T09:59:30Z")).resolves.toBeDefined();
    await expect(deleting("2026-03-01T09:58:00Z")).rejects.toThrow(/being deleted/);
  });
});
