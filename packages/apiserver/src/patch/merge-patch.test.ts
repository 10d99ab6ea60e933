// Book 11.2: JSON merge patch (RFC 7386) as kubectl label/annotate/scale and `patch --type=merge`
// send it.
import { StatusError } from "@corekube/api";
import { describe, expect, it } from "vitest";
import { applyMergePatch } from "./merge-patch.js";

const live = () => ({
  metadata: { name: "web", labels: { app: "web", tier: "old" }, annotations: { a: "1" } },
  spec: { replicas: 1, template: { spec: { containers: [{ name: "c", image: "x" }] } } },
});

describe("applyMergePatch", () => {
  it("applies kubectl label's, annotate's and scale's bodies", () => {
    expect(applyMergePatch(live(), { metadata: { labels: { tier: "web" } } })).toEqual({
      ...live(),
      metadata: { ...live().metadata, labels: { app: "web", tier: "web" } },
    });
    expect((applyMergePatch(live(), { metadata: { annotations: { note: "hi" } } }) as any).metadata.annotations).toEqual({ a: "1", note: "hi" });
    expect((applyMergePatch(live(), { spec: { replicas: 3 } }) as any).spec).toEqual({ ...live().spec, replicas: 3 });
  });

  it("removes members set to null (kubectl label tier-)", () => {
    expect((applyMergePatch(live(), { metadata: { labels: { tier: null } } }) as any).metadata.labels).toEqual({ app: "web" });
    expect("annotations" in (applyMergePatch(live(), { metadata: { annotations: null } }) as any).metadata).toBe(false);
  });

  it("replaces lists whole and scalars by objects", () => {
    const out = applyMergePatch(live(), { spec: { template: { spec: { containers: [{ name: "d" }] } }, replicas: { odd: true } } }) as any;
    expect(out.spec.template.spec.containers).toEqual([{ name: "d" }]);
    expect(out.spec.replicas).toEqual({ odd: true });
  });

  it("drops null members from the values it adds", () => {
    expect(applyMergePatch({}, { a: { b: null, c: 1 }, d: [{ e: null, f: 2 }] })).toEqual({ a: { c: 1 }, d: [{ f: 2 }] });
  });

  it("follows the RFC 7386 examples", () => {
    const target = { a: "b", c: { d: "e", f: "g" } };
    expect(applyMergePatch(target, { a: "z", c: { f: null } })).toEqual({ a: "z", c: { d: "e" } });
    expect(applyMergePatch({ a: ["b"] }, { a: "c" })).toEqual({ a: "c" });
    expect(applyMergePatch({ a: "foo" }, { b: "bar" })).toEqual({ a: "foo", b: "bar" });
    expect(applyMergePatch({ e: null }, { a: 1 })).toEqual({ e: null, a: 1 });
    expect(applyMergePatch({}, { a: { bb: { ccc: null } } })).toEqual({ a: { bb: {} } });
  });

  it("a list patch replaces the whole document", () => {
    expect(applyMergePatch({ a: 1 }, [1, 2])).toEqual([1, 2]);
  });

  it("rejects null and scalar patches with 400, as kube-apiserver does", () => {
    for (const patch of [null, "x", 3, true]) {
      let err: unknown;
      try {
        applyMergePatch({ a: 1 }, patch);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(StatusError);
      expect((err as StatusError).code).toBe(400);
      expect((err as StatusError).message).toBe("Invalid JSON Patch");
    }
  });

  it("never modifies its inputs and shares nothing with them", () => {
    const doc = live();
    const patch = { metadata: { labels: { tier: null, extra: "y" } }, spec: { template: { spec: { containers: [{ name: "z" }] } } } };
    const before = structuredClone({ doc, patch });
    const out = applyMergePatch(doc, patch) as any;
    expect({ doc, patch }).toEqual(before);
    out.spec.template.spec.containers[0].name = "changed";
    expect(patch.spec.template.spec.containers[0]!.name).toBe("z");
  });

  it("keeps __proto__ an ordinary member", () => {
    const out = applyMergePatch({}, JSON.parse('{"__proto__":{"polluted":true}}')) as any;
    expect(Object.keys(out)).toEqual(["__proto__"]);
    expect(out.polluted).toBeUndefined();
  });
});
