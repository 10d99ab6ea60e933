// Book 5 and 6.3-6.4: networking.k8s.io NetworkPolicy, Ingress and IngressClass, and discovery.k8s.io
// EndpointSlice, the endpoints kube-proxy programs.
import type { Schema } from "./types.js";
import {
  arr,
  bool,
  CORE,
  dict,
  DISC,
  int32,
  INT_OR_STRING,
  listOf,
  META,
  METADATA_FIELD,
  NET,
  obj,
  ref,
  root,
  specField,
  statusField,
  str,
  strEnum,
} from "./dsl.js";

/** networking.k8s.io/v1 and discovery.k8s.io/v1 schemas, keyed by component name. */
export const networkingSchemas: Record<string, Schema> = {
  [DISC + "EndpointSlice"]: root(
    "discovery.k8s.io", "v1", "EndpointSlice",
    "A set of network endpoints behind a service.",
    {
      metadata: METADATA_FIELD,
      addressType: str("IPv4, IPv6 or FQDN."),
      endpoints: arr(ref(DISC + "Endpoint"), "The endpoints, at most 1000.", { list: "atomic" }),
      ports: arr(ref(DISC + "EndpointPort"), "The ports every endpoint exposes.", { list: "atomic" }),
    },
    { required: ["addressType"] },
  ),
  [NET + "NetworkPolicy"]: root(
    "networking.k8s.io", "v1", "NetworkPolicy",
    "Rules for which traffic may reach, and leave, selected pods.",
    {
      metadata: METADATA_FIELD,
      spec: specField(NET + "NetworkPolicySpec"),
    },
  ),
  [NET + "Ingress"]: root("networking.k8s.io", "v1", "Ingress", "HTTP routing from outside the cluster to services.", {
    metadata: METADATA_FIELD,
    spec: specField(NET + "IngressSpec"),
    status: statusField(NET + "IngressStatus"),
  }),
  [NET + "IngressClass"]: root(
    "networking.k8s.io", "v1", "IngressClass",
    "A class of ingress, handled by one controller.",
    {
      metadata: METADATA_FIELD,
      spec: specField(NET + "IngressClassSpec"),
    },
  ),
  [DISC + "Endpoint"]: obj("One endpoint in a slice.", {
    addresses: arr(str(), "The endpoint's addresses.", { list: "set" }),
    conditions: ref(DISC + "EndpointConditions", "Whether the endpoint is ready, serving or terminating."),
    hostname: str("The endpoint's host name."),
    targetRef: ref(CORE + "ObjectReference", "The object, usually a pod, behind the endpoint."),
    deprecatedTopology: dict(str(), "Topology labels from the v1beta1 API; deprecated."),
    nodeName: str("The node hosting the endpoint."),
    zone: str("The zone the endpoint is in."),
    hints: ref(DISC + "EndpointHints", "Topology-aware routing hints."),
  }, { required: ["addresses"] }),
  [DISC + "EndpointPort"]: obj("A port of the endpoints in a slice.", {
    name: str("The port's name, matching the service port's name."),
    protocol: strEnum("TCP, UDP or SCTP.", ["SCTP", "TCP", "UDP"]),
    port: int32("The port number."),
    appProtocol: str("The application protocol."),
  }, { "x-kubernetes-map-type": "atomic" }),
  [NET + "NetworkPolicySpec"]: obj("What a network policy allows.", {
    podSelector: ref(
      META + "LabelSelector",
      "The pods the policy applies to; empty selects all pods in the namespace.",
    ),
    ingress: arr(ref(NET + "NetworkPolicyIngressRule"), "Allowed incoming traffic.", { list: "atomic" }),
    egress: arr(ref(NET + "NetworkPolicyEgressRule"), "Allowed outgoing traffic.", { list: "atomic" }),
    policyTypes: arr(
      strEnum(undefined, ["Egress", "Ingress"]),
      "Ingress, Egress or both: which directions the policy isolates.",
      { list: "atomic" },
    ),
  }),
  [NET + "IngressSpec"]: obj("How an ingress routes traffic.", {
    ingressClassName: str("The IngressClass that handles this ingress."),
    defaultBackend: ref(NET + "IngressBackend", "Where requests that match no rule go."),
    tls: arr(ref(NET + "IngressTLS"), "TLS settings.", { list: "atomic" }),
    rules: arr(ref(NET + "IngressRule"), "Host and path rules.", { list: "atomic" }),
  }),
  [NET + "IngressStatus"]: obj("The observed state of an ingress.", {
    loadBalancer: ref(NET + "IngressLoadBalancerStatus", "The load balancer's addresses."),
  }),
  [NET + "IngressClassSpec"]: obj("The spec of an ingress class.", {
    controller: str("The controller that handles the class."),
    parameters: ref(NET + "IngressClassParametersReference", "A resource with extra settings for the controller."),
  }),
  [DISC + "EndpointConditions"]: obj("The state of an endpoint.", {
    ready: bool("Ready to receive traffic."),
    serving: bool("Able to serve traffic, even while terminating."),
    terminating: bool("Shutting down."),
  }),
  [DISC + "EndpointHints"]: obj("Topology-aware routing hints.", {
    forZones: arr(ref(DISC + "ForZone"), "Zones that should use this endpoint.", { list: "atomic" }),
    forNodes: arr(ref(DISC + "ForNode"), "Nodes that should use this endpoint.", { list: "atomic" }),
  }),
  [NET + "NetworkPolicyIngressRule"]: obj("Incoming traffic that is allowed.", {
    ports: arr(ref(NET + "NetworkPolicyPort"), "Allowed destination ports; all when empty.", { list: "atomic" }),
    from: arr(ref(NET + "NetworkPolicyPeer"), "Allowed sources; all when empty.", { list: "atomic" }),
  }),
  [NET + "NetworkPolicyEgressRule"]: obj("Outgoing traffic that is allowed.", {
    ports: arr(ref(NET + "NetworkPolicyPort"), "Allowed destination ports; all when empty.", { list: "atomic" }),
    to: arr(ref(NET + "NetworkPolicyPeer"), "Allowed destinations; all when empty.", { list: "atomic" }),
  }),
  [NET + "IngressBackend"]: obj("Where an ingress sends traffic.", {
    service: ref(NET + "IngressServiceBackend", "A service."),
    resource: ref(CORE + "TypedLocalObjectReference", "Another kind of object."),
  }),
  [NET + "IngressTLS"]: obj("TLS settings for some hosts.", {
    hosts: arr(str(), "Hosts the certificate covers.", { list: "atomic" }),
    secretName: str("The secret with the certificate and key."),
  }),
  [NET + "IngressRule"]: obj("Routing for one host.", {
    host: str("The host name; all hosts when empty."),
    http: ref(NET + "HTTPIngressRuleValue", "HTTP path rules."),
  }),
  [NET + "IngressLoadBalancerStatus"]: obj("An ingress's load balancer.", {
    ingress: arr(ref(NET + "IngressLoadBalancerIngress"), "Its addresses.", { list: "atomic" }),
  }),
  [NET + "IngressClassParametersReference"]: obj("A reference to the parameters of an ingress class.", {
    apiGroup: str("The resource's API group."),
    kind: str("The resource's kind."),
    name: str("The resource's name."),
    scope: str("Cluster or Namespace."),
    namespace: str("The resource's namespace, for scope Namespace."),
  }, { required: ["kind", "name"] }),
  [DISC + "ForZone"]: obj("A zone.", {
    name: str("The zone's name."),
  }, { required: ["name"] }),
  [DISC + "ForNode"]: obj("A node.", {
    name: str("The node's name."),
  }, { required: ["name"] }),
  [NET + "NetworkPolicyPort"]: obj("A port, or range of ports.", {
    protocol: strEnum("TCP, UDP or SCTP.", ["SCTP", "TCP", "UDP"]),
    port: ref(INT_OR_STRING, "The port, by number or name."),
    endPort: int32("The last port of a range starting at port."),
  }),
  [NET + "NetworkPolicyPeer"]: obj("A source or destination of traffic.", {
    podSelector: ref(META + "LabelSelector", "Pods, by label."),
    namespaceSelector: ref(META + "LabelSelector", "Namespaces, by label."),
    ipBlock: ref(NET + "IPBlock", "A CIDR range."),
  }),
  [NET + "IngressServiceBackend"]: obj("A service used as a backend.", {
    name: str("The service's name."),
    port: ref(NET + "ServiceBackendPort", "The service's port."),
  }, { required: ["name"] }),
  [NET + "HTTPIngressRuleValue"]: obj("HTTP path rules.", {
    paths: arr(ref(NET + "HTTPIngressPath"), "The paths.", { list: "atomic" }),
  }, { required: ["paths"] }),
  [NET + "IngressLoadBalancerIngress"]: obj("An address of an ingress's load balancer.", {
    ip: str("Its IP address."),
    hostname: str("Its DNS name."),
    ports: arr(ref(NET + "IngressPortStatus"), "The state of its ports.", { list: "atomic" }),
  }),
  [NET + "IPBlock"]: obj("A CIDR range, with holes.", {
    cidr: str("The range, e.g. 10.0.0.0/8."),
    except: arr(str(), "Ranges inside it that are excluded.", { list: "atomic" }),
  }, { required: ["cidr"] }),
  [NET + "ServiceBackendPort"]: obj("A service port, by name or number.", {
    name: str("The port's name."),
    number: int32("The port's number."),
  }, { "x-kubernetes-map-type": "atomic" }),
  [NET + "HTTPIngressPath"]: obj("A path and where it goes.", {
    path: str("The path to match."),
    pathType: str("Exact, Prefix or ImplementationSpecific."),
    backend: ref(NET + "IngressBackend", "Where matching requests go."),
  }, { required: ["pathType", "backend"] }),
  [NET + "IngressPortStatus"]: obj("The state of a load balancer port.", {
    port: int32("The port number."),
    protocol: strEnum("TCP, UDP or SCTP.", ["SCTP", "TCP", "UDP"]),
    error: str("The problem with the port, if any."),
  }, { required: ["port", "protocol"] }),
  [DISC + "EndpointSliceList"]: listOf("discovery.k8s.io", "v1", "EndpointSlice", DISC + "EndpointSlice"),
  [NET + "NetworkPolicyList"]: listOf("networking.k8s.io", "v1", "NetworkPolicy", NET + "NetworkPolicy"),
  [NET + "IngressList"]: listOf("networking.k8s.io", "v1", "Ingress", NET + "Ingress"),
  [NET + "IngressClassList"]: listOf("networking.k8s.io", "v1", "IngressClass", NET + "IngressClass"),
};
