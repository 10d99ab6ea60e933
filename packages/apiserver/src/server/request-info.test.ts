// Book 11.2: URLs as the API server reads them, the tuple authorization and admission see.
import { describe, expect, it } from "vitest";
import { requestInfo } from "./request-info.js";

const ri = (method: string, url: string) => {
  const u = new URL(url, "http://x");
  return requestInfo(method, u.pathname, u.searchParams);
};

describe("requestInfo", () => {
  it("reads namespaced collections, objects and subresources", () => {
    expect(ri("GET", "/api/v1/namespaces/default/pods")).toMatchObject({ resourceRequest: true, verb: "list", group: "", version: "v1", namespace: "default", resource: "pods", name: "" });
    expect(ri("GET", "/api/v1/namespaces/default/pods/web")).toMatchObject({ verb: "get", name: "web" });
    expect(ri("PUT", "/apis/apps/v1/namespaces/d/deployments/x/scale")).toMatchObject({ verb: "update", group: "apps", resource: "deployments", name: "x", subresource: "scale" });
    expect(ri("DELETE", "/api/v1/namespaces/d/pods")).toMatchObject({ verb: "deletecollection" });
    expect(ri("GET", "/api/v1/namespaces/d/pods?watch=true")).toMatchObject({ verb: "watch" });
    expect(ri("GET", "/api/v1/watch/namespaces/d/pods")).toMatchObject({ verb: "watch", namespace: "d", resource: "pods" });
  });

  it("reads the namespace object and its subresources", () => {
    expect(ri("GET", "/api/v1/namespaces/kube-system")).toMatchObject({ resource: "namespaces", name: "kube-system", verb: "get" });
    expect(ri("PUT", "/api/v1/namespaces/x/finalize")).toMatchObject({ resource: "namespaces", name: "x", subresource: "finalize", verb: "update" });
    expect(ri("GET", "/api/v1/namespaces")).toMatchObject({ resource: "namespaces", verb: "list" });
  });

  it("reads cluster-scoped and all-namespaces paths", () => {
    expect(ri("GET", "/api/v1/nodes/n1/status")).toMatchObject({ resource: "nodes", name: "n1", subresource: "status", namespace: "" });
    expect(ri("GET", "/api/v1/pods")).toMatchObject({ resource: "pods", namespace: "", verb: "list" });
  });

  it("leaves discovery and other paths as non-resource requests", () => {
    expect(ri("GET", "/apis/apps/v1")).toMatchObject({ resourceRequest: false, group: "apps", version: "v1" });
    expect(ri("GET", "/api")).toMatchObject({ resourceRequest: false });
    expect(ri("GET", "/healthz")).toMatchObject({ resourceRequest: false, verb: "get" });
  });
});

describe("requestInfo on broken URLs", () => {
  it("a bad %-escape in a namespace or name is a 400 Status error, not a crash", () => {
    expect(() => requestInfo("GET", "/api/v1/namespaces/%zz/pods", new URLSearchParams())).toThrow(expect.objectContaining({ code: 400, reason: "BadRequest" }));
    expect(() => requestInfo("GET", "/api/v1/namespaces/d/pods/%E0%A4%A", new URLSearchParams())).toThrow(expect.objectContaining({ code: 400 }));
    expect(requestInfo("GET", "/api/v1/namespaces/d/pods/a%2Fb", new URLSearchParams())).toMatchObject({ name: "a/b" });
  });
});
