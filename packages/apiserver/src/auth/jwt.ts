// Book 14.3 (service account tokens): compact JSON Web Tokens signed with the API server's
// service-account key — RS256 for RSA keys, ES256 for P-256 keys — with node:crypto only.
import { createHash, createPublicKey, sign, verify, type KeyObject } from "node:crypto";

export type JwtAlgorithm = "RS256" | "ES256";

export interface JwtHeader {
  alg: string;
  kid?: string;
  typ?: string;
  [k: string]: unknown;
}

/** A token that is not a well-formed JWT, or whose signature no key verifies. */
export class JwtError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "JwtError";
  }
}

/** The algorithm a key signs with: RS256 for RSA, ES256 for EC P-256; other keys are refused. */
export function algorithmOf(key: KeyObject): JwtAlgorithm {
  const type = key.asymmetricKeyType;
  if (type === "rsa") return "RS256";
  if (type === "ec" && key.asymmetricKeyDetails?.namedCurve === "prime256v1") return "ES256";
  const what = type === "ec" ? `EC key on curve ${key.asymmetricKeyDetails?.namedCurve ?? "?"}` : `${type ?? "unknown"} key`;
  throw new JwtError(`service account keys must be RSA or EC P-256, not an ${what}`);
}

/** The public half of a key (a public key is returned as is). */
export function publicKeyOf(key: KeyObject): KeyObject {
  return key.type === "private" ? createPublicKey(key) : key;
}

/** The key id in every token's header: base64url of the SHA-256 of the public key's DER (SPKI). */
export function keyIdOf(key: KeyObject): string {
  const der = publicKeyOf(key).export({ type: "spki", format: "der" });
  return createHash("sha256").update(der).digest("base64url");
}

const b64json = (v: unknown) => Buffer.from(JSON.stringify(v), "utf8").toString("base64url");

/** Signs `claims` into a compact JWT (header.payload.signature) with kid naming the key. */
export function signJwt(claims: Record<string, unknown>, privateKey: KeyObject): string {
  if (privateKey.type !== "private") throw new JwtError("signing a token needs a private key");
  const alg = algorithmOf(privateKey);
  const input = `${b64json({ alg, kid: keyIdOf(privateKey) })}.${b64json(claims)}`;
  const signature =
    alg === "RS256"
      ? sign("sha256", Buffer.from(input), privateKey)
      : sign("sha256", Buffer.from(input), { key: privateKey, dsaEncoding: "ieee-p1363" });
  return `${input}.${signature.toString("base64url")}`;
}

export interface DecodedJwt {
  header: JwtHeader;
  claims: Record<string, unknown>;
  signingInput: string;
  signature: Buffer;
}

const B64URL = /^[A-Za-z0-9_-]*$/;

function parsePart(part: string, what: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(part, "base64url").toString("utf8"));
  } catch {
    throw new JwtError(`the token's ${what} is not base64url-encoded JSON`);
  }
  if (value === null || typeof value !== "object" || Array.isArray(value)) throw new JwtError(`the token's ${what} is not a JSON object`);
  return value as Record<string, unknown>;
}

/**
 * Splits and decodes a compact JWT without checking its signature; undefined when the string does
 * not even look like one (three base64url parts), so that other bearer tokens can be tried.
 */
export function decodeJwt(token: string): DecodedJwt | undefined {
  const parts = token.split(".");
  if (parts.length !== 3 || parts.some((p) => p === "" || !B64URL.test(p))) return undefined;
  const header = parsePart(parts[0]!, "header") as JwtHeader;
  if (typeof header.alg !== "string") throw new JwtError("the token's header has no alg");
  const claims = parsePart(parts[1]!, "payload");
  return { header, claims, signingInput: `${parts[0]}.${parts[1]}`, signature: Buffer.from(parts[2]!, "base64url") };
}

/**
 * Checks the signature against the public keys (the one whose kid the header names, or each in
 * turn when it names none). Throws JwtError when no key verifies it or the algorithm does not fit
 * the key: "none" and HMAC algorithms are never accepted.
 */
export function verifyJwtSignature(jwt: DecodedJwt, publicKeys: readonly KeyObject[]): KeyObject {
  const { alg, kid } = jwt.header;
  if (alg !== "RS256" && alg !== "ES256") throw new JwtError(`unsupported token signing algorithm ${JSON.stringify(alg)}`);
  const candidates = publicKeys.filter((k) => algorithmOf(k) === alg && (kid === undefined || keyIdOf(k) === kid));
  for (const key of candidates) {
    const data = Buffer.from(jwt.signingInput);
    const ok =
      alg === "RS256"
        ? verify("sha256", data, key, jwt.signature)
        : verify("sha256", data, { key, dsaEncoding: "ieee-p1363" }, jwt.signature);
    if (ok) return key;
  }
  throw new JwtError("the token's signature does not verify with any service account key");
}
