// Book 1.6.1 and 11.2: assembling `corekube apiserver` — storage, the resource registry (built-ins and
// CRDs), admission, certificates and the admin kubeconfig, the HTTPS server, and the objects every
// cluster starts with (the system namespaces and the `kubernetes` Service).
import "reflect-metadata";
import { readFile } from "node:fs/promises";
import { hostname } from "node:os";
import { join } from "node:path";
import type { FastifyInstance } from "fastify";
import { isAlreadyExists, isNotFound, notFound, type PriorityClass, type ResourceQuota } from "@corekube/api";
import { prefixEnd } from "@corekube/kv/client/index";
import { clientCertAuthenticator } from "../auth/x509.js";
import { loadTokenFile } from "../auth/tokenfile.js";
import { unionAuthenticator, type Authenticator } from "../auth/authenticator.js";
import { serviceAccountAuthenticator, ServiceAccountTokens, type BoundObjectGetter } from "../auth/serviceaccount.js";
import { lookup } from "./token-request.js";
import { loadServiceAccountKeys } from "../pki/service-account-key.js";
import { serviceAccountAdmission, type ServiceAccountLookup } from "../admission/service-account.js";
import { AlwaysAllowAuthenticated } from "../auth/authorizer.js";
import { customResourceDefinitionsDef, crdSchemas, crdToResourceDefs, type CustomResourceDefinition } from "../crd/index.js";
import { builtinResources } from "../kinds/index.js";
import { validateObjectMeta, validateObjectMetaUpdate } from "../kinds/meta.js";
import { buildOpenApiV3 } from "../openapi/index.js";
import { updateManagedFields } from "../patch/apply/index.js";
import { ensurePki, firstServiceIP, ADMIN_USER } from "../pki/pki.js";
import { writeKubeconfig } from "../pki/kubeconfig.js";
import { AdmissionChain } from "../registry/admission.js";
import { resourcePrefix } from "../registry/keys.js";
import type { StoreHooks } from "../registry/store.js";
import type { KubeObject, RequestContext, ResourceDef } from "../registry/types.js";
import { builtinSchemas, createResolver } from "../schema/index.js";
import { EtcdStorage } from "../storage/etcd.js";
import type { CacheWatcher } from "../cacher/watch-cache.js";
import { namespaceLifecycle } from "../admission/namespace-lifecycle.js";
import { priority, type PriorityClassLookup } from "../admission/priority.js";
import { limitRanger, type LimitRange, type LimitRangeLookup } from "../admission/limit-ranger.js";
import { resourceQuota, type QuotaAccess } from "../admission/resource-quota.js";
import { ServiceAllocator, parseCidr, parsePortRange } from "../admission/service-ips.js";
import { ApiRegistry } from "./api-registry.js";
import { createApp, type HealthCheck, type OpenApiProvider } from "./app.js";
import { Metrics } from "./metrics.js";
import { podProxy } from "./pod-proxy.js";

export interface ApiServerOptions {
  etcdServers: string[];
  stateDir: string;
  securePort: number;
  bindAddress: string;
  serviceClusterIpRange: string;
  serviceNodePortRange: string;
  tlsCertFile?: string;
  tlsPrivateKeyFile?: string;
  clientCaFile?: string;
  tokenAuthFile?: string;
  /** --service-account-issuer: iss of new tokens; later entries are still accepted (default https://kubernetes.default.svc.cluster.local). */
  serviceAccountIssuer?: string | string[];
  /** --service-account-key-file: PEM files whose keys also verify tokens (e.g. an old signing key's public half). */
  serviceAccountKeyFiles?: string[];
  /** --service-account-signing-key-file: the private key that signs tokens (default <state-dir>/pki/sa.key, made when missing). */
  serviceAccountSigningKeyFile?: string;
  /** --api-audiences: what a token's aud must include to authenticate here (default: the issuer). */
  apiAudiences?: string[];
  /** Address other components use for this server (default: bindAddress, or 127.0.0.1 for 0.0.0.0). */
  advertiseAddress?: string;
  /** Serve plain HTTP without authentication (tests only). */
  insecureHttp?: boolean;
  /** Kubelet connections: scheme (tests use a plain-HTTP stand-in). */
  kubeletScheme?: "https" | "http";
  /** How often to compact storage (default 5 minutes; 0 = never). */
  compactionIntervalMs?: number;
  log?: (msg: string) => void;
}

export interface RunningApiServer {
  url: string;
  port: number;
  registry: ApiRegistry;
  storage: EtcdStorage;
  app: FastifyInstance;
  kubeconfigPath?: string;
  close(): Promise<void>;
}

const SYSTEM_NAMESPACES = ["default", "kube-system", "kube-public", "kube-node-lease"];
const CRD_CLEANUP_FINALIZER = "customresourcecleanup.apiextensions.k8s.io";

function systemContext(): RequestContext {
  return { user: { username: "system:apiserver", groups: ["system:masters"] }, namespace: "", now: new Date(), dryRun: false, warnings: [] };
}

export async function startApiServer(o: ApiServerOptions): Promise<RunningApiServer> {
  const log = o.log ?? ((m: string) => console.error(m));
  const cidr = parseCidr(o.serviceClusterIpRange);
  const nodePorts = parsePortRange(o.serviceNodePortRange);
  const storage = new EtcdStorage(o.etcdServers);
  const advertise = o.advertiseAddress ?? (o.bindAddress === "0.0.0.0" || o.bindAddress === "::" ? "127.0.0.1" : o.bindAddress);

  // --- TLS material and the admin kubeconfig
  let https: { key: string; cert: string; ca?: string } | undefined;
  let kubeletTls: { ca?: string; cert?: string; key?: string } = {};
  let kubeconfigPath: string | undefined;
  let adminKubeconfig: Parameters<typeof writeKubeconfig>[1] | undefined;
  if (!o.insecureHttp) {
    const pki = await ensurePki(join(o.stateDir, "pki"), { hosts: [advertise, hostname()], serviceCIDR: o.serviceClusterIpRange });
    const cert = o.tlsCertFile ? await readFile(o.tlsCertFile, "utf8") : pki.apiserver.certPem;
    const key = o.tlsPrivateKeyFile ? await readFile(o.tlsPrivateKeyFile, "utf8") : pki.apiserver.keyPem;
    const ca = o.clientCaFile ? await readFile(o.clientCaFile, "utf8") : pki.ca.certPem;
    https = { cert, key, ca };
    kubeletTls = { ca: pki.ca.certPem, cert: pki.kubeletClient.certPem, key: pki.kubeletClient.keyPem };
    kubeconfigPath = join(o.stateDir, "admin.kubeconfig");
    adminKubeconfig = {
      server: `https://${advertise.includes(":") ? `[${advertise}]` : advertise}:${o.securePort}`,
      caPem: o.tlsCertFile ? (o.clientCaFile ? ca : pki.ca.certPem) : pki.ca.certPem,
      clientCertPem: pki.admin.certPem,
      clientKeyPem: pki.admin.keyPem,
      user: ADMIN_USER,
      cluster: "corekube",
      context: "corekube",
    };
  }

  // --- authentication
  const authenticators: Authenticator[] = [];
  if (!o.insecureHttp) authenticators.push(clientCertAuthenticator());
  if (o.tokenAuthFile) {
    const t = await loadTokenFile(o.tokenAuthFile);
    for (const w of t.warnings) log(`apiserver: ${w}`);
    authenticators.push(t.authenticator);
  }
  // Service account tokens: signed with sa.key (next to the CA) unless a key file is named.
  const saKeys = await loadServiceAccountKeys({
    dir: join(o.stateDir, "pki"),
    signingKeyFile: o.serviceAccountSigningKeyFile,
    keyFiles: o.serviceAccountKeyFiles,
  });
  const issuers = (Array.isArray(o.serviceAccountIssuer) ? o.serviceAccountIssuer : o.serviceAccountIssuer ? [o.serviceAccountIssuer] : []).filter((i) => i !== "");
  const serviceAccountTokens = new ServiceAccountTokens({
    issuer: issuers[0],
    acceptedIssuers: issuers.slice(1),
    apiAudiences: o.apiAudiences,
    signingKey: saKeys.signingKey,
    publicKeys: saKeys.publicKeys,
  });
  // A token is only as good as the objects it names: read them from storage, so a deletion
  // revokes it at once.
  const boundObjects: BoundObjectGetter = { get: (resource, namespace, name) => lookup(registry, resource, namespace, name) };
  if (!o.insecureHttp) authenticators.push(serviceAccountAuthenticator(serviceAccountTokens, boundObjects));
  const authenticator: Authenticator = o.insecureHttp
    ? { authenticate: async () => ({ username: "system:admin", groups: ["system:masters", "system:authenticated"] }) }
    : unionAuthenticator(...authenticators);

  // --- registry, admission, stores
  const allocator = new ServiceAllocator(storage, cidr, nodePorts);
  let registry!: ApiRegistry;
  const nsLookup = {
    async get(name: string): Promise<KubeObject | undefined> {
      const store = registry.get("", "v1", "namespaces")!;
      const cached = store.peek("", name);
      if (cached) return cached;
      try {
        return await store.get("", name);
      } catch (e) {
        if (isNotFound(e)) return undefined;
        throw e;
      }
    },
  };
  // The ServiceAccount plugin reads from the watch cache, then storage for one it has not seen yet.
  const saLookup: ServiceAccountLookup = {
    async get(namespace, name) {
      const store = registry.get("", "v1", "serviceaccounts")!;
      const cached = store.peek(namespace, name);
      if (cached) return cached;
      try {
        return await store.get(namespace, name);
      } catch (e) {
        if (isNotFound(e)) return undefined;
        throw e;
      }
    },
  };
  // The Priority plugin reads PriorityClasses as upstream's lister does: from the watch cache.
  const pcStore = () => registry.get("scheduling.k8s.io", "v1", "priorityclasses")!;
  const pcLookup: PriorityClassLookup = {
    async get(name) {
      const store = pcStore();
      const cached = store.peek("", name);
      if (cached) return cached as PriorityClass;
      try {
        return (await store.get("", name)) as PriorityClass;
      } catch (e) {
        if (isNotFound(e)) return undefined;
        throw e;
      }
    },
    async list() {
      return (await pcStore().list("", { resourceVersion: "0" })).items as PriorityClass[];
    },
  };
  const crdCleanup = {
    name: "CustomResourceCleanup",
    afterDelete: async (def: ResourceDef, obj: KubeObject) => {
      if (def.group === "apiextensions.k8s.io" && def.resource === "customresourcedefinitions") await deleteCustomResources(obj);
    },
  };
  // LimitRanger and ResourceQuota read their objects from the watch cache too; a quota's charge is
  // a status write through the store, retried on conflicts.
  const lrLookup: LimitRangeLookup = {
    async list(namespace) {
      return (await registry.get("", "v1", "limitranges")!.list(namespace, { resourceVersion: "0" })).items as LimitRange[];
    },
  };
  const quotaStore = () => registry.get("", "v1", "resourcequotas")!;
  const quotaAccess: QuotaAccess = {
    async list(namespace) {
      return (await quotaStore().list(namespace, { resourceVersion: "0" })).items as ResourceQuota[];
    },
    async updateStatus(namespace, name, change) {
      try {
        await quotaStore().update(
          systemContext(),
          namespace,
          name,
          (cur) => {
            if (!cur) throw notFound("resourcequotas", name);
            return change(cur as ResourceQuota);
          },
          { subresource: "status", manager: false },
        );
        return true;
      } catch (e) {
        if (isNotFound(e)) return false;
        throw e;
      }
    },
  };
  const admission = new AdmissionChain([
    namespaceLifecycle(nsLookup),
    limitRanger(lrLookup),
    serviceAccountAdmission(saLookup),
    priority(pcLookup),
    resourceQuota(quotaAccess),
    allocator.plugin(),
    crdCleanup,
  ]);
  const hooks: StoreHooks = {
    validateMeta: (obj, def, create) => validateObjectMeta(obj, def, { create }),
    validateMetaUpdate: (obj, old) => validateObjectMetaUpdate(obj, old),
    managedFields: (old, updated, manager, def, ctx, subresource) => {
      const schema = def.schemaName ? registry.resolver.get(def.schemaName) : undefined;
      return updateManagedFields({
        old,
        updated,
        manager,
        operation: "Update",
        schema,
        resolver: registry.resolver,
        apiVersion: def.group ? `${def.group}/${def.version}` : def.version,
        now: ctx.now,
        subresource: subresource || undefined,
      });
    },
  };
  registry = new ApiRegistry({
    storage,
    admission,
    hooks,
    builtinSchemas: builtinSchemas(),
    createResolver,
    onError: (e) => log(`apiserver: watch cache: ${(e as Error).message ?? String(e)}`),
  });
  for (const def of builtinResources()) registry.add(def);
  const crdStore = registry.add(customResourceDefinitionsDef);

  /** Deletes every custom object of a CRD (its finalizer's work), from storage in one range delete. */
  async function deleteCustomResources(crd: KubeObject): Promise<void> {
    const spec = crd.spec as { group: string; names: { plural: string } };
    const prefix = resourcePrefix({ group: spec.group, resource: spec.names.plural });
    await storage.client.deleteRange({ key: prefix, rangeEnd: prefixEnd(prefix) });
  }

  // --- OpenAPI, rebuilt lazily when the registry changes
  let openapiGen = -1;
  let openapi: ReturnType<typeof buildOpenApiV3> | undefined;
  const openapiProvider = (): OpenApiProvider => {
    if (!openapi || openapiGen !== registry.generation) {
      openapi = buildOpenApiV3(registry.all().map((s) => s.def), registry.resolver, openapi);
      openapiGen = registry.generation;
    }
    return openapi!;
  };

  // --- health
  let bootstrapped = false;
  const health: HealthCheck[] = [
    { name: "ping", check: async () => undefined },
    {
      name: "poststarthook/bootstrap-objects",
      check: async () => {
        if (!bootstrapped) throw new Error("the system namespaces and the kubernetes Service are not written yet");
      },
    },
    {
      name: "etcd",
      check: async () => {
        await Promise.race([storage.currentRevision(), new Promise((_, rej) => setTimeout(() => rej(new Error("etcd did not answer within 2s")), 2000).unref())]);
      },
    },
    {
      name: "informer-sync",
      check: async () => {
        const waiting = registry.all().filter((s) => !s.cache.ready).map((s) => s.def.resource);
        if (waiting.length) throw new Error(`caches not yet filled: ${waiting.slice(0, 5).join(", ")}`);
      },
    },
  ];

  const metrics = new Metrics();
  const app = await createApp({
    registry,
    authenticator,
    authorizer: AlwaysAllowAuthenticated,
    openapi: openapiProvider,
    health,
    metrics,
    podProxy: podProxy(registry, { ...kubeletTls, scheme: o.kubeletScheme ?? (o.insecureHttp ? "http" : "https") }),
    https,
    serverAddress: `${advertise}:${o.securePort}`,
    serviceAccountTokens,
  });

  // --- caches: every resource's watch cache fills before we serve.
  await Promise.all(registry.all().map((s) => s.start()));

  // --- CRDs become resources as soon as they exist.
  const crdWatcher: CacheWatcher = {
    filter: { keyPrefix: "" },
    push(ev) {
      const name = ev.obj.metadata.name ?? "";
      if (ev.type === "DELETED") {
        registry.removeCrd(name);
        return true;
      }
      try {
        registry.setCrd(name, crdToResourceDefs(ev.obj as unknown as CustomResourceDefinition), crdSchemas(ev.obj as unknown as CustomResourceDefinition));
        for (const s of registry.all()) if (s.def.crd === name) void s.start();
      } catch (e) {
        log(`apiserver: cannot serve CRD ${name}: ${(e as Error).message}`);
      }
      if (ev.obj.metadata.deletionTimestamp && ev.obj.metadata.finalizers?.includes(CRD_CLEANUP_FINALIZER)) void finalizeCrd(ev.obj);
      return true;
    },
    stop() {
      if (!stopping) setTimeout(() => void crdStore.watch(crdWatcher, undefined), 100);
    },
  };
  let stopping = false;
  await crdStore.watch(crdWatcher, undefined);

  async function finalizeCrd(crd: KubeObject): Promise<void> {
    try {
      await deleteCustomResources(crd);
      await crdStore.update(systemContext(), "", crd.metadata.name ?? "", (cur) => {
        if (!cur) return crd;
        cur.metadata.finalizers = (cur.metadata.finalizers ?? []).filter((f) => f !== CRD_CLEANUP_FINALIZER);
        return cur;
      }, { manager: false });
    } catch (e) {
      if (!isNotFound(e)) log(`apiserver: finalizing CRD ${crd.metadata.name}: ${(e as Error).message}`);
    }
  }


  // --- periodic compaction: keep about five minutes of history, like kube-apiserver.
  let lastRev = 0;
  const interval = o.compactionIntervalMs ?? 5 * 60_000;
  const compactor =
    interval > 0
      ? setInterval(() => {
          void (async () => {
            const rev = await storage.currentRevision();
            if (lastRev > 0) await storage.compact(lastRev);
            lastRev = rev;
          })().catch((e) => log(`apiserver: compaction: ${(e as Error).message}`));
        }, interval)
      : undefined;
  compactor?.unref();

  await app.listen({ port: o.securePort, host: o.bindAddress });
  const addr = app.server.address();
  const port = typeof addr === "object" && addr ? addr.port : o.securePort;
  // --- bootstrap objects (after listen: the kubernetes Service points at the real port).
  // /readyz stays failing until they exist.
  await bootstrap(registry, firstServiceIP(o.serviceClusterIpRange), advertise, port, log);
  const url = `${https ? "https" : "http"}://${advertise.includes(":") ? `[${advertise}]` : advertise}:${port}`;
  // The admin kubeconfig exists before /readyz says yes, so whoever waited for ready can use it.
  if (adminKubeconfig && kubeconfigPath) await writeKubeconfig(kubeconfigPath, { ...adminKubeconfig, server: url });
  bootstrapped = true;

  return {
    url,
    port,
    registry,
    storage,
    app,
    kubeconfigPath,
    async close() {
      stopping = true;
      if (compactor) clearInterval(compactor);
      await app.close();
      await registry.stop();
      await storage.close();
    },
  };
}

async function ensureObject(registry: ApiRegistry, group: string, version: string, resource: string, obj: KubeObject): Promise<void> {
  const store = registry.get(group, version, resource);
  if (!store) return;
  try {
    await store.create(systemContext(), obj, { fieldManager: "kube-apiserver" });
  } catch (e) {
    if (!isAlreadyExists(e)) throw e;
  }
}

/** The objects every cluster has: system namespaces and the `kubernetes` Service with its endpoints. */
async function bootstrap(registry: ApiRegistry, ip: string, advertise: string, port: number, log: (m: string) => void) {
  for (const name of SYSTEM_NAMESPACES) await ensureObject(registry, "", "v1", "namespaces", { apiVersion: "v1", kind: "Namespace", metadata: { name } });
  // The two priority classes every cluster has, for pods that must not be evicted first.
  for (const [name, value, description] of [
    ["system-node-critical", 2000001000, "Used for pods that a node cannot work without."],
    ["system-cluster-critical", 2000000000, "Used for pods the cluster cannot work without."],
  ] as const)
    await ensureObject(registry, "scheduling.k8s.io", "v1", "priorityclasses", {
      apiVersion: "scheduling.k8s.io/v1",
      kind: "PriorityClass",
      metadata: { name },
      value,
      description,
      preemptionPolicy: "PreemptLowerPriority",
    }).catch((e) => log(`apiserver: creating PriorityClass ${name}: ${(e as Error).message}`));
  const svcStore = registry.get("", "v1", "services");
  const existing = svcStore ? await svcStore.get("default", "kubernetes").catch(() => undefined) : undefined;
  if (!existing) {
    await ensureObject(registry, "", "v1", "services", {
      apiVersion: "v1",
      kind: "Service",
      metadata: { name: "kubernetes", namespace: "default", labels: { component: "apiserver", provider: "kubernetes" } },
      spec: { type: "ClusterIP", clusterIP: ip, ports: [{ name: "https", port: 443, protocol: "TCP", targetPort: port }], sessionAffinity: "None" },
    }).catch((e) => log(`apiserver: creating the kubernetes Service: ${(e as Error).message}`));
  }
  const endpointsStore = registry.get("", "v1", "endpoints");
  if (endpointsStore) {
    const want = {
      apiVersion: "v1",
      kind: "Endpoints",
      metadata: { name: "kubernetes", namespace: "default", labels: { "endpointslice.kubernetes.io/skip-mirror": "true" } },
      subsets: [{ addresses: [{ ip: advertise }], ports: [{ name: "https", port, protocol: "TCP" }] }],
    };
    await endpointsStore
      .update(systemContext(), "default", "kubernetes", (cur) => (cur ? { ...cur, subsets: want.subsets } : (want as KubeObject)), { createIfMissing: true, fieldManager: "kube-apiserver" })
      .catch((e) => log(`apiserver: writing the kubernetes Endpoints: ${(e as Error).message}`));
  }
  const slices = registry.get("discovery.k8s.io", "v1", "endpointslices");
  if (slices) {
    const want: KubeObject = {
      apiVersion: "discovery.k8s.io/v1",
      kind: "EndpointSlice",
      metadata: { name: "kubernetes", namespace: "default", labels: { "kubernetes.io/service-name": "kubernetes", "endpointslice.kubernetes.io/managed-by": "kube-apiserver" } },
      addressType: "IPv4",
      endpoints: [{ addresses: [advertise], conditions: { ready: true } }],
      ports: [{ name: "https", port, protocol: "TCP" }],
    };
    await slices
      .update(systemContext(), "default", "kubernetes", (cur) => (cur ? { ...cur, endpoints: want.endpoints, ports: want.ports } : want), { createIfMissing: true, fieldManager: "kube-apiserver" })
      .catch((e) => log(`apiserver: writing the kubernetes EndpointSlice: ${(e as Error).message}`));
  }
}
