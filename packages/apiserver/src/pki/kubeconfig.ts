// Book 14.1 and 2.3: the kubeconfig file that tells kubectl (and our own clients) where the API
// server is, which CA to trust and which credentials to present — written and read as YAML.
import { chmod, mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { dirname, isAbsolute, resolve } from "node:path";
import { parse, stringify } from "yaml";

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

/** The current context's connection facts, every file reference already read. */
export interface ClientConfig {
  server: string;
  caPem?: string;
  clientCertPem?: string;
  clientKeyPem?: string;
  token?: string;
  insecureSkipTlsVerify: boolean;
  namespace: string;
  context: string;
  cluster: string;
  user: string;
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

type Named = { name?: unknown; [k: string]: unknown };

function findNamed(doc: Record<string, unknown>, listKey: string, itemKey: string, name: string, where: string): Record<string, unknown> {
  const list = doc[listKey];
  if (list !== undefined && list !== null && !Array.isArray(list)) throw new Error(`${where}: "${listKey}" must be a list`);
  const entry = ((list as Named[] | null | undefined) ?? []).find((e) => e && e.name === name);
  if (!entry) throw new Error(`${where}: no ${itemKey} named ${JSON.stringify(name)}`);
  const body = entry[itemKey];
  if (typeof body !== "object" || body === null) throw new Error(`${where}: ${itemKey} ${JSON.stringify(name)} has no "${itemKey}" section`);
  return body as Record<string, unknown>;
}

function str(v: unknown): string | undefined {
  return typeof v === "string" && v !== "" ? v : undefined;
}

/** `<key>-data` (base64) wins over `<key>` (a file, relative to the kubeconfig's folder), as in kubectl. */
async function dataOrFile(section: Record<string, unknown>, key: string, base: string, where: string): Promise<string | undefined> {
  const data = str(section[`${key}-data`]);
  if (data !== undefined) return Buffer.from(data, "base64").toString("utf8");
  const file = str(section[key]);
  if (file === undefined) return undefined;
  const full = isAbsolute(file) ? file : resolve(base, file);
  try {
    return await readFile(full, "utf8");
  } catch (err) {
    throw new Error(`${where}: cannot read ${key} ${full}: ${(err as Error).message}`);
  }
}

/**
 * Reads a kubeconfig and returns its current context (or `opts.context`), resolving embedded data
 * and file references. Throws an Error naming the file and the missing piece when it is incomplete.
 */
export async function readKubeconfig(path: string, opts: { context?: string } = {}): Promise<ClientConfig> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (err) {
    throw new Error(`cannot read kubeconfig ${path}: ${(err as Error).message}`);
  }
  let doc: unknown;
  try {
    doc = parse(text);
  } catch (err) {
    throw new Error(`kubeconfig ${path} is not valid YAML: ${(err as Error).message}`);
  }
  if (typeof doc !== "object" || doc === null || Array.isArray(doc)) throw new Error(`kubeconfig ${path} is not a YAML mapping`);
  const d = doc as Record<string, unknown>;
  const where = `kubeconfig ${path}`;
  const contextName = opts.context ?? str(d["current-context"]);
  if (contextName === undefined) throw new Error(`${where}: no current-context is set`);
  const context = findNamed(d, "contexts", "context", contextName, where);
  const clusterName = str(context.cluster);
  if (clusterName === undefined) throw new Error(`${where}: context ${JSON.stringify(contextName)} names no cluster`);
  const cluster = findNamed(d, "clusters", "cluster", clusterName, where);
  const server = str(cluster.server);
  if (server === undefined) throw new Error(`${where}: cluster ${JSON.stringify(clusterName)} has no server`);
  const userName = str(context.user) ?? "";
  const user = userName === "" ? {} : findNamed(d, "users", "user", userName, where);
  const base = dirname(resolve(path));
  const config: ClientConfig = {
    server,
    insecureSkipTlsVerify: cluster["insecure-skip-tls-verify"] === true,
    namespace: str(context.namespace) ?? "default",
    context: contextName,
    cluster: clusterName,
    user: userName,
  };
  const caPem = await dataOrFile(cluster, "certificate-authority", base, where);
  if (caPem !== undefined) config.caPem = caPem;
  const clientCertPem = await dataOrFile(user, "client-certificate", base, where);
  if (clientCertPem !== undefined) config.clientCertPem = clientCertPem;
  const clientKeyPem = await dataOrFile(user, "client-key", base, where);
  if (clientKeyPem !== undefined) config.clientKeyPem = clientKeyPem;
  let token = str(user.token);
  const tokenFile = str(user.tokenFile);
  if (token === undefined && tokenFile !== undefined) {
    const full = isAbsolute(tokenFile) ? tokenFile : resolve(base, tokenFile);
    try {
      token = (await readFile(full, "utf8")).trim();
    } catch (err) {
      throw new Error(`${where}: cannot read tokenFile ${full}: ${(err as Error).message}`);
    }
  }
  if (token !== undefined) config.token = token;
  return config;
}
