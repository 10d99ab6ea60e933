// Book 1.6.1, 2.3.1 and 11.2: the API server's HTTP front — TLS, authentication, authorization,
// then discovery, OpenAPI, health and the REST resources; every error leaves as a Kubernetes Status.
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Duplex } from "node:stream";
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from "fastify";
import {
  badRequest,
  failure,
  field,
  invalid,
  internalError,
  isStatusError,
  methodNotSupported,
  requestEntityTooLarge,
  StatusError,
  type FieldError,
  type Status,
} from "@corekube/api";
import type { Authenticator } from "../auth/authenticator.js";
import { resolveUser } from "../auth/anonymous.js";
import { requireAuthorized, type Authorizer } from "../auth/authorizer.js";
import type { ResourceStore } from "../registry/store.js";
import type { RequestContext, UserInfo } from "../registry/types.js";
import type { ApiRegistry } from "./api-registry.js";
import {
  aggregatedContentType,
  aggregatedDiscovery,
  aggregatedWanted,
  apiGroup,
  apiGroupList,
  apiResourceList,
  apiVersions,
} from "./discovery.js";
import { mediaType } from "./body.js";
import { requestInfo, isTrue, type RequestInfo } from "./request-info.js";
import { includeOf, ResourceHandlers, type ApiRequest, type ApiResponse } from "./resource-handlers.js";
import { handleBinding, handleEviction, handleFinalize, handleScale } from "./subresources.js";
import { handleTokenRequest } from "./token-request.js";
import type { ServiceAccountTokens } from "../auth/serviceaccount.js";
import { tableOf, wantsTable } from "./table.js";
import { serveWatch } from "./watch-stream.js";
import type { Metrics } from "./metrics.js";

export const MAX_BODY_BYTES = 3 * 1024 * 1024;

/** The options object each write's query parameters stand for (named in its 422 answers). */
const OPTIONS_KIND: Record<string, string> = { POST: "CreateOptions", PUT: "UpdateOptions", PATCH: "PatchOptions", DELETE: "DeleteOptions" };

export interface VersionInfo {
  major: string;
  minor: string;
  gitVersion: string;
  gitCommit: string;
  gitTreeState: string;
  buildDate: string;
  goVersion: string;
  compiler: string;
  platform: string;
}

export const VERSION: VersionInfo = {
  major: "1",
  minor: "33",
  gitVersion: "v1.33.0-corekube",
  gitCommit: "0000000000000000000000000000000000000000",
  gitTreeState: "clean",
  buildDate: "2026-01-01T00:00:00Z",
  goVersion: `node${process.versions.node}`,
  compiler: "tsc",
  platform: `${process.platform}/${process.arch === "x64" ? "amd64" : process.arch}`,
};

export interface OpenApiProvider {
  /** GET /openapi/v3 */
  index(): unknown;
  /** GET /openapi/v3/<gvPath>; undefined → 404 */
  document(gvPath: string): { body: unknown; json?: string; hash: string } | undefined;
}

export interface HealthCheck {
  name: string;
  check(): Promise<void>;
}

/** Handlers for the pod subresources that reach the kubelet (logs, exec). */
export interface PodProxy {
  logs(req: ApiRequest, res: ServerResponse): Promise<void>;
  exec(req: ApiRequest, raw: IncomingMessage, socket: Duplex, head: Buffer): Promise<void>;
}

export interface AppOptions {
  registry: ApiRegistry;
  authenticator: Authenticator;
  authorizer: Authorizer;
  openapi: () => OpenApiProvider;
  health: HealthCheck[];
  metrics?: Metrics;
  podProxy?: PodProxy;
  https?: { key: string; cert: string; ca?: string };
  /** host:port that clients should use (discovery's serverAddressByClientCIDRs). */
  serverAddress: string;
  /** Signs serviceaccounts/token answers; without it that subresource is 404. */
  serviceAccountTokens?: ServiceAccountTokens;
  logger?: boolean;
  now?: () => Date;
}

interface Ctx {
  user: UserInfo;
  info: RequestInfo;
  query: URLSearchParams;
  path: string;
}

declare module "fastify" {
  interface FastifyRequest {
    k8s?: Ctx;
  }
}

function statusBody(e: StatusError): Status {
  return e.status;
}

/**
 * A write's query parameters are its options object (CreateOptions, PatchOptions...), which
 * kube-apiserver validates before anything else: 422 naming the options kind, one cause per field.
 */
export function validateWriteOptions(method: string, query: URLSearchParams, contentType: string | undefined): void {
  const kind = OPTIONS_KIND[method];
  if (!kind) return;
  const errs: FieldError[] = [];
  const manager = query.get("fieldManager");
  if (method !== "DELETE" && manager !== null) {
    if (Buffer.byteLength(manager) > 128) errs.push(field.tooLong("fieldManager", manager, 128));
    let at = 0;
    for (const ch of manager) {
      // Go's unicode.IsPrint: letters, marks, numbers, punctuation, symbols and the ASCII space.
      if (!/^[\p{L}\p{M}\p{N}\p{P}\p{S} ]$/u.test(ch)) {
        const code = `U+${ch.codePointAt(0)!.toString(16).toUpperCase().padStart(4, "0")}`;
        errs.push(field.invalid("fieldManager", manager, `invalid character ${code} (at position ${at})`));
      }
      at += Buffer.byteLength(ch);
    }
  }
  const dry = query.getAll("dryRun");
  if (dry.some((v) => v !== "All")) errs.push(field.notSupported("dryRun", dry, ["All"]));
  const validation = query.get("fieldValidation");
  if (method !== "DELETE" && validation !== null && !["", "Ignore", "Strict", "Warn"].includes(validation))
    errs.push(field.notSupported("fieldValidation", validation, ["", "Ignore", "Strict", "Warn"]));
  if (method === "PATCH") {
    const apply = mediaType(contentType).startsWith("application/apply-patch");
    if (!apply && query.has("force")) errs.push(field.forbidden("force", "may not be specified for non-apply patch"));
    if (apply && !manager) errs.push(field.required("fieldManager", "is required for apply patch"));
  }
  const policy = query.get("propagationPolicy");
  if (method === "DELETE" && policy !== null && !["Foreground", "Background", "Orphan"].includes(policy))
    errs.push(field.notSupported("propagationPolicy", policy, ["Foreground", "Background", "Orphan"]));
  if (errs.length) throw invalid({ group: "meta.k8s.io", kind }, "", errs);
}

/** 405 as kube-apiserver's router gives it: the path exists, but not for this HTTP method. */
export function methodNotAllowed(): StatusError {
  return new StatusError({
    kind: "Status",
    apiVersion: "v1",
    metadata: {},
    status: "Failure",
    message: "the server does not allow this method on the requested resource",
    reason: "MethodNotAllowed",
    details: {},
    code: 405,
  });
}

/** 404 for a path that names nothing (kube-apiserver's router wording). */
function noSuchPath(): StatusError {
  return failure(404, "NotFound", "the server could not find the requested resource", {});
}

/** A Status answer written straight onto a socket whose HTTP request could not even be parsed. */
export function clientErrorResponse(err: { code?: string }): string {
  const se =
    err.code === "HPE_HEADER_OVERFLOW"
      ? failure(431, "", "the request's headers are larger than the server accepts")
      : err.code === "ERR_HTTP_REQUEST_TIMEOUT"
        ? failure(408, "Timeout", "Timeout: the request was not received in time")
        : badRequest(`the request is not valid HTTP${err.code ? ` (${err.code})` : ""}`);
  const body = JSON.stringify(se.status);
  const text = se.code === 431 ? "Request Header Fields Too Large" : se.code === 408 ? "Request Timeout" : "Bad Request";
  return `HTTP/1.1 ${se.code} ${text}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`;
}

const MAX_WARNING_TEXT = 1024;
const MAX_WARNING_HEADER = 4096;

/**
 * The Warning header for a request's warnings ("299 - \"text\"", comma-separated). The text may
 * quote what the client sent (an unknown field's name). Node writes header values as UTF-8 of
 * their latin1 code units, so a raw non-ASCII byte cannot go out: quotes and backslashes are
 * escaped, anything outside printable ASCII becomes \uXXXX, long texts are cut, and warnings past
 * 4 KiB are dropped — a header Node refused would turn the answer into a 500.
 */
export function warningHeader(warnings: readonly string[]): string | undefined {
  const parts: string[] = [];
  let size = 0;
  for (const w of new Set(warnings)) {
    let text = w.length > MAX_WARNING_TEXT ? `${w.slice(0, MAX_WARNING_TEXT)}...` : w;
    text = text.replace(/["\\]/g, (c) => `\\${c}`).replace(/[^\x20-\x7e]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
    const value = `299 - "${text}"`;
    if (size + value.length + 2 > MAX_WARNING_HEADER) break;
    parts.push(value);
    size += value.length + 2;
  }
  return parts.length ? parts.join(", ") : undefined;
}

export function toStatusError(err: unknown): StatusError {
  if (isStatusError(err)) return err;
  const e = err as { code?: string; statusCode?: number; message?: string };
  if (e?.code === "FST_ERR_CTP_BODY_TOO_LARGE" || e?.statusCode === 413) return requestEntityTooLarge(`limit is ${MAX_BODY_BYTES}`);
  if (e?.code === "FST_ERR_CTP_INVALID_MEDIA_TYPE" || e?.statusCode === 415) return failure(415, "UnsupportedMediaType", e.message ?? "unsupported media type");
  if (typeof e?.statusCode === "number" && e.statusCode >= 400 && e.statusCode < 500) return badRequest(e.message ?? "bad request");
  return internalError(err);
}

export async function createApp(opts: AppOptions): Promise<FastifyInstance> {
  const now = opts.now ?? (() => new Date());
  const app = Fastify({
    logger: opts.logger ?? false,
    bodyLimit: MAX_BODY_BYTES,
    ...(opts.https
      ? { https: { key: opts.https.key, cert: opts.https.cert, ca: opts.https.ca, requestCert: true, rejectUnauthorized: false } }
      : {}),
    return503OnClosing: true,
    forceCloseConnections: true,
    routerOptions: { ignoreDuplicateSlashes: true, ignoreTrailingSlash: true, maxParamLength: 10_000 },
    // A path with bad %-escapes never reaches the routes; answer it with a Status all the same.
    frameworkErrors: (err: Error, _req: FastifyRequest, reply: FastifyReply) => {
      const se = badRequest(err.message);
      void reply.code(400).type("application/json").send(JSON.stringify(se.status));
    },
    clientErrorHandler: (err: Error & { code?: string }, socket: Duplex) => {
      if (err.code === "ECONNRESET" || socket.destroyed) return;
      if (socket.writable) socket.write(clientErrorResponse(err));
      socket.destroy(err);
    },
  } as never) as unknown as FastifyInstance;
  const handlers = new ResourceHandlers(opts.registry);

  app.removeAllContentTypeParsers();
  app.addContentTypeParser("*", { parseAs: "buffer", bodyLimit: MAX_BODY_BYTES }, (_req, body, done) => done(null, body));

  app.setErrorHandler((err, req, reply) => {
    const se = toStatusError(err);
    if (se.code >= 500) req.log?.error?.(err);
    if (se.code >= 500 && !isStatusError(err)) console.error("apiserver: internal error:", err);
    void reply.code(se.code).type("application/json").send(statusBody(se));
  });
  app.setNotFoundHandler((req, reply) => {
    void reply.code(404).type("application/json").send(statusBody(noSuchPath()));
    void req;
  });

  app.addHook("onRequest", async (req) => {
    const url = new URL(req.url, "http://x");
    const user = await resolveUser(opts.authenticator, req.raw);
    const info = requestInfo(req.method, url.pathname, url.searchParams);
    req.k8s = { user, info, query: url.searchParams, path: url.pathname };
    await requireAuthorized(opts.authorizer, {
      user,
      verb: info.verb,
      namespace: info.namespace,
      apiGroup: info.group,
      resource: info.resource,
      subresource: info.subresource,
      name: info.name,
      path: url.pathname,
      resourceRequest: info.resourceRequest,
    });
  });

  // onSend and onResponse run for every request; as callback hooks they cost no promise each.
  app.addHook("onSend", (req, reply, payload, done) => {
    const warnings = (req as FastifyRequest & { ctxWarnings?: string[] }).ctxWarnings;
    const header = warnings?.length ? warningHeader(warnings) : undefined;
    if (header) reply.header("Warning", header);
    done(null, payload);
  });

  const json = (reply: FastifyReply, code: number, body: unknown, type = "application/json") => reply.code(code).type(type).send(JSON.stringify(body));

  // ------------------------------------------------------------------ non-resource endpoints
  app.get("/version", async (_req, reply) => json(reply, 200, VERSION));

  const healthHandler = (kind: "livez" | "readyz" | "healthz") => async (req: FastifyRequest, reply: FastifyReply) => {
    const checks = kind === "livez" ? opts.health.filter((c) => c.name === "ping") : opts.health;
    const q = req.k8s!.query;
    const excluded = new Set(q.getAll("exclude"));
    const lines: string[] = [];
    let ok = true;
    for (const c of checks) {
      if (excluded.has(c.name)) {
        lines.push(`[+]${c.name} excluded: ok`);
        continue;
      }
      try {
        await c.check();
        lines.push(`[+]${c.name} ok`);
      } catch (e) {
        ok = false;
        lines.push(`[-]${c.name} failed: ${q.has("verbose") ? (e as Error).message : "reason withheld"}`);
      }
    }
    const verbose = q.has("verbose") || !ok;
    const body = verbose ? `${lines.join("\n")}\n${kind} check ${ok ? "passed" : "failed"}\n` : "ok";
    return reply.code(ok ? 200 : 500).type("text/plain; charset=utf-8").send(body);
  };
  for (const k of ["livez", "readyz", "healthz"] as const) {
    app.get(`/${k}`, healthHandler(k));
    app.get(`/${k}/*`, async (req, reply) => {
      const name = (req.params as { "*": string })["*"].replace(/\/+$/, "");
      const c = opts.health.find((h) => h.name === name);
      if (!c) throw noSuchPath();
      try {
        await c.check();
        return reply.code(200).type("text/plain").send("ok");
      } catch (e) {
        return reply.code(500).type("text/plain").send(`[-]${name} failed: ${(e as Error).message}\n`);
      }
    });
  }

  app.get("/metrics", async (_req, reply) => {
    if (!opts.metrics) return reply.code(404).send();
    const text = await opts.metrics.render();
    return reply.code(200).type(opts.metrics.contentType).send(text);
  });

  app.get("/openapi/v2", async (_req, reply) =>
    // An empty protobuf Document: kubectl then validates on the server (fieldValidation) and uses
    // its compiled-in patch metadata. kubectl wants the ".v1.0" spelling of the type.
    reply.code(200).type("application/com.github.proto-openapi.spec.v2.v1.0+protobuf").send(Buffer.alloc(0)),
  );
  app.get("/openapi/v3", async (_req, reply) => json(reply, 200, opts.openapi().index()));
  app.get("/openapi/v3/*", async (req, reply) => {
    const gv = req.k8s!.path.slice("/openapi/v3/".length).replace(/\/+$/, "");
    const doc = opts.openapi().document(gv);
    if (!doc) throw failure(404, "NotFound", `the server could not find the requested resource: /openapi/v3/${gv}`, {});
    reply.header("Etag", `"${doc.hash}"`);
    if (req.k8s!.query.get("hash") === doc.hash) reply.header("Cache-Control", "public, immutable");
    return reply.code(200).type("application/json").send(doc.json ?? JSON.stringify(doc.body));
  });

  // Discovery
  app.get("/api", async (req, reply) => {
    const agg = aggregatedWanted(req.headers.accept);
    if (agg) return json(reply, 200, aggregatedDiscovery(opts.registry, true, agg), aggregatedContentType(agg));
    return json(reply, 200, apiVersions(opts.serverAddress));
  });
  app.get("/apis", async (req, reply) => {
    const agg = aggregatedWanted(req.headers.accept);
    if (agg) return json(reply, 200, aggregatedDiscovery(opts.registry, false, agg), aggregatedContentType(agg));
    return json(reply, 200, apiGroupList(opts.registry));
  });

  // Everything under /api and /apis.
  const dispatch = async (req: FastifyRequest, reply: FastifyReply) => {
    const { info, query, user } = req.k8s!;
    if (!info.resourceRequest) return discoveryFor(req, reply, info);
    const store = opts.registry.get(info.group, info.version, info.resource);
    const ctx: RequestContext & { userAgent?: string } = {
      user,
      namespace: info.namespace,
      now: now(),
      dryRun: false,
      warnings: [],
      userAgent: req.headers["user-agent"],
    };
    (req as FastifyRequest & { ctxWarnings?: string[] }).ctxWarnings = ctx.warnings;
    const areq: ApiRequest = { method: req.method, info, query, headers: req.headers, body: req.body as Buffer | undefined, ctx };
    if (OPTIONS_KIND[req.method]) {
      validateWriteOptions(req.method, query, req.headers["content-type"]);
      ctx.dryRun = query.getAll("dryRun").length > 0;
    }
    // POST /api/v1/namespaces/ns/bindings: the old way to bind a pod.
    if (!store && info.group === "" && info.resource === "bindings" && req.method === "POST") {
      const pods = opts.registry.get("", "v1", "pods");
      if (pods) return send(reply, await handleBinding(pods, areq, ""), ctx);
    }
    if (!store) throw noSuchPath();
    const def = store.def;
    if (def.namespaced && info.name && !info.namespace && !(def.group === "" && def.resource === "namespaces")) throw noSuchPath();
    if (!def.namespaced && info.namespace && !(def.group === "" && def.resource === "namespaces")) throw noSuchPath();
    const res = await resource(store, areq, req, reply);
    if (res) return send(reply, res, ctx);
  };

  const send = (reply: FastifyReply, r: ApiResponse, ctx: RequestContext) => {
    void ctx; // its warnings go out in the onSend hook
    return reply.code(r.code).type(r.contentType ?? "application/json").send(r.raw ?? JSON.stringify(r.body));
  };

  const resource = async (store: ResourceStore, areq: ApiRequest, req: FastifyRequest, reply: FastifyReply): Promise<ApiResponse | undefined> => {
    const { info } = areq;
    const def = store.def;
    const verbs = def.verbs;
    // A verb the resource lacks has no route in kube-apiserver: 405 from the router (404 when
    // nothing at all is served at the path), except watch, which the list handler refuses itself.
    const allowed = (v: string) => !verbs || verbs.includes(v as never);
    const sub = info.subresource;
    if (sub === "") {
      switch (info.verb) {
        case "get":
          if (!allowed("get")) throw methodNotAllowed();
          return handlers.get(store, areq);
        case "list":
          if (!allowed("list")) throw methodNotAllowed();
          return handlers.list(store, areq);
        case "watch": {
          if (!allowed("watch")) throw methodNotSupported(def, "watch");
          await watch(store, areq, req, reply);
          return undefined;
        }
        case "create":
          // POST to an object's own path: only collections take POST.
          if (info.name || !allowed("create")) throw methodNotAllowed();
          return handlers.create(store, areq);
        case "update":
          // PUT and PATCH name one object; a collection has neither.
          if (!info.name || !allowed("update")) throw methodNotAllowed();
          return handlers.update(store, areq);
        case "patch":
          if (!info.name || !allowed("patch")) throw methodNotAllowed();
          return handlers.patch(store, areq);
        case "delete":
          if (!allowed("delete")) throw methodNotAllowed();
          return handlers.delete(store, areq);
        case "deletecollection":
          if (!allowed("deletecollection")) throw methodNotAllowed();
          return handlers.deleteCollection(store, areq);
        default:
          throw methodNotAllowed();
      }
    }
    if (sub === "status" && def.subresources?.status) {
      if (req.method === "GET" || req.method === "HEAD") return handlers.get(store, areq);
      if (req.method === "PUT") return handlers.update(store, areq);
      if (req.method === "PATCH") return handlers.patch(store, areq);
      throw methodNotAllowed();
    }
    if (sub === "scale" && def.subresources?.scale) {
      if (!["GET", "HEAD", "PUT", "PATCH"].includes(req.method)) throw methodNotAllowed();
      return handleScale(store, areq);
    }
    const isPods = def.group === "" && def.resource === "pods";
    if (isPods && sub === "binding") {
      if (req.method !== "POST") throw methodNotAllowed();
      return handleBinding(store, areq, info.name);
    }
    if (isPods && sub === "eviction") {
      if (req.method !== "POST") throw methodNotAllowed();
      return handleEviction(opts.registry, store, areq);
    }
    if (isPods && sub === "log") {
      if (req.method !== "GET" && req.method !== "HEAD") throw methodNotAllowed();
      if (!opts.podProxy) throw failure(503, "ServiceUnavailable", "pod logs are not available: no kubelet proxy is configured");
      reply.hijack();
      await opts.podProxy.logs(areq, reply.raw).catch((e) => writeRawError(reply.raw, toStatusError(e)));
      return undefined;
    }
    if (isPods && (sub === "exec" || sub === "attach" || sub === "portforward")) {
      // A plain request (no WebSocket upgrade) here: SPDY clients and curl land here. Look the
      // pod up first so that kubectl's SPDY fallback shows "not found" rather than our protocol note.
      await store.get(info.namespace, info.name);
      throw badRequest(
        sub === "portforward"
          ? "port-forward is not supported by this API server"
          : `${sub} needs a WebSocket upgrade with subprotocol v5.channel.k8s.io (kubectl 1.30 or newer; on 1.29 set KUBECTL_REMOTE_COMMAND_WEBSOCKETS=true)`,
      );
    }
    if (def.group === "" && def.resource === "serviceaccounts" && sub === "token" && opts.serviceAccountTokens) {
      // Authorized above as verb "create" on serviceaccounts/token.
      if (req.method !== "POST") throw methodNotAllowed();
      return handleTokenRequest(opts.registry, opts.serviceAccountTokens, areq);
    }
    if (def.group === "" && def.resource === "namespaces" && sub === "finalize") {
      if (req.method !== "PUT") throw methodNotAllowed();
      return handleFinalize(store, areq);
    }
    throw noSuchPath();
  };

  const watch = async (store: ResourceStore, areq: ApiRequest, req: FastifyRequest, reply: FastifyReply) => {
    const { query, info } = areq;
    const listOpts = handlers.listOptions(store, query);
    const ns = store.def.namespaced ? info.namespace : "";
    const filter = store.filter(ns, listOpts.labels, listOpts.fields);
    if (info.name) {
      // GET .../pods/name?watch=true: a watch of one object.
      const nameSel = { requirements: [{ field: "metadata.name", operator: "=" as const, value: info.name }] };
      filter.fields = listOpts.fields ? { requirements: [...listOpts.fields.requirements, ...nameSel.requirements] } : nameSel;
    }
    const timeoutRaw = query.get("timeoutSeconds");
    let timeoutSeconds: number | undefined;
    if (timeoutRaw !== null && timeoutRaw !== "") {
      timeoutSeconds = Number(timeoutRaw);
      if (!Number.isInteger(timeoutSeconds) || timeoutSeconds < 0) throw badRequest(`timeoutSeconds must be a non-negative integer, got "${timeoutRaw}"`);
      // Past 2^31 ms a Node timer fires at once; a day is longer than any client waits anyway.
      timeoutSeconds = Math.min(timeoutSeconds, 86_400);
    }
    const table = wantsTable(req.headers.accept);
    const include = includeOf(query);
    const render = table
      ? (obj: Parameters<typeof tableOf>[1][number], first: boolean) =>
          tableOf(store.def, [obj], { now: now(), include, version: table, noHeaders: !first, resourceVersion: obj.metadata.resourceVersion })
      : undefined;
    reply.hijack();
    opts.metrics?.watchStarted(store.def);
    reply.raw.on("close", () => opts.metrics?.watchEnded(store.def));
    await serveWatch(store, reply.raw, {
      filter,
      resourceVersion: listOpts.resourceVersion,
      allowBookmarks: isTrue(query.get("allowWatchBookmarks")),
      timeoutSeconds,
      render,
    });
  };

  const discoveryFor = async (req: FastifyRequest, reply: FastifyReply, info: RequestInfo) => {
    if (req.method !== "GET" && req.method !== "HEAD") throw methodNotAllowed();
    if (info.apiPrefix === "api" && info.version) {
      const list = apiResourceList(opts.registry, "", info.version);
      if (list) return json(reply, 200, list);
    } else if (info.apiPrefix === "apis" && info.group && info.version) {
      const list = apiResourceList(opts.registry, info.group, info.version);
      if (list) return json(reply, 200, list);
    } else if (info.apiPrefix === "apis" && info.group) {
      const g = opts.registry.groups().find((x) => x.group === info.group);
      if (g) return json(reply, 200, { kind: "APIGroup", apiVersion: "v1", ...apiGroup(g.group, g.versions) });
    }
    throw noSuchPath();
  };

  app.route({ method: ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"], url: "/api/*", handler: dispatch });
  app.route({ method: ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"], url: "/apis/*", handler: dispatch });

  app.addHook("onResponse", (req, reply, done) => {
    try {
      opts.metrics?.request(req.k8s?.info, req.method, reply.statusCode, reply.elapsedTime);
    } catch (e) {
      done(e as Error);
      return;
    }
    done();
  });

  // WebSocket upgrades (exec/attach) bypass fastify's routing.
  app.server.on("upgrade", (raw: IncomingMessage, socket: Duplex, head: Buffer) => {
    void handleUpgrade(raw, socket, head).catch((e) => {
      const se = toStatusError(e);
      writeUpgradeError(socket, se);
    });
  });

  const handleUpgrade = async (raw: IncomingMessage, socket: Duplex, head: Buffer) => {
    const url = new URL(raw.url ?? "/", "http://x");
    const user = await resolveUser(opts.authenticator, raw);
    const info = requestInfo(raw.method ?? "GET", url.pathname, url.searchParams);
    // exec and attach are "create" on the subresource, whatever the HTTP method.
    const verb = info.subresource === "exec" || info.subresource === "attach" ? "create" : info.verb;
    await requireAuthorized(opts.authorizer, {
      user,
      verb,
      namespace: info.namespace,
      apiGroup: info.group,
      resource: info.resource,
      subresource: info.subresource,
      name: info.name,
      path: url.pathname,
      resourceRequest: info.resourceRequest,
    });
    const isPodExec = info.group === "" && info.resource === "pods" && (info.subresource === "exec" || info.subresource === "attach");
    if (!isPodExec || !opts.podProxy) throw badRequest(`no WebSocket endpoint at ${url.pathname}`);
    const ctx: RequestContext = { user, namespace: info.namespace, now: now(), dryRun: false, warnings: [] };
    const areq: ApiRequest = { method: raw.method ?? "GET", info, query: url.searchParams, headers: raw.headers, ctx };
    await opts.podProxy.exec(areq, raw, socket, head);
  };

  return app;
}

/** An error after the response was taken over (pod logs): a Status if headers are still unsent. */
export function writeRawError(res: ServerResponse, e: StatusError): void {
  if (res.headersSent) {
    res.end();
    return;
  }
  res.writeHead(e.code, { "Content-Type": "application/json" });
  res.end(JSON.stringify(e.status));
}

function writeUpgradeError(socket: Duplex, e: StatusError): void {
  if (socket.destroyed) return;
  const body = JSON.stringify(e.status);
  socket.end(
    `HTTP/1.1 ${e.code} ${e.reason || "Error"}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
}

export type { ApiResponse };
