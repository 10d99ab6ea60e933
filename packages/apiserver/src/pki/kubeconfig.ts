// Book 14.1 and 2.3: the kubeconfig file that tells kubectl (and our own clients) where the API
// server is, which CA to trust and which credentials to present, written as YAML (the client reads it).
import { chmod, mkdir, rename, writeFile } from "node:fs/promises";
import { dirname } from "node:path";
import { stringify } from "yaml";

export interface KubeconfigInput {
  /** The API server's URL, e.g. https://127.0.0.1:6443. */
  server: string;
  /** The CA that signed the server's certificate (PEM); embedded as certificate-authority-data. */
  caPem: string;
  clientCertPem?: string;
  clientKeyPem?: string;
  token?: string;
  /** Names of the user, cluster and context entries (the context becomes current-context). */
  user: string;
  cluster: string;
  context: string;
  /** The context's default namespace. */
  namespace?: string;
}

const b64 = (text: string): string => Buffer.from(text, "utf8").toString("base64");

/** The kubeconfig document for `input` (pure; writeKubeconfig stores it). */
export function renderKubeconfig(input: KubeconfigInput): string {
  if (!/^https?:\/\//.test(input.server)) throw new Error(`kubeconfig server must be an http(s) URL, got ${JSON.stringify(input.server)}`);
  if ((input.clientCertPem === undefined) !== (input.clientKeyPem === undefined)) {
    throw new Error("kubeconfig: a client certificate and its key go together; give both or neither");
  }
  const user: Record<string, string> = {};
  if (input.clientCertPem !== undefined) user["client-certificate-data"] = b64(input.clientCertPem);
  if (input.clientKeyPem !== undefined) user["client-key-data"] = b64(input.clientKeyPem);
  if (input.token !== undefined) user.token = input.token;
  const context: Record<string, string> = { cluster: input.cluster, user: input.user };
  if (input.namespace) context.namespace = input.namespace;
  const doc = {
    apiVersion: "v1",
    kind: "Config",
    clusters: [{ name: input.cluster, cluster: { server: input.server, "certificate-authority-data": b64(input.caPem) } }],
    users: [{ name: input.user, user }],
    contexts: [{ name: input.context, context }],
    "current-context": input.context,
    preferences: {},
  };
  return stringify(doc);
}

/** Writes a kubeconfig with embedded credentials, readable by its owner only (0600). */
export async function writeKubeconfig(path: string, input: KubeconfigInput): Promise<void> {
  const text = renderKubeconfig(input);
  await mkdir(dirname(path), { recursive: true });
  const tmp = `${path}.tmp-${process.pid}-${Date.now()}`;
  await writeFile(tmp, text, { mode: 0o600 });
  await chmod(tmp, 0o600);
  await rename(tmp, path);
}
