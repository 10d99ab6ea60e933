// Book 9.3.2 and 9.3.3: tests for the node IPAM range allocator: the next free block per node, no
// reuse of blocks in use, exhaustion events, and CIDR parsing.
import type { Node } from "@corekube/api";
import { describe, expect, it } from "vitest";
import { readerOf } from "../framework/testing.js";
import type { Action } from "../framework/types.js";
import { allocateNodeCIDRs, formatIpv4Cidr, parseIpv4Cidr } from "./reconcile.js";

function node(name: string, podCIDR?: string): Node {
  return { apiVersion: "v1", kind: "Node", metadata: { name }, spec: podCIDR ? { podCIDR, podCIDRs: [podCIDR] } : {} };
}

const patched = (actions: Action[]) =>
  actions.flatMap((a) => (a.verb === "patch" ? [[a.name, (a.patch as { spec: { podCIDR: string } }).spec.podCIDR] as const] : []));

describe("allocateNodeCIDRs", () => {
  it("gives each new node the next /24, patching podCIDR and podCIDRs", () => {
    const { actions } = allocateNodeCIDRs([node("a"), node("b")], "10.244.0.0/16");
    expect(actions).toEqual([
      { verb: "patch", resource: expect.objectContaining({ resource: "nodes" }), name: "a", patchType: "merge", patch: { spec: { podCIDR: "10.244.0.0/24", podCIDRs: ["10.244.0.0/24"] } } },
      { verb: "patch", resource: expect.objectContaining({ resource: "nodes" }), name: "b", patchType: "merge", patch: { spec: { podCIDR: "10.244.1.0/24", podCIDRs: ["10.244.1.0/24"] } } },
    ]);
  });

  it("never hands out a block a node already has, and leaves those nodes alone", () => {
    // Works from an informer's list just as well as from an array.
    const nodes = readerOf([node("old1", "10.244.0.0/24"), node("new1"), node("old2", "10.244.2.0/23"), node("new2"), node("new3")]).list();
    expect(patched(allocateNodeCIDRs(nodes, "10.244.0.0/16").actions)).toEqual([
      ["new1", "10.244.1.0/24"],
      ["new2", "10.244.4.0/24"],
      ["new3", "10.244.5.0/24"],
    ]);
  });

  it("honours another node mask size", () => {
    expect(patched(allocateNodeCIDRs([node("a"), node("b")], "10.0.0.0/8", 16).actions)).toEqual([
      ["a", "10.0.0.0/16"],
      ["b", "10.1.0.0/16"],
    ]);
  });

  it("warns CIDRNotAvailable on the node once the range is used up", () => {
    const nodes = [node("x", "10.0.0.0/24"), node("a"), node("b"), node("c")];
    const { actions } = allocateNodeCIDRs(nodes, "10.0.0.0/23");
    expect(patched(actions)).toEqual([["a", "10.0.1.0/24"]]);
    const events = actions.filter((a) => a.verb === "event");
    expect(events.map((e) => e.verb === "event" && [e.object.metadata.name, e.type, e.reason])).toEqual([
      ["b", "Warning", "CIDRNotAvailable"],
      ["c", "Warning", "CIDRNotAvailable"],
    ]);
  });

  it("has nothing to do when every node has its range, and rejects bad configuration", () => {
    expect(allocateNodeCIDRs([node("a", "10.244.7.0/24")], "10.244.0.0/16").actions).toEqual([]);
    expect(() => allocateNodeCIDRs([], "10.244.0.0")).toThrow(/invalid cluster CIDR/);
    expect(() => allocateNodeCIDRs([], "10.244.0.0/16", 8)).toThrow(/node mask size/);
  });

  it("parses and formats IPv4 CIDRs, normalising host bits", () => {
    expect(formatIpv4Cidr(parseIpv4Cidr("192.168.17.5/20")!)).toBe("192.168.16.0/20");
    expect(formatIpv4Cidr(parseIpv4Cidr("255.255.255.255/32")!)).toBe("255.255.255.255/32");
    expect(parseIpv4Cidr("300.1.1.1/8")).toBeUndefined();
    expect(parseIpv4Cidr("fd00::/64")).toBeUndefined();
  });
});
