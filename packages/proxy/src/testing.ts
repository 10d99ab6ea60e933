// Book 10.1: small builders of Services and EndpointSlices for the proxy's tests and benchmark.
import { LABEL_SERVICE_NAME, type ProxyEndpointSlice, type ProxyService, type ProxySliceEndpoint, type ProxySlicePort } from "./types.js";

type Spec = NonNullable<ProxyService["spec"]>;

export function service(ns: string, name: string, spec: Spec): ProxyService {
  return { apiVersion: "v1", kind: "Service", metadata: { namespace: ns, name }, spec };
}

export function slice(ns: string, svc: string, name: string, ports: ProxySlicePort[], endpoints: ProxySliceEndpoint[]): ProxyEndpointSlice {
  return {
    apiVersion: "discovery.k8s.io/v1",
    kind: "EndpointSlice",
    metadata: { namespace: ns, name, labels: { [LABEL_SERVICE_NAME]: svc } },
    addressType: "IPv4",
    ports,
    endpoints,
  };
}

export function endpoint(ip: string, nodeName = "node-a", ready = true): ProxySliceEndpoint {
  return { addresses: [ip], nodeName, conditions: { ready, serving: ready, terminating: false } };
}
