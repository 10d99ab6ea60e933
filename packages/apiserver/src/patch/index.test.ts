// Book 11.2: choosing the patch algorithm from a PATCH request's Content-Type.
import { StatusError } from "@corekube/api";
import { describe, expect, it } from "vitest";
import { patchTypeOf } from "./index.js";

function unsupported(contentType: string | undefined, accepted?: Parameters<typeof patchTypeOf>[1]): StatusError {
  try {
    patchTypeOf(contentType, accepted);
  } catch (e) {
    if (e instanceof StatusError) return e;
    throw e;
  }
  throw new Error("expected a StatusError");
}

describe("patchTypeOf", () => {
  it("maps the four patch media types kubectl sends", () => {
    expect(patchTypeOf("application/json-patch+json")).toBe("json");
    expect(patchTypeOf("application/merge-patch+json")).toBe("merge");
    expect(patchTypeOf("application/strategic-merge-patch+json")).toBe("strategic");
    expect(patchTypeOf("application/apply-patch+yaml")).toBe("apply");
  });

  it("ignores parameters, spaces and case", () => {
    expect(patchTypeOf("application/merge-patch+json; charset=utf-8")).toBe("merge");
    expect(patchTypeOf(" Application/Strategic-Merge-Patch+JSON ;charset=UTF-8")).toBe("strategic");
  });

  it("refuses anything else with 415 listing the accepted types", () => {
    for (const ct of ["application/json", "application/apply-patch+cbor", "", undefined]) {
      const err = unsupported(ct);
      expect(err.code).toBe(415);
      expect(err.reason).toBe("UnsupportedMediaType");
      expect(err.message).toBe(
        "the body of the request was in an unknown format - accepted media types include: " +
          "application/json-patch+json, application/merge-patch+json, application/strategic-merge-patch+json, application/apply-patch+yaml",
      );
    }
  });

  it("can narrow the accepted types, e.g. no strategic merge patch for custom resources", () => {
    const err = unsupported("application/strategic-merge-patch+json", ["json", "merge", "apply"]);
    expect(err.code).toBe(415);
    expect(err.message).not.toContain("strategic");
    expect(patchTypeOf("application/merge-patch+json", ["json", "merge", "apply"])).toBe("merge");
  });
});
