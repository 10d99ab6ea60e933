// Book 11.2 (and 9.x): pods/log and pods/exec — the API server finds the pod's node and container,
// then proxies to that node's kubelet (HTTPS, authenticated with the API server's client cert).
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Duplex } from "node:stream";
import { badRequest } from "@corekube/api";
import { KUBELET_PORT } from "../kubelet/contract.js";
import { proxyPodExec, proxyPodLogs, type KubeletTarget } from "../kubelet/proxy.js";
import type { KubeObject } from "../registry/types.js";
import type { ApiRegistry } from "./api-registry.js";
import type { PodProxy } from "./app.js";
import type { ApiRequest } from "./resource-handlers.js";

interface Container {
  name: string;
}

/** The container a request means: ?container=, else the default-container annotation, else the first. */
export function chooseContainer(pod: KubeObject, asked: string | null, forExec: boolean): string {
  const spec = (pod.spec ?? {}) as { containers?: Container[]; initContainers?: Container[]; ephemeralContainers?: Container[] };
  const all = [...(spec.containers ?? []), ...(spec.initContainers ?? []), ...(spec.ephemeralContainers ?? [])];
  const name = pod.metadata.name ?? "";
  if (asked) {
    if (!all.some((c) => c.name === asked)) throw badRequest(`container ${asked} is not valid for pod ${name}`);
    return asked;
  }
  const annotated = pod.metadata.annotations?.["kubectl.kubernetes.io/default-container"];
  if (annotated && all.some((c) => c.name === annotated)) return annotated;
  const containers = spec.containers ?? [];
  if (containers.length === 1 || (forExec && containers.length > 0)) return containers[0]!.name;
  if (containers.length === 0) throw badRequest(`pod ${name} has no containers`);
  throw badRequest(`a container name must be specified for pod ${name}, choose one of: [${containers.map((c) => c.name).join(" ")}]`);
}

export interface KubeletClientCert {
  ca?: string;
  cert?: string;
  key?: string;
  /** "https" (default) or "http" (tests with a stand-in kubelet). */
  scheme?: "https" | "http";
}

export function kubeletTargetOf(node: KubeObject, tls: KubeletClientCert): KubeletTarget {
  const status = (node.status ?? {}) as {
    addresses?: { type: string; address: string }[];
    daemonEndpoints?: { kubeletEndpoint?: { Port?: number } };
  };
  const addrs = status.addresses ?? [];
  const addr = addrs.find((a) => a.type === "InternalIP") ?? addrs.find((a) => a.type === "ExternalIP") ?? addrs.find((a) => a.type === "Hostname");
  const name = node.metadata.name ?? "";
  if (!addr) throw badRequest(`node ${name} has no address in status.addresses, so its kubelet cannot be reached`);
  const port = status.daemonEndpoints?.kubeletEndpoint?.Port || KUBELET_PORT;
  const host = addr.address.includes(":") ? `[${addr.address}]` : addr.address;
  return { url: `${tls.scheme ?? "https"}://${host}:${port}`, ca: tls.ca, cert: tls.cert, key: tls.key, nodeName: name };
}

export function podProxy(registry: ApiRegistry, tls: KubeletClientCert): PodProxy {
  const locate = async (req: ApiRequest, forExec: boolean) => {
    const pods = registry.get("", "v1", "pods")!;
    const nodes = registry.get("", "v1", "nodes")!;
    const pod = await pods.get(req.info.namespace, req.info.name);
    const nodeName = (pod.spec as { nodeName?: string } | undefined)?.nodeName;
    if (!nodeName) throw badRequest(`pod ${req.info.name} does not have a host assigned`);
    const phase = (pod.status as { phase?: string } | undefined)?.phase;
    if (forExec && (phase === "Succeeded" || phase === "Failed"))
      throw badRequest(`cannot exec into a container in a completed pod; current phase is ${phase}`);
    const container = chooseContainer(pod, req.query.get("container"), forExec);
    const node = await nodes.get("", nodeName);
    return { target: kubeletTargetOf(node, tls), container };
  };
  return {
    async logs(req: ApiRequest, res: ServerResponse) {
      const { target, container } = await locate(req, false);
      await proxyPodLogs(target, req.info.namespace, req.info.name, container, req.query, res);
    },
    async exec(req: ApiRequest, raw: IncomingMessage, socket: Duplex, head: Buffer) {
      const { target, container } = await locate(req, true);
      await proxyPodExec(target, req.info.namespace, req.info.name, container, req.query, raw, socket, head);
    },
  };
}
