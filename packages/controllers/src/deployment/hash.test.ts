// Book 2.3.3: tests for the pod-template-hash: stable, sensitive to the template and the collision
// count, spelled in the safe alphabet, and ignored when comparing templates.
import { describe, expect, it } from "vitest";
import type { PodTemplateSpec } from "../framework/pods.js";
import { canonicalJSON, equalIgnoringHash, podTemplateHash, safeEncode } from "./hash.js";

const tpl = (image: string, labels: Record<string, string> = { app: "web" }): PodTemplateSpec => ({
  metadata: { labels },
  spec: { containers: [{ name: "c", image }] },
});

describe("podTemplateHash", () => {
  it("is stable, independent of key order, and uses only the safe alphabet", () => {
    const a = podTemplateHash(tpl("nginx:1"));
    const reordered = { spec: { containers: [{ image: "nginx:1", name: "c" }] }, metadata: { labels: { app: "web" } } } as PodTemplateSpec;
    expect(podTemplateHash(tpl("nginx:1"))).toBe(a);
    expect(podTemplateHash(reordered)).toBe(a);
    expect(a).toMatch(/^[bcdfghjklmnpqrstvwxz2456789]+$/);
  });

  it("changes with the template and with the collision count", () => {
    const a = podTemplateHash(tpl("nginx:1"));
    expect(podTemplateHash(tpl("nginx:2"))).not.toBe(a);
    expect(podTemplateHash(tpl("nginx:1"), 0)).toBe(a);
    expect(podTemplateHash(tpl("nginx:1"), 1)).not.toBe(a);
    expect(podTemplateHash(tpl("nginx:1"), 2)).not.toBe(podTemplateHash(tpl("nginx:1"), 1));
  });

  it("encodes digits into letters of the safe alphabet", () => {
    // '0' is code 48, 48 % 27 = 21 -> '4'; '9' is 57 % 27 = 3 -> 'f'.
    expect(safeEncode("09")).toBe("4f");
  });

  it("treats empty and absent fields alike", () => {
    expect(canonicalJSON({ a: 1, b: [], c: {}, d: undefined })).toBe(canonicalJSON({ a: 1 }));
  });
});

describe("equalIgnoringHash", () => {
  it("ignores only the pod-template-hash label", () => {
    expect(equalIgnoringHash(tpl("nginx:1", { app: "web", "pod-template-hash": "abc" }), tpl("nginx:1"))).toBe(true);
    expect(equalIgnoringHash(tpl("nginx:1", { app: "web", tier: "x" }), tpl("nginx:1"))).toBe(false);
    expect(equalIgnoringHash(tpl("nginx:2"), tpl("nginx:1"))).toBe(false);
  });
});
