// Book 11.2.3-11.2.4: tests for NodeAffinity: nodeSelector and required terms filter nodes, preferred
// terms score them, and the scheduler's own addedAffinity applies to every pod.
import type { Affinity, NodeAffinity as NodeAffinitySpec, NodeSelectorTerm, Pod } from "@corekube/api";
import { describe, expect, it } from "vitest";
import { NodeInfo } from "../framework/node-info.js";
import { Code, CycleState, type Handle, type NodeScore } from "../framework/types.js";
import { makeNode, makePod } from "../testing/builders.js";
import { ERR_REASON_CONFLICT, ERR_REASON_ENFORCED, ERR_REASON_POD, NodeAffinity, newNodeAffinity, parseNodeAffinityArgs } from "./node-affinity.js";

const plugin = (args?: Record<string, unknown>) => new NodeAffinity(parseNodeAffinityArgs(args));

const zone = (...zones: string[]): NodeSelectorTerm => ({ matchExpressions: [{ key: "zone", operator: "In", values: zones }] });
const requiredNA = (...terms: NodeSelectorTerm[]): NodeAffinitySpec => ({ requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: terms } });
const required = (...terms: NodeSelectorTerm[]): Affinity => ({ nodeAffinity: requiredNA(...terms) });
const nameIn = (...names: string[]): NodeSelectorTerm => ({ matchFields: [{ key: "metadata.name", operator: "In", values: names }] });

const a = new NodeInfo(makeNode("a", { labels: { zone: "z1", disk: "ssd" } }));
const b = new NodeInfo(makeNode("b", { labels: { zone: "z2" } }));
const c = new NodeInfo(makeNode("c"));

function runFilter(p: NodeAffinity, pod: Pod, ni: NodeInfo) {
  const state = new CycleState();
  const pre = p.preFilter(state, pod, [ni]);
  if (pre.status?.code === Code.Skip) return null;
  return p.filter(state, pod, ni);
}

describe("NodeAffinity Filter", () => {
  it("skips pods without nodeSelector or required affinity", () => {
    expect(plugin().preFilter(new CycleState(), makePod("p"), [a]).status?.code).toBe(Code.Skip);
    // The scheduler-enforced affinity still has work to do.
    const enforced = plugin({ addedAffinity: requiredNA(zone("z1")) });
    expect(enforced.preFilter(new CycleState(), makePod("p"), [a]).status).toBeNull();
  });

  it("applies nodeSelector", () => {
    const pod = makePod("p", { nodeSelector: { disk: "ssd" } });
    expect(runFilter(plugin(), pod, a)).toBeNull();
    expect(runFilter(plugin(), pod, b)).toEqual({ code: Code.UnschedulableAndUnresolvable, reasons: [ERR_REASON_POD] });
  });

  it("ORs required terms and ANDs nodeSelector with them", () => {
    const pod = makePod("p", { affinity: required(zone("z1"), zone("z2")) });
    expect([a, b, c].map((n) => runFilter(plugin(), pod, n)?.reasons[0] ?? "ok")).toEqual(["ok", "ok", ERR_REASON_POD]);
    const both = makePod("q", { nodeSelector: { disk: "ssd" }, affinity: required(zone("z2")) });
    expect([a, b].map((n) => runFilter(plugin(), both, n)?.code)).toEqual([Code.UnschedulableAndUnresolvable, Code.UnschedulableAndUnresolvable]);
  });

  it("checks addedAffinity first, with its own reason", () => {
    const p = plugin({ addedAffinity: requiredNA(zone("z1")) });
    expect(runFilter(p, makePod("p"), a)).toBeNull();
    expect(runFilter(p, makePod("p"), b)?.reasons).toEqual([ERR_REASON_ENFORCED]);
    expect(runFilter(p, makePod("q", { nodeSelector: { disk: "hdd" } }), b)?.reasons).toEqual([ERR_REASON_ENFORCED]);
    expect(runFilter(p, makePod("q", { nodeSelector: { disk: "hdd" } }), a)?.reasons).toEqual([ERR_REASON_POD]);
  });
});

describe("NodeAffinity PreFilter node names", () => {
  const pre = (affinity: Affinity) => plugin().preFilter(new CycleState(), makePod("p", { affinity }), [a, b, c]);

  it("narrows to the named nodes when every term pins metadata.name", () => {
    expect(pre(required(nameIn("a", "b"), nameIn("c"))).result?.nodeNames).toEqual(new Set(["a", "b", "c"]));
    expect(pre(required(nameIn("a"))).result?.nodeNames).toEqual(new Set(["a"]));
  });

  it("intersects the pins inside one term", () => {
    const term: NodeSelectorTerm = {
      matchFields: [
        { key: "metadata.name", operator: "In", values: ["a", "b"] },
        { key: "metadata.name", operator: "In", values: ["b", "c"] },
      ],
    };
    expect(pre(required(term)).result?.nodeNames).toEqual(new Set(["b"]));
  });

  it("gives no node list when some term does not pin a name", () => {
    const r = pre(required(nameIn("a"), zone("z2")));
    expect(r.result).toBeUndefined();
    expect(r.status).toBeNull();
    const notIn: NodeSelectorTerm = { matchFields: [{ key: "metadata.name", operator: "NotIn", values: ["a"] }] };
    expect(pre(required(notIn)).result).toBeUndefined();
  });

  it("rejects outright when the pins of every term conflict", () => {
    const term: NodeSelectorTerm = {
      matchFields: [
        { key: "metadata.name", operator: "In", values: ["a"] },
        { key: "metadata.name", operator: "In", values: ["b"] },
      ],
    };
    expect(pre(required(term)).status).toEqual({ code: Code.UnschedulableAndUnresolvable, reasons: [ERR_REASON_CONFLICT] });
  });
});

describe("NodeAffinity Score", () => {
  const preferred = (...terms: [number, NodeSelectorTerm][]): Affinity => ({
    nodeAffinity: { preferredDuringSchedulingIgnoredDuringExecution: terms.map(([weight, preference]) => ({ weight, preference })) },
  });
  const ssd: NodeSelectorTerm = { matchExpressions: [{ key: "disk", operator: "Exists" }] };

  function scores(p: NodeAffinity, pod: Pod): number[] {
    const state = new CycleState();
    expect(p.preScore(state, pod, [a, b, c])).toBeNull();
    const list: NodeScore[] = [a, b, c].map((n) => ({ name: n.name, score: p.score(state, pod, n) }));
    expect(p.normalizeScore(state, pod, list)).toBeNull();
    return list.map((s) => s.score);
  }

  it("sums the weights of matching preferred terms, then normalizes to 0..100", () => {
    const pod = makePod("p", { affinity: preferred([30, zone("z1", "z2")], [10, ssd]) });
    const state = new CycleState();
    plugin().preScore(state, pod, [a, b, c]);
    expect([a, b, c].map((n) => plugin().score(state, pod, n))).toEqual([40, 30, 0]);
    expect(scores(plugin(), pod)).toEqual([100, 75, 0]);
  });

  it("skips pods without preferences unless the profile adds some", () => {
    expect(plugin().preScore(new CycleState(), makePod("p"), [a])?.code).toBe(Code.Skip);
    const p = plugin({ addedAffinity: preferred([5, zone("z2")]).nodeAffinity });
    expect(scores(p, makePod("p"))).toEqual([0, 100, 0]);
    expect(scores(p, makePod("q", { affinity: preferred([15, ssd]) }))).toEqual([100, 33, 0]);
  });
});

describe("NodeAffinity args and events", () => {
  it.each([
    [{ addedAffinity: requiredNA({ matchExpressions: [{ key: "zone", operator: "Near" as "In", values: ["x"] }] }) }, /not a valid operator/],
    [{ addedAffinity: requiredNA({ matchExpressions: [{ key: "zone", operator: "In", values: [] }] }) }, /must be non-empty/],
    [{ addedAffinity: requiredNA({ matchExpressions: [{ key: "zone", operator: "Gt", values: ["x"] }] }) }, /single integer/],
    [{ addedAffinity: requiredNA({ matchFields: [{ key: "metadata.uid", operator: "In", values: ["x"] }] }) }, /not a supported field/],
    [{ addedAffinity: requiredNA() }, /at least one term/],
    [{ addedAffinity: { preferredDuringSchedulingIgnoredDuringExecution: [{ weight: 500, preference: zone("z1") }] } }, /weight/],
    [{ addedAffinity: required(zone("z1")) }, /unknown field "nodeAffinity"/],
  ])("rejects bad addedAffinity %#", (args, message) => {
    expect(() => newNodeAffinity(args as unknown as Record<string, unknown>, {} as Handle)).toThrow(message);
  });

  it("queues a pod only for a node that newly matches it", () => {
    const [ev] = plugin().eventsToRegister();
    const pod = makePod("p", { nodeSelector: { disk: "ssd" } });
    const plain = makeNode("n");
    const labelled = makeNode("n", { labels: { disk: "ssd" } });
    expect(ev!.hint!(pod, undefined, labelled)).toBe("Queue");
    expect(ev!.hint!(pod, undefined, plain)).toBe("Skip");
    expect(ev!.hint!(pod, plain, labelled)).toBe("Queue");
    expect(ev!.hint!(pod, labelled, makeNode("n", { labels: { disk: "ssd", x: "y" } }))).toBe("Skip");
  });
});
