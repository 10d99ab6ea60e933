// Book 7.1: downward API values: metadata fields, label/annotation files, resources with divisors.
import type { Pod } from "@corekube/api";
import { describe, expect, it } from "vitest";
import { expandVars, fieldRefValue, formatMap, goQuote, resourceFieldValue } from "./downward.js";

const pod: Pod = {
  metadata: {
    name: "web",
    namespace: "shop",
    uid: "u-1",
    labels: { tier: "front", app: "web" },
    annotations: { note: 'say "hi"\nbye' },
  },
  spec: {
    containers: [
      { name: "app", resources: { limits: { cpu: "500m", memory: "64Mi" }, requests: { cpu: "250m", memory: "32Mi" } } },
      { name: "bare" },
    ],
  },
};

describe("downward API", () => {
  it("writes labels and annotations sorted, as key=\"value\" lines in Go quoting, without a final newline", () => {
    expect(fieldRefValue(pod, "metadata.labels")).toBe('app="web"\ntier="front"');
    expect(fieldRefValue(pod, "metadata.annotations")).toBe('note="say \\"hi\\"\\nbye"');
    expect(formatMap({})).toBe("");
  });

  it("gives name, namespace, uid and single labels", () => {
    expect(fieldRefValue(pod, "metadata.name")).toBe("web");
    expect(fieldRefValue(pod, "metadata.namespace")).toBe("shop");
    expect(fieldRefValue(pod, "metadata.uid")).toBe("u-1");
    expect(fieldRefValue(pod, "metadata.labels['tier']")).toBe("front");
  });

  it("refuses fields volumes do not offer, but allows them for env", () => {
    expect(() => fieldRefValue(pod, "spec.nodeName")).toThrow(/unsupported fieldRef fieldPath "spec.nodeName"/);
    expect(fieldRefValue({ ...pod, spec: { ...pod.spec, nodeName: "n1" } }, "spec.nodeName", true)).toBe("n1");
  });

  it("divides resources by the divisor, rounding up", () => {
    const v = (resource: string, divisor?: string) => resourceFieldValue(pod, { containerName: "app", resource, divisor });
    expect(v("limits.cpu")).toBe("1"); // 500m rounds up to one core
    expect(v("limits.cpu", "1m")).toBe("500");
    expect(v("requests.cpu", "100m")).toBe("3");
    expect(v("limits.memory")).toBe(String(64 * 1024 * 1024));
    expect(v("limits.memory", "1Mi")).toBe("64");
    expect(v("requests.memory", "1Gi")).toBe("1");
  });

  it("uses node allocatable for unset limits and 0 for unset requests", () => {
    const alloc = { cpu: "4", memory: "8Gi" };
    expect(resourceFieldValue(pod, { containerName: "bare", resource: "limits.cpu" }, alloc)).toBe("4");
    expect(resourceFieldValue(pod, { containerName: "bare", resource: "limits.memory", divisor: "1Gi" }, alloc)).toBe("8");
    expect(resourceFieldValue(pod, { containerName: "bare", resource: "requests.memory" }, alloc)).toBe("0");
  });

  it("reports bad references clearly", () => {
    expect(() => resourceFieldValue(pod, { containerName: "nope", resource: "limits.cpu" })).toThrow(/no container "nope"/);
    expect(() => resourceFieldValue(pod, { containerName: "app", resource: "limits.gpu" })).toThrow(/unsupported container resource/);
    expect(() => resourceFieldValue(pod, { containerName: "app", resource: "limits.cpu", divisor: "0" })).toThrow(/must be positive/);
    expect(() => resourceFieldValue(pod, { resource: "limits.cpu" })).toThrow(/needs containerName/);
  });

  it("quotes like Go's strconv.Quote", () => {
    expect(goQuote("a\tb\\c\x01\x7f")).toBe('"a\\tb\\\\c\\x01\\x7f"');
    expect(goQuote("héllo")).toBe('"héllo"');
  });

  it("expands $(VAR), keeps unknown ones and unescapes $$", () => {
    const vars: Record<string, string> = { A: "x", B: "y" };
    const missing: string[] = [];
    expect(expandVars("$(A)/$(B)/$(C)/$$(A)/$", (n) => vars[n], (n) => missing.push(n))).toBe("x/y/$(C)/$(A)/$");
    expect(missing).toEqual(["C"]);
    expect(expandVars("$(A", (n) => vars[n])).toBe("$(A");
  });
});
