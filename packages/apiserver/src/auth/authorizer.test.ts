// Book 14.2: tests for the first authorizer and kube-apiserver's 403 wording.
import { describe, expect, it } from "vitest";
import { anonymousUser } from "./authenticator.js";
import {
  AlwaysAllowAuthenticated,
  forbiddenError,
  requireAuthorized,
  type AuthorizationAttributes,
  type Authorizer,
} from "./authorizer.js";

const bob = { username: "bob", groups: ["devs", "system:authenticated"] };

function attrs(over: Partial<AuthorizationAttributes>): AuthorizationAttributes {
  return {
    user: bob,
    verb: "get",
    namespace: "default",
    apiGroup: "",
    resource: "pods",
    subresource: "",
    name: "web",
    path: "/api/v1/namespaces/default/pods/web",
    resourceRequest: true,
    ...over,
  };
}

describe("AlwaysAllowAuthenticated", () => {
  it("allows any authenticated user", async () => {
    expect(await AlwaysAllowAuthenticated.authorize(attrs({ verb: "delete" }))).toEqual({ allowed: true });
  });

  it("allows anonymous users only the public health and version paths", async () => {
    const anon = anonymousUser();
    const pub = attrs({ user: anon, resourceRequest: false, path: "/readyz", verb: "get", resource: "", name: "" });
    expect((await AlwaysAllowAuthenticated.authorize(pub)).allowed).toBe(true);
    expect((await AlwaysAllowAuthenticated.authorize(attrs({ user: anon }))).allowed).toBe(false);
    expect((await AlwaysAllowAuthenticated.authorize({ ...pub, path: "/metrics" })).allowed).toBe(false);
  });
});

describe("forbiddenError", () => {
  it("words a namespaced denial as kube-apiserver does", () => {
    const err = forbiddenError(attrs({ resource: "deployments", apiGroup: "apps", name: "web", subresource: "scale" }));
    expect(err.status).toEqual({
      kind: "Status",
      apiVersion: "v1",
      metadata: {},
      status: "Failure",
      message:
        'deployments.apps "web" is forbidden: User "bob" cannot get resource "deployments/scale" in API group "apps" in the namespace "default"',
      reason: "Forbidden",
      details: { name: "web", group: "apps", kind: "deployments" },
      code: 403,
    });
  });

  it("words cluster-scoped lists and appends the authorizer's reason", () => {
    const err = forbiddenError(attrs({ verb: "list", resource: "nodes", namespace: "", name: "" }), "RBAC: not bound");
    expect(err.status.message).toBe('nodes is forbidden: User "bob" cannot list resource "nodes" in API group "" at the cluster scope: RBAC: not bound');
  });

  it("words non-resource paths", () => {
    const err = forbiddenError(attrs({ resourceRequest: false, path: "/metrics", resource: "", name: "" }));
    expect(err.status.message).toBe('forbidden: User "bob" cannot get path "/metrics"');
    expect(err.status.details).toBeUndefined();
  });
});

describe("requireAuthorized", () => {
  it("throws the 403 when denied and passes when allowed", async () => {
    const denyAll: Authorizer = { authorize: async () => ({ allowed: false }) };
    await expect(requireAuthorized(denyAll, attrs({}))).rejects.toMatchObject({ code: 403 });
    await expect(requireAuthorized(AlwaysAllowAuthenticated, attrs({}))).resolves.toBeUndefined();
  });
});
