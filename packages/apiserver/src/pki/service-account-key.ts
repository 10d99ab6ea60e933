// Book 14.1 and 14.3: the service-account key pair (sa.key / sa.pub beside the CA, as kubeadm lays
// it out) that signs and verifies ServiceAccount tokens, or the keys named by the --service-account-* files.
import { createPrivateKey, createPublicKey, generateKeyPair, type KeyObject } from "node:crypto";
import { mkdir } from "node:fs/promises";
import { readIfExists, writeAtomic } from "./pki.js";
import { join } from "node:path";
import { promisify } from "node:util";
import { algorithmOf, keyIdOf, publicKeyOf } from "../auth/jwt.js";

const generateKeyPairAsync = promisify(generateKeyPair);

export interface ServiceAccountKeys {
  /** Signs new tokens (TokenRequest). */
  signingKey: KeyObject;
  /** Verify tokens (the signing key's public half first, then any others). */
  publicKeys: KeyObject[];
  /** Where the signing key came from. */
  signingKeyFile: string;
}

export interface ServiceAccountKeyOptions {
  /** The PKI directory: sa.key and sa.pub are made here when no signing key file is given. */
  dir: string;
  /** --service-account-signing-key-file: a PEM private key (RSA or EC P-256). */
  signingKeyFile?: string;
  /** --service-account-key-file: PEM files of public (or private) keys, or certificates, that verify tokens. */
  keyFiles?: string[];
}

const PEM_BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----[\s\S]*?-----END \1-----/g;

/** Every key in PEM text: public keys, the public half of private keys, certificates' keys. */
export function parsePublicKeys(pem: string, source: string): KeyObject[] {
  const keys: KeyObject[] = [];
  for (const m of pem.matchAll(PEM_BLOCK)) {
    const type = m[1]!;
    if (!/PUBLIC KEY|PRIVATE KEY|CERTIFICATE/.test(type)) continue; // e.g. EC PARAMETERS
    let key: KeyObject;
    try {
      key = type.includes("PRIVATE") ? publicKeyOf(createPrivateKey(m[0])) : createPublicKey(m[0]);
    } catch (err) {
      throw new Error(`${source}: cannot read the ${type} block: ${(err as Error).message}`);
    }
    try {
      algorithmOf(key);
    } catch (err) {
      throw new Error(`${source}: ${(err as Error).message}`);
    }
    keys.push(key);
  }
  if (keys.length === 0) throw new Error(`${source} holds no PEM public key, private key or certificate`);
  return keys;
}

/** The private key in a PEM file (RSA or EC P-256). */
export function parseSigningKey(pem: string, source: string): KeyObject {
  let key: KeyObject;
  try {
    key = createPrivateKey(pem);
  } catch (err) {
    throw new Error(`${source} does not hold a PEM private key: ${(err as Error).message}`);
  }
  try {
    algorithmOf(key);
  } catch (err) {
    throw new Error(`${source}: ${(err as Error).message}`);
  }
  return key;
}

/**
 * sa.key (0600, PKCS#8) and sa.pub (0644, SPKI) in `dir`: read when present, made (RSA 2048, as
 * kubeadm does) when both are missing. A key without its public half gets it written again; a
 * public half that does not belong to the key is an error, as every token handed out depends on it.
 */
export async function ensureServiceAccountKeyPair(dir: string): Promise<{ privateKey: KeyObject; publicKey: KeyObject; keyFile: string; pubFile: string }> {
  await mkdir(dir, { recursive: true });
  const keyFile = join(dir, "sa.key");
  const pubFile = join(dir, "sa.pub");
  const keyPem = await readIfExists(keyFile);
  const pubPem = await readIfExists(pubFile);
  if (keyPem === undefined) {
    if (pubPem !== undefined) throw new Error(`${pubFile} exists but ${keyFile} is missing; restore it or remove both to make a new key pair`);
    const { privateKey, publicKey } = await generateKeyPairAsync("rsa", { modulusLength: 2048 });
    await writeAtomic(keyFile, privateKey.export({ type: "pkcs8", format: "pem" }) as string, 0o600);
    await writeAtomic(pubFile, publicKey.export({ type: "spki", format: "pem" }) as string, 0o644);
    return { privateKey, publicKey, keyFile, pubFile };
  }
  const privateKey = parseSigningKey(keyPem, keyFile);
  const publicKey = publicKeyOf(privateKey);
  if (pubPem === undefined) {
    await writeAtomic(pubFile, publicKey.export({ type: "spki", format: "pem" }) as string, 0o644);
  } else {
    const [pub] = parsePublicKeys(pubPem, pubFile);
    if (keyIdOf(pub!) !== keyIdOf(publicKey)) throw new Error(`${pubFile} does not belong to ${keyFile}`);
  }
  return { privateKey, publicKey, keyFile, pubFile };
}

/**
 * The keys for service-account tokens: the signing key from --service-account-signing-key-file
 * or the PKI directory's sa.key, and the verifying keys from --service-account-key-file plus the
 * signing key's own public half (so tokens we sign always verify).
 */
export async function loadServiceAccountKeys(o: ServiceAccountKeyOptions): Promise<ServiceAccountKeys> {
  let signingKey: KeyObject;
  let signingKeyFile: string;
  if (o.signingKeyFile) {
    const pem = await readIfExists(o.signingKeyFile);
    if (pem === undefined) throw new Error(`service account signing key file ${o.signingKeyFile} does not exist`);
    signingKey = parseSigningKey(pem, o.signingKeyFile);
    signingKeyFile = o.signingKeyFile;
  } else {
    const pair = await ensureServiceAccountKeyPair(o.dir);
    signingKey = pair.privateKey;
    signingKeyFile = pair.keyFile;
  }
  const publicKeys = [publicKeyOf(signingKey)];
  const seen = new Set([keyIdOf(signingKey)]);
  for (const file of o.keyFiles ?? []) {
    const pem = await readIfExists(file);
    if (pem === undefined) throw new Error(`service account key file ${file} does not exist`);
    for (const k of parsePublicKeys(pem, file)) {
      const id = keyIdOf(k);
      if (seen.has(id)) continue;
      seen.add(id);
      publicKeys.push(k);
    }
  }
  return { signingKey, publicKeys, signingKeyFile };
}
