// Book 14.2: authorization — may this user do this verb on this resource? The request's
// attributes, a first policy (every authenticated user may do anything; RBAC comes later) and the
// 403 Forbidden Status kube-apiserver sends on a denial.
import { forbidden, type StatusError } from "@corekube/api";
import type { UserInfo } from "../registry/types.js";
import { AUTHENTICATED_GROUP } from "./authenticator.js";
import { isAnonymousAllowed } from "./anonymous.js";

/** What is being asked, as kube-apiserver's authorizer.Attributes. */
export interface AuthorizationAttributes {
  user: UserInfo;
  /** API verbs (get, list, watch, create, update, patch, delete, deletecollection) or, for non-resource paths, the lower-case HTTP method. */
  verb: string;
  namespace: string;
  apiGroup: string;
  resource: string;
  subresource: string;
  name: string;
  /** The request path, e.g. /api/v1/namespaces/default/pods/web or /healthz. */
  path: string;
  /** false for non-resource URLs such as /healthz, /version, /openapi/v2. */
  resourceRequest: boolean;
}

export interface Decision {
  allowed: boolean;
  /** Why, for denials (appended to the 403 message) or for the audit trail. */
  reason?: string;
}

export interface Authorizer {
  authorize(attrs: AuthorizationAttributes): Promise<Decision>;
}

/** Lets every authenticated user do anything; anonymous users only read public info. */
export const AlwaysAllowAuthenticated: Authorizer = {
  async authorize(attrs) {
    if (attrs.user.groups.includes(AUTHENTICATED_GROUP)) return { allowed: true };
    if (!attrs.resourceRequest && attrs.verb === "get" && isAnonymousAllowed("GET", attrs.path)) {
      return { allowed: true, reason: "public information" };
    }
    return { allowed: false, reason: "" };
  },
};

/**
 * The sentence a denial starts with, in kube-apiserver's words:
 * `User "u" cannot get resource "pods/log" in API group "" in the namespace "default"`,
 * `... at the cluster scope`, or `User "u" cannot get path "/metrics"`.
 */
export function forbiddenMessage(attrs: AuthorizationAttributes): string {
  const user = JSON.stringify(attrs.user.username);
  if (!attrs.resourceRequest) return `User ${user} cannot ${attrs.verb} path ${JSON.stringify(attrs.path)}`;
  const resource = attrs.subresource === "" ? attrs.resource : `${attrs.resource}/${attrs.subresource}`;
  const head = `User ${user} cannot ${attrs.verb} resource ${JSON.stringify(resource)} in API group ${JSON.stringify(attrs.apiGroup)}`;
  return attrs.namespace === "" ? `${head} at the cluster scope` : `${head} in the namespace ${JSON.stringify(attrs.namespace)}`;
}

/**
 * The 403 for a denial: `pods "web" is forbidden: User "u" cannot get resource "pods" in API
 * group "" in the namespace "default"`, with `: <reason>` appended when the authorizer gave one.
 */
export function forbiddenError(attrs: AuthorizationAttributes, reason = ""): StatusError {
  const msg = forbiddenMessage(attrs);
  const full = reason === "" ? msg : `${msg}: ${reason}`;
  const resource = attrs.resourceRequest ? { group: attrs.apiGroup, resource: attrs.resource } : { group: "", resource: "" };
  return forbidden(resource, attrs.resourceRequest ? attrs.name : "", full);
}

/** Asks the authorizer and throws the 403 StatusError when it says no. */
export async function requireAuthorized(authz: Authorizer, attrs: AuthorizationAttributes): Promise<void> {
  const decision = await authz.authorize(attrs);
  if (!decision.allowed) throw forbiddenError(attrs, decision.reason ?? "");
}
