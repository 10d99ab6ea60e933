// Book 5.2 and 10.3: how `corekube up` makes its DNS server reachable as a Service: kube-system/kube-dns
// with the ClusterIP every pod's resolv.conf names, and (no selector: the server is a process on the node,
// not a pod) an EndpointSlice pointing at the node's IP, which kube-proxy's rules DNAT to.
import { ENDPOINT_SLICES, type RestClient, SERVICES } from "@corekube/client";

/** The ClusterIP pods use as their nameserver (kubelet --cluster-dns): the tenth of 10.96.0.0/12, as kubeadm picks. */
export const CLUSTER_DNS_IP = "10.96.0.10";
/** The node port `corekube dns` listens on (UDP and TCP); the Service maps port 53 to it. */
export const CLUSTER_DNS_PORT = 10053;
const SLICE_NAME = "kube-dns-node";

function isNotFound(e: unknown): boolean {
  return (e as { status?: { code?: number } }).status?.code === 404;
}

function isConflict(e: unknown): boolean {
  return (e as { status?: { code?: number } }).status?.code === 409;
}

/**
 * Creates (or brings up to date) the kube-dns Service and its hand-made EndpointSlice. Idempotent; a
 * different node IP after a restart replaces the slice's address.
 */
export async function ensureClusterDnsService(client: RestClient, nodeIP: string): Promise<void> {
  const services = client.resource(SERVICES);
  const service = {
    apiVersion: "v1",
    kind: "Service",
    metadata: { name: "kube-dns", namespace: "kube-system", labels: { "k8s-app": "kube-dns", "kubernetes.io/name": "CoreDNS" } },
    spec: {
      clusterIP: CLUSTER_DNS_IP,
      ports: [
        { name: "dns", port: 53, protocol: "UDP", targetPort: CLUSTER_DNS_PORT },
        { name: "dns-tcp", port: 53, protocol: "TCP", targetPort: CLUSTER_DNS_PORT },
      ],
    },
  };
  // Looked up first: creating it again would fail on its fixed ClusterIP (422), not on its name.
  const existing = await services.get("kube-dns", "kube-system").catch((e) => (isNotFound(e) ? undefined : Promise.reject(e)));
  if (!existing) await services.create(service as never, { namespace: "kube-system" }).catch((e) => (isConflict(e) ? undefined : Promise.reject(e)));
  const slices = client.resource(ENDPOINT_SLICES);
  const slice = {
    apiVersion: "discovery.k8s.io/v1",
    kind: "EndpointSlice",
    metadata: {
      name: SLICE_NAME,
      namespace: "kube-system",
      labels: { "kubernetes.io/service-name": "kube-dns", "endpointslice.kubernetes.io/managed-by": "corekube-up" },
    },
    addressType: "IPv4",
    endpoints: [{ addresses: [nodeIP], conditions: { ready: true, serving: true, terminating: false } }],
    ports: [
      { name: "dns", port: CLUSTER_DNS_PORT, protocol: "UDP" },
      { name: "dns-tcp", port: CLUSTER_DNS_PORT, protocol: "TCP" },
    ],
  };
  try {
    await slices.create(slice as never, { namespace: "kube-system" });
  } catch (e) {
    if (!isConflict(e)) throw e;
    const cur = (await slices.get(SLICE_NAME, "kube-system")) as { metadata: { resourceVersion?: string } };
    await slices.update({ ...slice, metadata: { ...slice.metadata, resourceVersion: cur.metadata.resourceVersion } } as never, { namespace: "kube-system" });
  }
}
