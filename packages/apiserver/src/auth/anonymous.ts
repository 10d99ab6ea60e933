// Book 14.2–14.3: what an unauthenticated caller may do — only read the health and version
// endpoints (kube-apiserver's system:public-info-viewer); everything else is 401 Unauthorized.
import type { IncomingMessage } from "node:http";
import { unauthorized, type StatusError } from "@corekube/api";
import type { UserInfo } from "../registry/types.js";
import { anonymousUser, type Authenticator } from "./authenticator.js";

/** Paths an anonymous GET may read; "healthz" and friends also cover their sub-paths (/readyz/etcd). */
const PUBLIC_TREES = ["/healthz", "/livez", "/readyz"];
const PUBLIC_EXACT = ["/version", "/version/"];

/** The path of a request target without its query string. */
function pathOf(url: string): string {
  const q = url.search(/[?#]/);
  return q < 0 ? url : url.slice(0, q);
}

/**
 * Whether a request without credentials may proceed as system:anonymous: GET (or HEAD) of
 * /healthz, /livez, /readyz (and below) and /version. Paths with `.`/`..` segments or encoded
 * slashes are refused so that no spelling reaches another handler.
 */
export function isAnonymousAllowed(method: string | undefined, url: string | undefined): boolean {
  if (method !== "GET" && method !== "HEAD") return false;
  if (url === undefined) return false;
  const path = pathOf(url);
  if (!path.startsWith("/") || path.includes("//") || /%2f|%5c|\\/i.test(path)) return false;
  let decoded: string;
  try {
    decoded = decodeURIComponent(path);
  } catch {
    return false;
  }
  if (decoded.split("/").some((seg) => seg === "." || seg === "..")) return false;
  if (PUBLIC_EXACT.includes(decoded)) return true;
  return PUBLIC_TREES.some((p) => decoded === p || decoded.startsWith(`${p}/`));
}

/** The 401 kube-apiserver sends: reason Unauthorized, message "Unauthorized". */
export function unauthorizedError(cause?: unknown): StatusError {
  const err = unauthorized("Unauthorized");
  // The real reason stays server-side (logs); the client only learns it was not authenticated.
  if (cause !== undefined) (err as Error).cause = cause;
  return err;
}

/**
 * The user a request runs as: the authenticated user; system:anonymous where anonymous access
 * is allowed; otherwise a thrown 401 StatusError. Bad credentials are 401 on every path, as in
 * kube-apiserver (anonymous is only for callers that presented none).
 */
export async function resolveUser(authn: Authenticator, req: IncomingMessage): Promise<UserInfo> {
  let user: UserInfo | undefined;
  try {
    user = await authn.authenticate(req);
  } catch (err) {
    throw unauthorizedError(err);
  }
  if (user !== undefined) return user;
  if (isAnonymousAllowed(req.method, req.url)) return anonymousUser();
  throw unauthorizedError();
}
