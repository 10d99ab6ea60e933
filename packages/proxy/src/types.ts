// Book 5.2 and 10.1: the parts of Service and EndpointSlice (discovery.k8s.io/v1) that kube-proxy reads,
// typed here because @corekube/api only carries the objects its other users share.
import type { KubeObject } from "@corekube/api";

export interface ProxyServicePort {
  name?: string;
  protocol?: string;
  port: number;
  targetPort?: number | string;
  nodePort?: number;
}

export interface ProxyService extends KubeObject {
  spec?: {
    type?: "ClusterIP" | "NodePort" | "LoadBalancer" | "ExternalName" | string;
    clusterIP?: string;
    clusterIPs?: string[];
    ports?: ProxyServicePort[];
    selector?: Record<string, string>;
    sessionAffinity?: "None" | "ClientIP" | string;
    sessionAffinityConfig?: { clientIP?: { timeoutSeconds?: number } };
    externalTrafficPolicy?: "Cluster" | "Local" | string;
    internalTrafficPolicy?: "Cluster" | "Local" | string;
    externalIPs?: string[];
    loadBalancerSourceRanges?: string[];
  };
  status?: {
    /** Filled in by a load-balancer implementation (a cloud, MetalLB, or a person with kubectl). */
    loadBalancer?: { ingress?: { ip?: string; hostname?: string; ipMode?: "VIP" | "Proxy" | string }[] };
  };
}

export interface ProxySliceEndpoint {
  addresses: string[];
  conditions?: { ready?: boolean; serving?: boolean; terminating?: boolean };
  nodeName?: string;
}

export interface ProxySlicePort {
  name?: string;
  port?: number;
  protocol?: string;
}

export interface ProxyEndpointSlice extends KubeObject {
  addressType?: "IPv4" | "IPv6" | "FQDN" | string;
  endpoints?: ProxySliceEndpoint[];
  ports?: ProxySlicePort[];
}

/** The label tying an EndpointSlice to its Service. */
export const LABEL_SERVICE_NAME = "kubernetes.io/service-name";
