// Book 11.2.4: tests for ImageLocality: nodes holding big images the pod needs score higher, less so
// when every node has them.
import type { Node } from "@corekube/api";
import { describe, expect, it } from "vitest";
import { Snapshot } from "../framework/node-info.js";
import { CycleState, type Handle } from "../framework/types.js";
import { makeNode, makePod } from "../testing/builders.js";
import { IMAGE_LOCALITY, ImageLocality, calculatePriority, imageNameAliases, newImageLocality, normalizedImageName } from "./image-locality.js";

const MB = 1024 * 1024;

/** A snapshot whose image states are filled in from node.status.images, as the scheduler cache does. */
function snapshotWithImages(nodes: Node[]): Snapshot {
  const snap = Snapshot.from(nodes);
  const count = new Map<string, number>();
  for (const n of nodes) for (const img of n.status?.images ?? []) for (const name of img.names ?? []) count.set(name, (count.get(name) ?? 0) + 1);
  for (const ni of snap.nodeInfoList) {
    for (const img of ni.node!.status?.images ?? []) {
      for (const name of img.names ?? []) ni.imageStates.set(name, { size: img.sizeBytes ?? 0, numNodes: count.get(name)! });
    }
  }
  return snap;
}

function scoresFor(snap: Snapshot, images: string[]): Record<string, number> {
  const plugin = new ImageLocality({ snapshot: () => snap } as unknown as Handle);
  const pod = makePod("p", { images });
  const state = new CycleState();
  expect(plugin.preScore(state, pod, snap.nodeInfoList)).toBeNull();
  return Object.fromEntries(snap.nodeInfoList.map((n) => [n.name, plugin.score(state, pod, n)]));
}

describe("ImageLocality", () => {
  it("scores by image size scaled by how many nodes have it", () => {
    const snap = snapshotWithImages([
      makeNode("has", { images: [{ names: ["registry.local/big:1"], sizeBytes: 500 * MB }] }),
      makeNode("lacks"),
    ]);
    // 500MB on 1 of 2 nodes counts 250MB: (250 - 23) / (1000 - 23) * 100 = 23.
    expect(scoresFor(snap, ["registry.local/big:1"])).toEqual({ has: 23, lacks: 0 });
  });

  it("spreads less when the image is everywhere", () => {
    const img = { names: ["registry.local/big:1"], sizeBytes: 500 * MB };
    const snap = snapshotWithImages([makeNode("a", { images: [img] }), makeNode("b", { images: [img] })]);
    expect(scoresFor(snap, ["registry.local/big:1"])).toEqual({ a: 48, b: 48 });
  });

  it("clamps between 23MB (score 0) and 1000MB per container (score 100)", () => {
    const snap = snapshotWithImages([
      makeNode("small", { images: [{ names: ["app:1"], sizeBytes: 20 * MB }] }),
      makeNode("huge", { images: [{ names: ["app:1"], sizeBytes: 4000 * MB }] }),
    ]);
    // numNodes is 2 of 2 on both.
    expect(scoresFor(snap, ["app:1"])).toEqual({ small: 0, huge: 100 });
    // Two containers: the ceiling is 2000MB, so 1000MB is (1000 - 23) / (2000 - 23) = 49.
    expect(calculatePriority(1000 * MB, 2)).toBe(49);
    expect(calculatePriority(0, 0)).toBe(0);
  });

  it("raises the ceiling with the number of containers", () => {
    const snap = snapshotWithImages([makeNode("n", { images: [{ names: ["registry.local/a:1"], sizeBytes: 1000 * MB }] })]);
    expect(scoresFor(snap, ["registry.local/a:1"]).n).toBe(100);
    expect(scoresFor(snap, ["registry.local/a:1", "registry.local/b:1"]).n).toBe(49);
  });

  it("matches untagged and Docker Hub short names to what the node lists", () => {
    const snap = snapshotWithImages([
      makeNode("n", {
        images: [
          { names: ["docker.io/library/nginx:latest"], sizeBytes: 400 * MB },
          { names: ["redis:7"], sizeBytes: 400 * MB },
          { names: ["docker.io/me/tool:2"], sizeBytes: 400 * MB },
        ],
      }),
    ]);
    const expected = Math.floor((100 * (400 - 23)) / (1000 - 23));
    expect(scoresFor(snap, ["nginx"]).n).toBe(expected);
    expect(scoresFor(snap, ["docker.io/library/redis:7"]).n).toBe(expected);
    expect(scoresFor(snap, ["me/tool:2"]).n).toBe(expected);
    expect(scoresFor(snap, ["nginx:1.25"]).n).toBe(0);
    expect(scoresFor(snap, ["quay.io/library/nginx"]).n).toBe(0);
  });

  it("normalizes image names", () => {
    expect(normalizedImageName("nginx")).toBe("nginx:latest");
    expect(normalizedImageName("localhost:5000/app")).toBe("localhost:5000/app:latest");
    expect(normalizedImageName("app@sha256:abc")).toBe("app@sha256:abc");
    expect(imageNameAliases("nginx")).toEqual(["nginx:latest", "docker.io/library/nginx:latest", "library/nginx:latest"]);
    expect(imageNameAliases("docker.io/me/tool:2")).toEqual(["docker.io/me/tool:2", "me/tool:2"]);
    expect(imageNameAliases("quay.io/x/y:1")).toEqual(["quay.io/x/y:1"]);
  });

  it("is built by its factory under its name and scores without PreScore state", () => {
    const snap = snapshotWithImages([makeNode("n", { images: [{ names: ["registry.local/a:1"], sizeBytes: 1000 * MB }] })]);
    const p = newImageLocality(undefined, { snapshot: () => snap } as unknown as Handle) as ImageLocality;
    expect(p.name).toBe(IMAGE_LOCALITY);
    expect(p.score(new CycleState(), makePod("p", { images: ["registry.local/a:1"] }), snap.get("n")!)).toBe(100);
  });
});
