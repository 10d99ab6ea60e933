// Book 14.3 (service accounts): POST serviceaccounts/<name>/token — an authentication.k8s.io/v1
// TokenRequest in, the same object with status.token (a signed, bound JWT) out.
import { badRequest, conflict, field, invalid, isNotFound, notFound, type FieldError } from "@corekube/api";
import type { ServiceAccountTokens } from "../auth/serviceaccount.js";
import { decodeKubernetesProtobuf, isKubernetesProtobuf } from "../protobuf/index.js";
import { timestamp } from "../registry/store.js";
import type { KubeObject } from "../registry/types.js";
import { builtinSchemas, createResolver, type SchemaResolver } from "../schema/index.js";
import type { ApiRegistry } from "./api-registry.js";
import { decodeObjectBody } from "./body.js";
import { header, type ApiRequest, type ApiResponse } from "./resource-handlers.js";

export const DEFAULT_TOKEN_EXPIRATION_SECONDS = 3600;
const MIN_TOKEN_EXPIRATION_SECONDS = 600;
const MAX_TOKEN_EXPIRATION_SECONDS = 2 ** 32;
const TOKEN_REQUEST = { group: "authentication.k8s.io", kind: "TokenRequest" };

// kubectl create token sends protobuf; its decoder needs the kind registered as a root.
let protobufResolver: SchemaResolver | undefined;
function tokenRequestResolver(): SchemaResolver {
  if (!protobufResolver) {
    const schemas = builtinSchemas();
    schemas["io.k8s.api.authentication.v1.TokenRequest"] = {
      type: "object",
      "x-kubernetes-group-version-kind": [{ group: "authentication.k8s.io", version: "v1", kind: "TokenRequest" }],
    };
    protobufResolver = createResolver(schemas);
  }
  return protobufResolver;
}

interface BoundObjectRef {
  kind?: string;
  apiVersion?: string;
  name?: string;
  uid?: string;
}

function decodeTokenRequest(req: ApiRequest): Record<string, unknown> {
  const ct = header(req, "content-type");
  let value: unknown;
  if (isKubernetesProtobuf(ct)) {
    if (!req.body || req.body.length === 0) throw badRequest("the request body is empty");
    value = decodeKubernetesProtobuf(req.body, tokenRequestResolver());
  } else {
    value = decodeObjectBody(req.body, ct).value;
  }
  if (value === null || typeof value !== "object" || Array.isArray(value)) throw badRequest("the body must be a TokenRequest object");
  const o = value as Record<string, unknown>;
  if (o.kind !== undefined && o.kind !== null && o.kind !== "" && o.kind !== "TokenRequest")
    throw badRequest(`the body must be a TokenRequest, not a ${String(o.kind)}`);
  if (o.apiVersion !== undefined && o.apiVersion !== null && o.apiVersion !== "" && o.apiVersion !== "authentication.k8s.io/v1")
    throw badRequest(`TokenRequest is served as authentication.k8s.io/v1, not ${String(o.apiVersion)}`);
  return o;
}

/** An object of the registry, or undefined when it does not exist. */
export async function lookup(registry: ApiRegistry, resource: string, namespace: string, name: string): Promise<KubeObject | undefined> {
  const store = registry.get("", "v1", resource);
  if (!store) return undefined;
  try {
    return await store.get(namespace, name);
  } catch (e) {
    if (isNotFound(e)) return undefined;
    throw e;
  }
}

/**
 * Issues a token for the ServiceAccount in the URL: 404 when it does not exist; spec.audiences
 * defaults to the API server's audiences, spec.expirationSeconds to an hour (at least ten minutes);
 * spec.boundObjectRef binds the token to a Pod, Secret or Node that must exist (404) and carry
 * the given uid (409), so that deleting that object revokes the token.
 */
export async function handleTokenRequest(registry: ApiRegistry, tokens: ServiceAccountTokens, req: ApiRequest): Promise<ApiResponse> {
  const ns = req.info.namespace;
  const name = req.info.name;
  const body = decodeTokenRequest(req);
  const spec = (body.spec ?? {}) as Record<string, unknown>;
  if (typeof spec !== "object" || Array.isArray(spec)) throw badRequest("spec must be an object");
  const meta = (body.metadata ?? {}) as Record<string, unknown>;
  if (typeof meta.name === "string" && meta.name !== "" && meta.name !== name)
    throw badRequest(`the name of the object (${meta.name}) does not match the name on the URL (${name})`);

  const errs: FieldError[] = [];
  let audiences: string[] = [...tokens.apiAudiences];
  if (spec.audiences !== undefined && spec.audiences !== null) {
    if (!Array.isArray(spec.audiences) || spec.audiences.some((a) => typeof a !== "string")) errs.push(field.invalid("spec.audiences", spec.audiences, "must be a list of strings"));
    else if (spec.audiences.length > 0) audiences = spec.audiences as string[];
  }
  let expirationSeconds = DEFAULT_TOKEN_EXPIRATION_SECONDS;
  if (spec.expirationSeconds !== undefined && spec.expirationSeconds !== null) {
    const e = spec.expirationSeconds;
    if (typeof e !== "number" || !Number.isInteger(e)) errs.push(field.invalid("spec.expirationSeconds", e, "must be a whole number of seconds"));
    else {
      expirationSeconds = e;
      if (e < MIN_TOKEN_EXPIRATION_SECONDS) errs.push(field.invalid("spec.expirationSeconds", e, "may not specify a duration less than 10 minutes"));
      if (e > MAX_TOKEN_EXPIRATION_SECONDS) errs.push(field.invalid("spec.expirationSeconds", e, "may not specify a duration larger than 2^32 seconds"));
    }
  }
  let ref: BoundObjectRef | undefined;
  if (spec.boundObjectRef !== undefined && spec.boundObjectRef !== null) {
    if (typeof spec.boundObjectRef !== "object" || Array.isArray(spec.boundObjectRef)) errs.push(field.invalid("spec.boundObjectRef", spec.boundObjectRef, "must be an object"));
    else ref = spec.boundObjectRef as BoundObjectRef;
  }
  if (errs.length) throw invalid(TOKEN_REQUEST, name, errs);

  const sa = await lookup(registry, "serviceaccounts", ns, name);
  if (!sa) throw notFound("serviceaccounts", name);

  let pod: KubeObject | undefined;
  let secret: KubeObject | undefined;
  let node: KubeObject | undefined;
  if (ref) {
    const apiVersion = typeof ref.apiVersion === "string" ? ref.apiVersion : "";
    const kind = typeof ref.kind === "string" ? ref.kind : "";
    const slash = apiVersion.indexOf("/");
    const group = slash < 0 ? "" : apiVersion.slice(0, slash);
    const version = slash < 0 ? apiVersion : apiVersion.slice(slash + 1);
    const resource = group === "" ? ({ Pod: "pods", Secret: "secrets", Node: "nodes" } as Record<string, string>)[kind] : undefined;
    if (!resource) throw badRequest(`cannot bind token to object of type ${group}/${version}, Kind=${kind}`);
    const refName = typeof ref.name === "string" ? ref.name : "";
    if (refName === "") throw invalid(TOKEN_REQUEST, name, [field.required("spec.boundObjectRef.name", "")]);
    const obj = await lookup(registry, resource, resource === "nodes" ? "" : ns, refName);
    if (!obj) throw notFound(resource, refName);
    const uid = obj.metadata.uid ?? "";
    if (typeof ref.uid === "string" && ref.uid !== "" && ref.uid !== uid)
      throw conflict(
        { group, resource: kind },
        refName,
        `the UID in the bound object reference (${ref.uid}) does not match the UID in record (${uid}). The object might have been deleted and then recreated`,
      );
    if (resource === "pods") {
      const podSa = String((obj.spec as { serviceAccountName?: string } | undefined)?.serviceAccountName ?? "");
      if (podSa !== name) throw badRequest(`cannot bind token for serviceaccount "${name}" to pod running with serviceaccount "${podSa}"`);
      pod = obj;
      // The node the pod runs on joins the claims (informational: the pod is what the token hangs on).
      const nodeName = (obj.spec as { nodeName?: string } | undefined)?.nodeName;
      if (nodeName) node = await lookup(registry, "nodes", "", nodeName);
    } else if (resource === "secrets") secret = obj;
    else node = obj;
  }

  const issued = tokens.issue({ serviceAccount: sa, audiences, expirationSeconds, now: req.ctx.now, pod, secret, node });
  const outRef = ref ? Object.fromEntries(Object.entries({ kind: ref.kind, apiVersion: ref.apiVersion, name: ref.name, uid: ref.uid || (pod ?? secret ?? node)?.metadata.uid }).filter(([, v]) => v !== undefined && v !== "")) : undefined;
  return {
    code: 201,
    body: {
      kind: "TokenRequest",
      apiVersion: "authentication.k8s.io/v1",
      metadata: { name, namespace: ns, creationTimestamp: timestamp(req.ctx.now) },
      spec: { audiences, expirationSeconds, boundObjectRef: outRef ?? null },
      status: { token: issued.token, expirationTimestamp: timestamp(issued.expirationTimestamp) },
    },
  };
}
