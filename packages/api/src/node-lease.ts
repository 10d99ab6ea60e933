// Book 9.3 (leases and locks): a node's heartbeat is a Lease named after it in kube-node-lease,
// renewed by its kubelet and owned by the Node, so it goes when the Node goes.
import type { Lease } from "./core-types.js";
import { rfc3339Micro } from "./core-types.js";

export const NODE_LEASE_NAMESPACE = "kube-node-lease";

/** The Lease a kubelet holds for `node`, renewed at `now`. */
export function buildNodeLease(node: { name: string; uid?: string }, durationSeconds: number, now: Date): Lease {
  return {
    apiVersion: "coordination.k8s.io/v1",
    kind: "Lease",
    metadata: {
      name: node.name,
      namespace: NODE_LEASE_NAMESPACE,
      ...(node.uid ? { ownerReferences: [{ apiVersion: "v1", kind: "Node", name: node.name, uid: node.uid }] } : {}),
    },
    spec: {
      holderIdentity: node.name,
      leaseDurationSeconds: durationSeconds,
      renewTime: rfc3339Micro(now),
    },
  };
}
