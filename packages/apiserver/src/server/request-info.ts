// Book 11.2: how the API server reads a URL — /api/v1/namespaces/ns/pods/name/status becomes
// (group "", version v1, namespace ns, resource pods, name, subresource status) plus a verb, the
// same tuple authorization and admission see (kube-apiserver's RequestInfo).
import { badRequest } from "@corekube/api";

export interface RequestInfo {
  resourceRequest: boolean;
  path: string;
  /** Kubernetes verb: get, list, watch, create, update, patch, delete, deletecollection (or the HTTP verb for non-resource paths). */
  verb: string;
  apiPrefix: "api" | "apis" | "";
  group: string;
  version: string;
  namespace: string;
  resource: string;
  subresource: string;
  name: string;
  /** Segments after the subresource (e.g. proxy paths). */
  parts: string[];
}

/** A %-decoded path segment; a broken escape is the client's error (400), not a crash. */
function decodeSegment(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    throw badRequest(`the path segment "${s.slice(0, 100)}" is not valid %-encoding`);
  }
}

const NAMESPACE_SUBRESOURCES = new Set(["status", "finalize"]);
const HTTP_VERBS: Record<string, string> = { POST: "create", GET: "get", HEAD: "get", PUT: "update", PATCH: "patch", DELETE: "delete" };

export function requestInfo(method: string, path: string, query: URLSearchParams): RequestInfo {
  const info: RequestInfo = {
    resourceRequest: false,
    path,
    verb: method.toLowerCase(),
    apiPrefix: "",
    group: "",
    version: "",
    namespace: "",
    resource: "",
    subresource: "",
    name: "",
    parts: [],
  };
  let segs = path.split("/").filter((s) => s !== "");
  if (segs[0] !== "api" && segs[0] !== "apis") return info;
  info.apiPrefix = segs[0];
  segs = segs.slice(1);
  if (info.apiPrefix === "apis") {
    if (segs.length < 1) return info;
    info.group = segs[0]!;
    segs = segs.slice(1);
  }
  if (segs.length < 1) return info;
  info.version = segs[0]!;
  segs = segs.slice(1);
  if (segs.length < 1) return info; // group-version discovery
  info.resourceRequest = true;
  info.verb = HTTP_VERBS[method] ?? method.toLowerCase();
  // Deprecated /watch/ prefix.
  let watchPrefix = false;
  if (segs[0] === "watch") {
    watchPrefix = true;
    segs = segs.slice(1);
  }
  if (segs[0] === "namespaces" && segs.length > 1) {
    info.namespace = decodeSegment(segs[1]!);
    // /namespaces/ns/<resource>/... is a namespaced resource; /namespaces/ns[/status|/finalize] is
    // the namespace object itself.
    if (segs.length > 2 && !NAMESPACE_SUBRESOURCES.has(segs[2]!)) segs = segs.slice(2);
  }
  info.resource = segs[0]!;
  if (segs.length > 1) info.name = decodeSegment(segs[1]!);
  if (segs.length > 2) info.subresource = segs[2]!;
  if (segs.length > 3) info.parts = segs.slice(3);
  if (!info.name) {
    if (info.verb === "get") info.verb = "list";
    else if (info.verb === "delete") info.verb = "deletecollection";
  }
  if ((info.verb === "list" || info.verb === "get") && (watchPrefix || isTrue(query.get("watch")))) info.verb = "watch";
  return info;
}

export function isTrue(v: string | null | undefined): boolean {
  return v === "true" || v === "1" || v === "True";
}
