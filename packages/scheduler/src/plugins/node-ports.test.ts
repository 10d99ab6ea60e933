// Book 11.2.3: tests for NodePorts: two pods cannot hold the same host port (and protocol) on one node,
// where 0.0.0.0 clashes with every address.
import type { ContainerPort, Pod } from "@corekube/api";
import { describe, expect, it } from "vitest";
import { type NodeInfo, Snapshot } from "../framework/node-info.js";
import { Code, CycleState } from "../framework/types.js";
import { makeNode, makePod } from "../testing/builders.js";
import { ERR_REASON_NODE_PORTS, NodePorts, podHostPorts } from "./node-ports.js";

const p = new NodePorts();

/** A pod whose one container asks for these host ports. */
function withPorts(name: string, ports: Partial<ContainerPort>[], nodeName?: string): Pod {
  const pod = makePod(name, nodeName ? { nodeName } : {});
  pod.spec.containers[0]!.ports = ports.map((x) => ({ containerPort: x.hostPort ?? 1, ...x }));
  return pod;
}

function nodeRunning(...pods: Pod[]): NodeInfo {
  return Snapshot.from([makeNode("n1")], pods.map((x) => ({ ...x, spec: { ...x.spec, nodeName: "n1" } }))).get("n1")!;
}

function runFilter(pod: Pod, ni: NodeInfo) {
  const state = new CycleState();
  const pre = p.preFilter(state, pod, [ni]);
  if (pre.status?.code === Code.Skip) return pre.status;
  return p.filter(state, pod, ni);
}

describe("NodePorts", () => {
  it("skips pods without host ports", () => {
    expect(runFilter(makePod("p"), nodeRunning(withPorts("a", [{ hostPort: 80 }])))?.code).toBe(Code.Skip);
    // A container port without a host port binds nothing on the node.
    expect(runFilter(withPorts("p", [{ containerPort: 8080 }]), nodeRunning())?.code).toBe(Code.Skip);
  });

  it("rejects a port already taken on the node", () => {
    const ni = nodeRunning(withPorts("a", [{ hostPort: 80 }]));
    expect(runFilter(withPorts("p", [{ hostPort: 80 }]), ni)).toEqual({ code: Code.Unschedulable, reasons: [ERR_REASON_NODE_PORTS] });
    expect(runFilter(withPorts("p", [{ hostPort: 443 }, { hostPort: 80 }]), ni)).toEqual({ code: Code.Unschedulable, reasons: [ERR_REASON_NODE_PORTS] });
  });

  it("lets free ports and other protocols through", () => {
    const ni = nodeRunning(withPorts("a", [{ hostPort: 53, protocol: "UDP" }]));
    expect(runFilter(withPorts("p", [{ hostPort: 53, protocol: "TCP" }]), ni)).toBeNull();
    expect(runFilter(withPorts("p", [{ hostPort: 54, protocol: "UDP" }]), ni)).toBeNull();
    expect(runFilter(withPorts("p", [{ hostPort: 53, protocol: "UDP" }]), ni)?.code).toBe(Code.Unschedulable);
  });

  it("clashes on the same IP or when either side binds 0.0.0.0, not across two different IPs", () => {
    const onIP = nodeRunning(withPorts("a", [{ hostPort: 8080, hostIP: "10.0.0.1" }]));
    expect(runFilter(withPorts("p", [{ hostPort: 8080, hostIP: "10.0.0.2" }]), onIP)).toBeNull();
    expect(runFilter(withPorts("p", [{ hostPort: 8080, hostIP: "10.0.0.1" }]), onIP)?.code).toBe(Code.Unschedulable);
    expect(runFilter(withPorts("p", [{ hostPort: 8080 }]), onIP)?.code).toBe(Code.Unschedulable);
    expect(runFilter(withPorts("p", [{ hostPort: 8080, hostIP: "0.0.0.0" }]), onIP)?.code).toBe(Code.Unschedulable);
    const onAll = nodeRunning(withPorts("a", [{ hostPort: 8080 }]));
    expect(runFilter(withPorts("p", [{ hostPort: 8080, hostIP: "10.0.0.2" }]), onAll)?.code).toBe(Code.Unschedulable);
  });

  it("counts sidecar init containers' ports but not ordinary init containers'", () => {
    const pod = makePod("p");
    pod.spec.initContainers = [
      { name: "setup", image: "busybox", ports: [{ containerPort: 1, hostPort: 9000 }] },
      { name: "proxy", image: "envoy", restartPolicy: "Always", ports: [{ containerPort: 2, hostPort: 9001 }] },
    ];
    expect(podHostPorts(pod)).toEqual([{ ip: "0.0.0.0", protocol: "TCP", port: 9001 }]);
  });

  it("returns an Error status when PreFilter did not run", () => {
    expect(p.filter(new CycleState(), makePod("p"), nodeRunning())?.code).toBe(Code.Error);
  });

  it("queues on deletion of an assigned pod that held a wanted port", () => {
    const podEv = p.eventsToRegister().find((e) => e.event.resource === "AssignedPod")!;
    const pod = withPorts("p", [{ hostPort: 80 }]);
    expect(podEv.hint!(pod, withPorts("a", [{ hostPort: 80 }], "n1"), undefined)).toBe("Queue");
    expect(podEv.hint!(pod, withPorts("a", [{ hostPort: 81 }], "n1"), undefined)).toBe("Skip");
    expect(podEv.hint!(pod, withPorts("a", [{ hostPort: 80 }]), undefined)).toBe("Skip");
    expect(podEv.hint!(pod, makePod("a", { nodeName: "n1" }), undefined)).toBe("Skip");
  });
});
