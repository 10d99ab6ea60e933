// Book 9.3 and 11.3: the pod garbage collector's decisions: orphans after the quarantine, unscheduled
// pods being deleted, and finished pods beyond the threshold, oldest first.
import type { Node, Pod } from "@corekube/api";
import { describe, expect, it } from "vitest";
import { readerOf } from "../framework/testing.js";
import { ORPHAN_QUARANTINE_MS, reconcilePodGC } from "./reconcile.js";

const pod = (name: string, o: { node?: string; phase?: NonNullable<Pod["status"]>["phase"]; deleting?: boolean; created?: string } = {}): Pod => ({
  metadata: { name, namespace: "default", uid: `${name}-uid`, creationTimestamp: o.created ?? "2026-01-01T00:00:00Z", ...(o.deleting ? { deletionTimestamp: "2026-01-01T00:01:00Z" } : {}) },
  spec: { containers: [{ name: "c", image: "busybox" }], ...(o.node ? { nodeName: o.node } : {}) },
  status: { phase: o.phase ?? "Running" },
});
const node = (name: string): Node => ({ metadata: { name } }) as Node;
const deleted = (r: ReturnType<typeof reconcilePodGC>) => r.actions.flatMap((a) => (a.verb === "delete" ? [`${a.name}:${a.gracePeriodSeconds}`] : []));

describe("reconcilePodGC", () => {
  it("waits out the quarantine for pods of a missing node, then force-deletes them", () => {
    const pods = readerOf([pod("a", { node: "gone" }), pod("b", { node: "here" })]);
    const nodes = readerOf([node("here")]);
    const early = reconcilePodGC({ pods, nodes, missingForMs: () => 10_000 });
    expect(deleted(early)).toEqual([]);
    expect(early.requeueAfterMs).toBe(ORPHAN_QUARANTINE_MS - 10_000);
    const late = reconcilePodGC({ pods, nodes, missingForMs: () => ORPHAN_QUARANTINE_MS });
    expect(deleted(late)).toEqual(["a:0"]);
    expect(late.actions.some((a) => a.verb === "event" && a.reason === "PodGC")).toBe(true);
  });

  it("force-deletes unscheduled pods that are being deleted, and leaves pending ones alone", () => {
    const r = reconcilePodGC({ pods: readerOf([pod("pending"), pod("stuck", { deleting: true })]), nodes: readerOf([]), missingForMs: () => 0 });
    expect(deleted(r)).toEqual(["stuck:0"]);
  });

  it("keeps at most the threshold of finished pods, removing the oldest", () => {
    const pods = readerOf([
      pod("new", { node: "n", phase: "Succeeded", created: "2026-01-03T00:00:00Z" }),
      pod("old", { node: "n", phase: "Failed", created: "2026-01-01T00:00:00Z" }),
      pod("mid", { node: "n", phase: "Succeeded", created: "2026-01-02T00:00:00Z" }),
      pod("running", { node: "n" }),
    ]);
    const r = reconcilePodGC({ pods, nodes: readerOf([node("n")]), missingForMs: () => 0, terminatedThreshold: 1 });
    expect(deleted(r).sort()).toEqual(["mid:0", "old:0"]);
    expect(deleted(reconcilePodGC({ pods, nodes: readerOf([node("n")]), missingForMs: () => 0, terminatedThreshold: 3 }))).toEqual([]);
  });
});
