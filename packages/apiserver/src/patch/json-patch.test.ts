// Book 11.2: JSON patch (RFC 6902) as `kubectl patch --type=json` uses it, with kube-apiserver's
// error codes for bodies that are not patches (400), patches that do not apply (422) and too many
// operations (413).
import { StatusError } from "@corekube/api";
import { describe, expect, it } from "vitest";
import { NOT_APPLICABLE_MESSAGE } from "./errors.js";
import { applyJsonPatch, parsePointer } from "./json-patch.js";

function errorOf(fn: () => unknown): StatusError {
  try {
    fn();
  } catch (e) {
    if (e instanceof StatusError) return e;
    throw e;
  }
  throw new Error("expected a StatusError");
}

/** The 422 cause an operation that does not apply carries. */
function notApplicable(doc: unknown, ops: unknown): { message: string; field: string } {
  const err = errorOf(() => applyJsonPatch(doc, ops));
  expect(err.code).toBe(422);
  expect(err.reason).toBe("Invalid");
  expect(err.message).toBe(NOT_APPLICABLE_MESSAGE);
  const cause = err.status.details?.causes?.[0];
  return { message: cause?.message ?? "", field: cause?.field ?? "" };
}

const deployment = () => ({
  metadata: { name: "web", labels: { app: "web" } },
  spec: { replicas: 2, template: { spec: { containers: [{ name: "a", image: "x" }, { name: "b", image: "y" }] } } },
});

describe("applyJsonPatch", () => {
  it("applies kubectl's replace of spec.replicas and leaves the input alone", () => {
    const doc = deployment();
    const out = applyJsonPatch(doc, [{ op: "replace", path: "/spec/replicas", value: 1 }]) as any;
    expect(out.spec.replicas).toBe(1);
    expect(doc.spec.replicas).toBe(2);
  });

  it("adds members and array elements, with - for append and negative indices from the end", () => {
    const out = applyJsonPatch({ a: [1, 2] }, [
      { op: "add", path: "/b", value: { c: 1 } },
      { op: "add", path: "/a/1", value: 9 },
      { op: "add", path: "/a/-", value: 3 },
      { op: "add", path: "/a/-1", value: 4 },
    ]);
    expect(out).toEqual({ a: [1, 9, 2, 3, 4], b: { c: 1 } });
  });

  it("decodes ~1 and ~0 in pointers", () => {
    expect(parsePointer("/metadata/annotations/example.com~1a~0b")).toEqual(["metadata", "annotations", "example.com/a~b"]);
    expect(parsePointer("/~01")).toEqual(["~1"]);
    const out = applyJsonPatch({ metadata: { annotations: {} } }, [{ op: "add", path: "/metadata/annotations/example.com~1note", value: "hi" }]);
    expect(out).toEqual({ metadata: { annotations: { "example.com/note": "hi" } } });
  });

  it("removes, replaces, moves and copies", () => {
    const out = applyJsonPatch({ a: { x: 1, y: 2 }, list: ["p", "q", "r"], n: null }, [
      { op: "remove", path: "/a/x" },
      { op: "remove", path: "/list/-3" },
      { op: "replace", path: "/list/0", value: "Q" },
      { op: "move", from: "/a/y", path: "/moved" },
      { op: "copy", from: "/list", path: "/list/0" },
      { op: "remove", path: "/n" },
    ]);
    expect(out).toEqual({ a: {}, list: [["Q", "r"], "Q", "r"], moved: 2 });
  });

  it("replaces the whole document at the root path", () => {
    expect(applyJsonPatch({ a: 1 }, [{ op: "replace", path: "", value: { b: 2 } }])).toEqual({ b: 2 });
  });

  it("replacing an absent member of an existing object adds it, as Kubernetes does", () => {
    expect(applyJsonPatch({ metadata: {} }, [{ op: "replace", path: "/metadata/labels", value: { a: "b" } }])).toEqual({
      metadata: { labels: { a: "b" } },
    });
  });

  it("passes tests that match, treating absent and null alike", () => {
    const doc = { a: "x", list: [1, { k: [true] }], n: null };
    expect(
      applyJsonPatch(doc, [
        { op: "test", path: "/a", value: "x" },
        { op: "test", path: "/list/1", value: { k: [true] } },
        { op: "test", path: "/missing", value: null },
        { op: "test", path: "/n", value: null },
        { op: "test", path: "", value: doc },
      ]),
    ).toEqual(doc);
  });

  it("does not let inserted values alias the patch", () => {
    const value = { nested: [1] };
    const out = applyJsonPatch({}, [{ op: "add", path: "/v", value }]) as any;
    out.v.nested.push(2);
    expect(value.nested).toEqual([1]);
  });

  it("treats __proto__ and inherited names as ordinary members", () => {
    const doc = JSON.parse('{"a":{}}');
    const out = applyJsonPatch(doc, JSON.parse('[{"op":"add","path":"/a/__proto__","value":{"polluted":true}}]')) as any;
    expect(Object.keys(out.a)).toEqual(["__proto__"]);
    expect(out.a.polluted).toBeUndefined();
    expect(({} as any).polluted).toBeUndefined();
    expect(notApplicable({ a: {} }, [{ op: "remove", path: "/a/constructor" }]).message).toContain('no member "constructor"');
  });

  it("an empty or null patch returns an equal copy", () => {
    const doc = deployment();
    expect(applyJsonPatch(doc, [])).toEqual(doc);
    expect(applyJsonPatch(doc, null)).toEqual(doc);
    expect(applyJsonPatch(doc, [])).not.toBe(doc);
  });
});

describe("applyJsonPatch errors", () => {
  it("rejects a body that is not a list of operations with 400", () => {
    const notList = errorOf(() => applyJsonPatch({}, { op: "add" }));
    expect(notList.code).toBe(400);
    expect(notList.reason).toBe("BadRequest");
    expect(notList.message).toBe("error decoding patch: json: cannot unmarshal object into Go value of type []handlers.jsonPatchOp");
    expect(errorOf(() => applyJsonPatch({}, ["add"])).message).toBe(
      "error decoding patch: json: cannot unmarshal string into Go value of type handlers.jsonPatchOp",
    );
    expect(errorOf(() => applyJsonPatch({}, [{ op: "add", path: 5 }])).message).toBe(
      "error decoding patch: json: cannot unmarshal number into Go struct field jsonPatchOp.path of type string",
    );
  });

  it("answers 422 with the reason as a cause for operations that do not apply", () => {
    expect(notApplicable({ a: 1 }, [{ op: "test", path: "/a", value: 2 }])).toEqual({ message: "testing value /a failed: test failed", field: "/a" });
    expect(notApplicable({ a: [] }, [{ op: "test", path: "/a" }]).message).toContain("testing value /a failed");
    expect(notApplicable({}, [{ op: "add", path: "/a/b", value: 1 }]).message).toBe('add operation does not apply: doc is missing path: "/a/b"');
    expect(notApplicable({}, [{ op: "remove", path: "/a" }]).message).toContain('no member "a"');
    expect(notApplicable({ a: [1] }, [{ op: "add", path: "/a/2", value: 1 }]).message).toContain("index 2 is out of range");
    expect(notApplicable({ a: [1] }, [{ op: "add", path: "/a/x", value: 1 }]).message).toContain("not a proper array index");
    expect(notApplicable({ a: [1] }, [{ op: "replace", path: "/a/1", value: 1 }]).message).toContain("doc is missing key");
    expect(notApplicable({ a: [] }, [{ op: "remove", path: "/a/-" }]).message).toContain("not an array index");
    expect(notApplicable({ a: [1, 2, 3, 4] }, [{ op: "move", from: "/a/1", path: "/a/4" }]).message).toContain("out of range");
    expect(notApplicable({}, [{ op: "copy", from: "/nothing", path: "/b" }]).message).toContain("missing from path");
    expect(notApplicable({}, [{ op: "add", value: 1 }]).message).toBe('add operation has no "path"');
    expect(notApplicable({}, [{ op: "add", path: "", value: 1 }]).message).toContain("doc is missing path");
    expect(notApplicable({}, [{ op: "replace", path: "", value: 1 }]).message).toContain("must be object or array");
    expect(notApplicable({}, [{ op: "increment", path: "/a" }]).message).toContain('unexpected operation "increment"');
    expect(notApplicable({}, [null]).message).toContain("unexpected operation (none)");
  });

  it("applies nothing when a later operation fails", () => {
    const doc = { a: 1 };
    expect(() => applyJsonPatch(doc, [{ op: "replace", path: "/a", value: 2 }, { op: "test", path: "/a", value: 1 }])).toThrow(StatusError);
    expect(doc).toEqual({ a: 1 });
  });

  it("caps the number of operations with 413", () => {
    const ops = Array.from({ length: 11 }, () => ({ op: "test", path: "/a", value: 1 }));
    const err = errorOf(() => applyJsonPatch({ a: 1 }, ops, { maxOperations: 10 }));
    expect(err.code).toBe(413);
    expect(err.reason).toBe("RequestEntityTooLarge");
    expect(err.message).toBe("Request entity too large: The allowed maximum operations in a JSON patch is 10, got 11");
    expect(() => applyJsonPatch({ a: 1 }, ops.slice(1), { maxOperations: 10 })).not.toThrow();
  });

  it("bounds the bytes copy operations may add, so a small patch cannot make a huge document", () => {
    // Each copy doubles the array; 2 + 4 + 8 + ... bytes of JSON soon pass the cap.
    const ops = Array.from({ length: 40 }, () => ({ op: "copy", from: "/a", path: "/a/-" }));
    const err = errorOf(() => applyJsonPatch({ a: ["xxxxxxxx"] }, ops, { maxCopyBytes: 1000 }));
    expect(err.code).toBe(422);
    expect(err.status.details?.causes?.[0]?.message).toMatch(/^Unable to complete the copy, the accumulated size increase of copy is \d+, exceeding the limit 1000$/);
    // Under the default 3 MiB cap the same patch is refused as well, long before 2^40 elements.
    expect(errorOf(() => applyJsonPatch({ a: ["xxxxxxxx"] }, ops)).code).toBe(422);
  });
});
