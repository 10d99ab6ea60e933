// Book 14.3 (service accounts): bound ServiceAccount tokens — the claims a TokenRequest signs, and
// the authenticator that turns such a Bearer token back into system:serviceaccount:<ns>:<name>.
import { randomUUID, type KeyObject } from "node:crypto";
import type { IncomingMessage } from "node:http";
import type { KubeObject, UserInfo } from "../registry/types.js";
import { AuthenticationError, type Authenticator } from "./authenticator.js";
import { decodeJwt, JwtError, signJwt, verifyJwtSignature } from "./jwt.js";
import { bearerToken } from "./tokenfile.js";

export const DEFAULT_SERVICE_ACCOUNT_ISSUER = "https://kubernetes.default.svc.cluster.local";
export const SERVICE_ACCOUNT_USER_PREFIX = "system:serviceaccount:";
export const SERVICE_ACCOUNTS_GROUP = "system:serviceaccounts";
/** Where the ServiceAccount admission plugin mounts the token, CA and namespace in containers. */
export const SERVICE_ACCOUNT_MOUNT_PATH = "/var/run/secrets/kubernetes.io/serviceaccount";
export const EXTRA_POD_NAME = "authentication.kubernetes.io/pod-name";
export const EXTRA_POD_UID = "authentication.kubernetes.io/pod-uid";
export const EXTRA_NODE_NAME = "authentication.kubernetes.io/node-name";
export const EXTRA_NODE_UID = "authentication.kubernetes.io/node-uid";
export const EXTRA_CREDENTIAL_ID = "authentication.kubernetes.io/credential-id";

/** Clock skew tolerated on exp and nbf, as the JWT library behind kube-apiserver allows. */
const LEEWAY_SECONDS = 60;
/** A bound object (or the ServiceAccount) deleted this long ago no longer backs a token. */
const DELETION_GRACE_SECONDS = 60;

/** system:serviceaccount:<ns>:<name> */
export function serviceAccountUsername(namespace: string, name: string): string {
  return `${SERVICE_ACCOUNT_USER_PREFIX}${namespace}:${name}`;
}

/** The groups of every service account user, before system:authenticated is added. */
export function serviceAccountGroups(namespace: string): string[] {
  return [SERVICE_ACCOUNTS_GROUP, `${SERVICE_ACCOUNTS_GROUP}:${namespace}`];
}

export interface ObjectRef {
  name: string;
  uid: string;
}

/** The private "kubernetes.io" claim. */
export interface KubernetesClaim {
  namespace: string;
  serviceaccount: ObjectRef;
  pod?: ObjectRef;
  secret?: ObjectRef;
  node?: ObjectRef;
}

export interface ServiceAccountClaims {
  iss: string;
  sub: string;
  aud: string[];
  exp: number;
  iat: number;
  nbf: number;
  jti: string;
  "kubernetes.io": KubernetesClaim;
}

export interface IssueInput {
  serviceAccount: KubeObject;
  audiences: string[];
  expirationSeconds: number;
  now: Date;
  pod?: KubeObject;
  secret?: KubeObject;
  node?: KubeObject;
}

export interface IssuedToken {
  token: string;
  expirationTimestamp: Date;
  claims: ServiceAccountClaims;
}

export interface ServiceAccountTokenOptions {
  /** --service-account-issuer: the iss of new tokens (default https://kubernetes.default.svc.cluster.local). */
  issuer?: string;
  /** Further issuers whose tokens still authenticate (kube-apiserver's repeated --service-account-issuer). */
  acceptedIssuers?: string[];
  /** --api-audiences: a token must name one of them in aud (default: the issuer). */
  apiAudiences?: string[];
  signingKey: KeyObject;
  /** Verifying keys (the signing key's public half is always among them). */
  publicKeys: KeyObject[];
}

const refOf = (o: KubeObject): ObjectRef => ({ name: o.metadata.name ?? "", uid: o.metadata.uid ?? "" });

/** Signs and checks bound service account tokens with one key set and issuer. */
export class ServiceAccountTokens {
  readonly issuer: string;
  readonly issuers: readonly string[];
  readonly apiAudiences: readonly string[];
  private readonly signingKey: KeyObject;
  private readonly publicKeys: KeyObject[];

  constructor(o: ServiceAccountTokenOptions) {
    this.issuer = o.issuer || DEFAULT_SERVICE_ACCOUNT_ISSUER;
    this.issuers = [this.issuer, ...(o.acceptedIssuers ?? []).filter((i) => i !== this.issuer)];
    this.apiAudiences = o.apiAudiences?.length ? [...o.apiAudiences] : [this.issuer];
    this.signingKey = o.signingKey;
    this.publicKeys = o.publicKeys;
  }

  /** A signed token for the ServiceAccount, bound to the pod, secret or node when given. */
  issue(input: IssueInput): IssuedToken {
    const sa = input.serviceAccount;
    const namespace = sa.metadata.namespace ?? "";
    const iat = Math.floor(input.now.getTime() / 1000);
    const exp = iat + input.expirationSeconds;
    const k8s: KubernetesClaim = { namespace, serviceaccount: refOf(sa) };
    if (input.pod) k8s.pod = refOf(input.pod);
    if (input.secret) k8s.secret = refOf(input.secret);
    if (input.node) k8s.node = refOf(input.node);
    const claims: ServiceAccountClaims = {
      iss: this.issuer,
      sub: serviceAccountUsername(namespace, sa.metadata.name ?? ""),
      aud: [...input.audiences],
      exp,
      iat,
      nbf: iat,
      jti: randomUUID(),
      "kubernetes.io": k8s,
    };
    return { token: signJwt(claims as unknown as Record<string, unknown>, this.signingKey), expirationTimestamp: new Date(exp * 1000), claims };
  }

  /**
   * The claims of a token this server's issuers signed, checked for signature, time and audience.
   * undefined when the token is not a JWT from one of our issuers (another authenticator may own
   * it); throws AuthenticationError when it is ours but not valid.
   */
  verify(token: string, now: Date): ServiceAccountClaims | undefined {
    let jwt;
    try {
      jwt = decodeJwt(token);
    } catch {
      return undefined;
    }
    if (!jwt || typeof jwt.claims.iss !== "string" || !this.issuers.includes(jwt.claims.iss)) return undefined;
    try {
      verifyJwtSignature(jwt, this.publicKeys);
    } catch (err) {
      throw new AuthenticationError(err instanceof JwtError ? err.message : String(err));
    }
    const c = jwt.claims as Partial<ServiceAccountClaims> & Record<string, unknown>;
    const t = Math.floor(now.getTime() / 1000);
    if (typeof c.exp !== "number") throw new AuthenticationError("service account token has no expiry");
    if (t > c.exp + LEEWAY_SECONDS) throw new AuthenticationError("service account token has expired");
    if (typeof c.nbf === "number" && t < c.nbf - LEEWAY_SECONDS) throw new AuthenticationError("service account token is not valid yet");
    const aud = typeof c.aud === "string" ? [c.aud] : Array.isArray(c.aud) ? c.aud.filter((a): a is string => typeof a === "string") : [];
    if (!aud.some((a) => this.apiAudiences.includes(a)))
      throw new AuthenticationError(`token audiences ${JSON.stringify(aud)} are invalid for the target audiences ${JSON.stringify(this.apiAudiences)}`);
    const k8s = c["kubernetes.io"];
    if (!isKubernetesClaim(k8s)) throw new AuthenticationError("service account token has no valid kubernetes.io claim");
    if (c.sub !== serviceAccountUsername(k8s.namespace, k8s.serviceaccount.name))
      throw new AuthenticationError("service account token's sub does not match its kubernetes.io claim");
    return { ...(c as ServiceAccountClaims), aud };
  }
}

function isRef(v: unknown): v is ObjectRef {
  return v !== null && typeof v === "object" && typeof (v as ObjectRef).name === "string" && typeof (v as ObjectRef).uid === "string";
}

function isKubernetesClaim(v: unknown): v is KubernetesClaim {
  if (v === null || typeof v !== "object") return false;
  const k = v as KubernetesClaim;
  if (typeof k.namespace !== "string" || k.namespace === "" || !isRef(k.serviceaccount) || k.serviceaccount.name === "") return false;
  return (k.pod === undefined || isRef(k.pod)) && (k.secret === undefined || isRef(k.secret)) && (k.node === undefined || isRef(k.node));
}

/** Reads the objects a token is bound to; undefined when one does not exist. */
export interface BoundObjectGetter {
  get(resource: "serviceaccounts" | "pods" | "secrets" | "nodes", namespace: string, name: string): Promise<KubeObject | undefined>;
}

/** The object still exists with the uid the token names, and was not deleted more than a minute ago. */
async function checkLive(
  getter: BoundObjectGetter,
  resource: "serviceaccounts" | "pods" | "secrets" | "nodes",
  what: string,
  namespace: string,
  ref: ObjectRef,
  now: Date,
): Promise<void> {
  const obj = await getter.get(resource, namespace, ref.name);
  const label = namespace ? `${namespace}/${ref.name}` : ref.name;
  if (!obj) throw new AuthenticationError(`${what} ${label} has been deleted`);
  if (obj.metadata.uid !== ref.uid) throw new AuthenticationError(`${what} UID (${obj.metadata.uid}) does not match claim (${ref.uid})`);
  const deleted = obj.metadata.deletionTimestamp ? Date.parse(obj.metadata.deletionTimestamp) : Number.NaN;
  if (Number.isFinite(deleted) && deleted + DELETION_GRACE_SECONDS * 1000 < now.getTime())
    throw new AuthenticationError(`${what} ${label} is being deleted`);
}

/**
 * Authenticates `Authorization: Bearer <jwt>` tokens this server signed. The ServiceAccount must
 * still exist with the token's uid, and so must the pod, secret or node it is bound to: deleting
 * any of them revokes the token. The user carries the pod and node it came from and the token's
 * jti in extra, as kube-apiserver's does.
 */
export function serviceAccountAuthenticator(tokens: ServiceAccountTokens, getter: BoundObjectGetter, now: () => Date = () => new Date()): Authenticator {
  return {
    async authenticate(req: IncomingMessage): Promise<UserInfo | undefined> {
      const token = bearerToken(req);
      if (token === undefined) return undefined;
      const at = now();
      const claims = tokens.verify(token, at);
      if (!claims) return undefined;
      const k = claims["kubernetes.io"];
      await checkLive(getter, "serviceaccounts", "service account", k.namespace, k.serviceaccount, at);
      if (k.pod) await checkLive(getter, "pods", "pod", k.namespace, k.pod, at);
      if (k.secret) await checkLive(getter, "secrets", "secret", k.namespace, k.secret, at);
      // A node is checked when the token is bound to it; beside a pod it only says where the pod ran.
      if (k.node && !k.pod && !k.secret) await checkLive(getter, "nodes", "node", "", k.node, at);
      const extra: Record<string, string[]> = {};
      if (k.pod) {
        extra[EXTRA_POD_NAME] = [k.pod.name];
        extra[EXTRA_POD_UID] = [k.pod.uid];
      }
      if (k.node) {
        extra[EXTRA_NODE_NAME] = [k.node.name];
        if (k.node.uid) extra[EXTRA_NODE_UID] = [k.node.uid];
      }
      if (typeof claims.jti === "string" && claims.jti !== "") extra[EXTRA_CREDENTIAL_ID] = [`JTI=${claims.jti}`];
      const user: UserInfo = {
        username: serviceAccountUsername(k.namespace, k.serviceaccount.name),
        uid: k.serviceaccount.uid,
        groups: serviceAccountGroups(k.namespace),
      };
      if (Object.keys(extra).length > 0) user.extra = extra;
      return user;
    },
  };
}
