// Book 14.1 and 14.3: the service-account key pair in the PKI directory, and key files named by flags.
import { generateKeyPairSync } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, statSync, unlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { keyIdOf } from "../auth/jwt.js";
import { ensureServiceAccountKeyPair, loadServiceAccountKeys } from "./service-account-key.js";

const dirs: string[] = [];
const tmp = () => {
  const d = mkdtempSync(join(tmpdir(), "corekube-sakey-"));
  dirs.push(d);
  return d;
};
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe("service account keys", () => {
  it("makes sa.key (0600) and sa.pub once, then keeps them", async () => {
    const dir = tmp();
    const first = await ensureServiceAccountKeyPair(dir);
    expect(statSync(join(dir, "sa.key")).mode & 0o777).toBe(0o600);
    expect(readFileSync(join(dir, "sa.pub"), "utf8")).toMatch(/^-----BEGIN PUBLIC KEY-----/);
    const again = await ensureServiceAccountKeyPair(dir);
    expect(keyIdOf(again.publicKey)).toBe(keyIdOf(first.publicKey));
    unlinkSync(join(dir, "sa.pub"));
    expect(keyIdOf((await ensureServiceAccountKeyPair(dir)).publicKey)).toBe(keyIdOf(first.publicKey));
  });

  it("refuses a sa.pub that belongs to another key, and a lone sa.pub", async () => {
    const dir = tmp();
    await ensureServiceAccountKeyPair(dir);
    const stranger = generateKeyPairSync("ec", { namedCurve: "P-256" }).publicKey.export({ type: "spki", format: "pem" }) as string;
    writeFileSync(join(dir, "sa.pub"), stranger);
    await expect(ensureServiceAccountKeyPair(dir)).rejects.toThrow(/sa.pub does not belong to .*sa.key/);
    unlinkSync(join(dir, "sa.key"));
    await expect(ensureServiceAccountKeyPair(dir)).rejects.toThrow(/sa.key is missing/);
  });

  it("signs with --service-account-signing-key-file and also verifies with --service-account-key-file keys", async () => {
    const dir = tmp();
    const signing = generateKeyPairSync("ec", { namedCurve: "P-256" });
    const old = generateKeyPairSync("rsa", { modulusLength: 2048 });
    writeFileSync(join(dir, "signing.pem"), signing.privateKey.export({ type: "pkcs8", format: "pem" }) as string);
    writeFileSync(join(dir, "old.pub"), old.publicKey.export({ type: "spki", format: "pem" }) as string);
    const keys = await loadServiceAccountKeys({ dir: join(dir, "pki"), signingKeyFile: join(dir, "signing.pem"), keyFiles: [join(dir, "old.pub")] });
    expect(keys.publicKeys.map(keyIdOf)).toEqual([keyIdOf(signing.publicKey), keyIdOf(old.publicKey)]);
    expect(keys.signingKeyFile).toBe(join(dir, "signing.pem"));
  });

  it("names the file when a key file is missing or holds no key", async () => {
    const dir = tmp();
    writeFileSync(join(dir, "junk.pem"), "hello");
    await expect(loadServiceAccountKeys({ dir, signingKeyFile: join(dir, "nope.pem") })).rejects.toThrow(/nope.pem does not exist/);
    await expect(loadServiceAccountKeys({ dir, keyFiles: [join(dir, "junk.pem")] })).rejects.toThrow(/junk.pem holds no PEM/);
    await expect(loadServiceAccountKeys({ dir, signingKeyFile: join(dir, "junk.pem") })).rejects.toThrow(/junk.pem does not hold a PEM private key/);
  });
});
