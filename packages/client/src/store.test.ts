// Book 11.2: tests for the informer's indexed store.
import type { KubeObject } from "@corekube/api";
import { describe, expect, it } from "vitest";
import { NAMESPACE_INDEX, Store, metaKey, splitKey } from "./store.js";

const pod = (ns: string, name: string, node = ""): KubeObject => ({ metadata: { namespace: ns, name, resourceVersion: "1" }, spec: { nodeName: node } });

describe("Store", () => {
  it("keys objects as namespace/name and cluster-scoped ones by name", () => {
    expect(metaKey(pod("a", "x"))).toBe("a/x");
    expect(metaKey({ metadata: { name: "n1" } })).toBe("n1");
    expect(splitKey("a/x")).toEqual({ namespace: "a", name: "x" });
    expect(splitKey("n1")).toEqual({ name: "n1" });
  });

  it("keeps indexes current across add, update and delete", () => {
    const s = new Store<KubeObject>();
    s.addIndexer("node", (o) => [String((o.spec as { nodeName: string }).nodeName)]);
    s.upsert(pod("a", "x", "n1"));
    s.upsert(pod("a", "y", "n1"));
    s.upsert(pod("b", "z", "n2"));
    expect(s.byIndex(NAMESPACE_INDEX, "a").map((o) => o.metadata.name).sort()).toEqual(["x", "y"]);
    expect(s.byIndex("node", "n1")).toHaveLength(2);
    s.upsert(pod("a", "y", "n2")); // moved to another node
    expect(s.byIndex("node", "n1").map((o) => o.metadata.name)).toEqual(["x"]);
    expect(s.byIndex("node", "n2")).toHaveLength(2);
    s.remove(pod("b", "z"));
    expect(s.byIndex("node", "n2").map((o) => o.metadata.name)).toEqual(["y"]);
    expect(s.byIndex(NAMESPACE_INDEX, "b")).toEqual([]);
    expect(s.size).toBe(2);
    expect(() => s.byIndex("nope", "x")).toThrow(/no indexer named "nope"/);
  });
});
