// Book 2.3 and 14.1: loading a kubeconfig as kubectl and client-go do: KUBECONFIG may list several
// files (first definition of a name wins), the current context picks a cluster and a user, and
// certificates, keys and tokens come inline (`*-data`) or from files relative to the kubeconfig.
import { readFileSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { homedir } from "node:os";
import { delimiter, dirname, isAbsolute, join, resolve } from "node:path";
import { parse } from "yaml";

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

export interface LoadKubeconfigOptions {
  /** A kubeconfig path (a `--kubeconfig` flag); otherwise $KUBECONFIG, otherwise ~/.kube/config. */
  path?: string;
  /** A context other than current-context (a `--context` flag). */
  context?: string;
  env?: NodeJS.ProcessEnv;
}

type Section = Record<string, unknown>;

/** One named entry (cluster, user or context) and the folder its file references are relative to. */
interface Entry {
  body: Section;
  base: string;
  file: string;
}

interface Merged {
  clusters: Map<string, Entry>;
  users: Map<string, Entry>;
  contexts: Map<string, Entry>;
  currentContext?: string;
  files: string[];
}

function str(v: unknown): string | undefined {
  return typeof v === "string" && v !== "" ? v : undefined;
}

function parseDoc(path: string, text: string): Section {
  let doc: unknown;
  try {
    doc = parse(text);
  } catch (err) {
    throw new Error(`kubeconfig ${path} is not valid YAML: ${(err as Error).message}`);
  }
  if (doc === null || doc === undefined) return {};
  if (typeof doc !== "object" || Array.isArray(doc)) throw new Error(`kubeconfig ${path} is not a YAML mapping`);
  return doc as Section;
}

function mergeInto(m: Merged, path: string, doc: Section): void {
  const base = dirname(resolve(path));
  const take = (listKey: string, itemKey: string, into: Map<string, Entry>) => {
    const list = doc[listKey];
    if (list === undefined || list === null) return;
    if (!Array.isArray(list)) throw new Error(`kubeconfig ${path}: "${listKey}" must be a list`);
    for (const e of list as Section[]) {
      const name = str(e?.name);
      if (name === undefined || into.has(name)) continue;
      const body = e[itemKey];
      into.set(name, { body: typeof body === "object" && body !== null ? (body as Section) : {}, base, file: path });
    }
  };
  take("clusters", "cluster", m.clusters);
  take("users", "user", m.users);
  take("contexts", "context", m.contexts);
  if (m.currentContext === undefined) m.currentContext = str(doc["current-context"]);
  m.files.push(path);
}

/** The kubeconfig paths in effect: the explicit one, else each of $KUBECONFIG, else ~/.kube/config. */
export function kubeconfigPaths(opts: LoadKubeconfigOptions = {}): string[] {
  if (opts.path) return [opts.path];
  const env = opts.env ?? process.env;
  const list = (env.KUBECONFIG ?? "").split(delimiter).filter((p) => p !== "");
  if (list.length > 0) return list;
  return [join(env.HOME ?? homedir(), ".kube", "config")];
}

async function dataOrFile(section: Section, key: string, base: string, where: string): Promise<string | undefined> {
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
 * Loads the kubeconfig (merging $KUBECONFIG's files) and resolves one context into a ClientConfig.
 * Errors name the file and the missing piece, so a user knows what to fix.
 */
export async function loadKubeconfig(opts: LoadKubeconfigOptions = {}): Promise<ClientConfig> {
  const paths = kubeconfigPaths(opts);
  const m: Merged = { clusters: new Map(), users: new Map(), contexts: new Map(), files: [] };
  const explicit = opts.path !== undefined || paths.length === 1;
  for (const path of paths) {
    let text: string;
    try {
      text = await readFile(path, "utf8");
    } catch (err) {
      // Like kubectl, a missing file in a KUBECONFIG list is skipped; a named one is an error.
      if (explicit) throw new Error(`cannot read kubeconfig ${path}: ${(err as Error).message}`);
      continue;
    }
    mergeInto(m, path, parseDoc(path, text));
  }
  const where = `kubeconfig ${m.files.join(delimiter) || paths.join(delimiter)}`;
  const contextName = opts.context ?? m.currentContext;
  if (contextName === undefined) throw new Error(`${where}: no current-context is set (pass a context)`);
  const context = m.contexts.get(contextName);
  if (!context) throw new Error(`${where}: no context named ${JSON.stringify(contextName)}`);
  const clusterName = str(context.body.cluster);
  if (clusterName === undefined) throw new Error(`${where}: context ${JSON.stringify(contextName)} names no cluster`);
  const cluster = m.clusters.get(clusterName);
  if (!cluster) throw new Error(`${where}: no cluster named ${JSON.stringify(clusterName)}`);
  const server = str(cluster.body.server);
  if (server === undefined) throw new Error(`${where}: cluster ${JSON.stringify(clusterName)} has no server`);
  const userName = str(context.body.user) ?? "";
  const user = userName === "" ? undefined : m.users.get(userName);
  if (userName !== "" && !user) throw new Error(`${where}: no user named ${JSON.stringify(userName)}`);
  const config: ClientConfig = {
    server: server.replace(/\/+$/, ""),
    insecureSkipTlsVerify: cluster.body["insecure-skip-tls-verify"] === true,
    namespace: str(context.body.namespace) ?? "default",
    context: contextName,
    cluster: clusterName,
    user: userName,
  };
  const caPem = await dataOrFile(cluster.body, "certificate-authority", cluster.base, where);
  if (caPem !== undefined) config.caPem = caPem;
  if (user) {
    const clientCertPem = await dataOrFile(user.body, "client-certificate", user.base, where);
    if (clientCertPem !== undefined) config.clientCertPem = clientCertPem;
    const clientKeyPem = await dataOrFile(user.body, "client-key", user.base, where);
    if (clientKeyPem !== undefined) config.clientKeyPem = clientKeyPem;
    if ((clientCertPem === undefined) !== (clientKeyPem === undefined)) {
      throw new Error(`${where}: user ${JSON.stringify(userName)} has a client certificate or key without the other`);
    }
    let token = str(user.body.token);
    const tokenFile = str(user.body.tokenFile);
    if (token === undefined && tokenFile !== undefined) {
      const full = isAbsolute(tokenFile) ? tokenFile : resolve(user.base, tokenFile);
      try {
        token = (await readFile(full, "utf8")).trim();
      } catch (err) {
        throw new Error(`${where}: cannot read tokenFile ${full}: ${(err as Error).message}`);
      }
    }
    if (token !== undefined) config.token = token;
  }
  return config;
}

const SA_DIR = "/var/run/secrets/kubernetes.io/serviceaccount";

/** The in-cluster config a pod gets: the kubernetes Service's env vars and its service account token. */
export function inClusterConfig(env: NodeJS.ProcessEnv = process.env, dir = SA_DIR): ClientConfig {
  const host = env.KUBERNETES_SERVICE_HOST;
  const port = env.KUBERNETES_SERVICE_PORT;
  if (!host || !port) throw new Error("not running in a pod: KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT are unset");
  const read = (f: string) => readFileSync(join(dir, f), "utf8");
  const hostPart = host.includes(":") ? `[${host}]` : host;
  return {
    server: `https://${hostPart}:${port}`,
    caPem: read("ca.crt"),
    token: read("token").trim(),
    insecureSkipTlsVerify: false,
    namespace: (() => {
      try {
        return read("namespace").trim() || "default";
      } catch {
        return "default";
      }
    })(),
    context: "in-cluster",
    cluster: "in-cluster",
    user: "in-cluster",
  };
}
