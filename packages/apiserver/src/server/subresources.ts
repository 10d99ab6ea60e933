// Book 11.2 and 12.x: subresources with their own shape — /scale (an autoscaling/v1 Scale view of a
// workload's replicas), pods/binding (how the scheduler places a pod), pods/eviction (a delete that
// respects PodDisruptionBudgets) and namespaces/finalize.
import { badRequest, conflict, failure, notFound, type StatusError } from "@corekube/api";
import { matches, selectorFromLabelSelector } from "@corekube/api";
import { applyJsonPatch, applyMergePatch, applyStrategicMergePatch, patchTypeOf } from "../patch/index.js";
import type { ResourceStore } from "../registry/store.js";
import { timestamp } from "../registry/store.js";
import type { KubeObject, ResourceDef } from "../registry/types.js";
import type { ApiRegistry } from "./api-registry.js";
import { decodeJson, decodeObjectBody } from "./body.js";
import { header, type ApiRequest, type ApiResponse } from "./resource-handlers.js";

/** Reads ".spec.replicas"-style paths. */
export function getPath(obj: unknown, path: string): unknown {
  let cur: unknown = obj;
  for (const seg of path.replace(/^\./, "").split(".")) {
    if (cur === null || typeof cur !== "object") return undefined;
    cur = (cur as Record<string, unknown>)[seg];
  }
  return cur;
}

export function setPath(obj: Record<string, unknown>, path: string, value: unknown): void {
  const segs = path.replace(/^\./, "").split(".");
  let cur = obj;
  for (const seg of segs.slice(0, -1)) {
    const next = cur[seg];
    if (next === null || typeof next !== "object" || Array.isArray(next)) cur[seg] = {};
    cur = cur[seg] as Record<string, unknown>;
  }
  cur[segs[segs.length - 1]!] = value;
}

function scaleOf(def: ResourceDef, obj: KubeObject) {
  const sd = def.subresources!.scale!;
  const m = obj.metadata;
  let selector = "";
  if (sd.selectorFrom) selector = sd.selectorFrom(obj);
  else if (sd.labelSelectorPath) selector = String(getPath(obj, sd.labelSelectorPath) ?? "");
  const status: Record<string, unknown> = { replicas: Number(getPath(obj, sd.statusReplicasPath) ?? 0) };
  if (selector) status.selector = selector;
  return {
    kind: "Scale",
    apiVersion: "autoscaling/v1",
    metadata: { name: m.name, namespace: m.namespace, uid: m.uid, resourceVersion: m.resourceVersion, creationTimestamp: m.creationTimestamp },
    spec: { replicas: Number(getPath(obj, sd.specReplicasPath) ?? 0) },
    status,
  };
}

export async function handleScale(store: ResourceStore, req: ApiRequest): Promise<ApiResponse> {
  const def = store.def;
  const sd = def.subresources?.scale;
  if (!sd) throw notFound(def, req.info.name);
  const ns = def.namespaced ? req.info.namespace : "";
  const name = req.info.name;
  if (req.method === "GET") return { code: 200, body: scaleOf(def, await store.get(ns, name)) };
  if (req.method !== "PUT" && req.method !== "PATCH") throw failure(405, "MethodNotAllowed", `${req.method} is not supported on ${def.resource}/scale`);
  let patchBody: unknown;
  let putBody: { spec?: { replicas?: unknown }; metadata?: { resourceVersion?: string; name?: string } } | undefined;
  const type = req.method === "PATCH" ? patchTypeOf(header(req, "content-type") ?? "") : undefined;
  if (type === "apply") throw failure(415, "UnsupportedMediaType", "server-side apply is not supported on the scale subresource here; use a merge patch");
  if (req.method === "PUT") putBody = decodeObjectBody(req.body, header(req, "content-type")).value as typeof putBody;
  else patchBody = decodeJson(req.body?.toString("utf8") ?? "").value;
  const r = await store.update(
    req.ctx,
    ns,
    name,
    (cur) => {
      if (!cur) throw notFound(def, name);
      const scale = scaleOf(def, cur);
      let next: typeof scale;
      if (putBody) {
        if (!putBody || typeof putBody !== "object") throw badRequest("the body must be a Scale object");
        if (putBody.metadata?.name && putBody.metadata.name !== name)
          throw badRequest(`the name of the object (${putBody.metadata.name}) does not match the name on the URL (${name})`);
        next = { ...scale, spec: { replicas: putBody.spec?.replicas as number }, metadata: { ...scale.metadata, resourceVersion: putBody.metadata?.resourceVersion || scale.metadata.resourceVersion } };
      } else if (type === "json") next = applyJsonPatch(scale, patchBody) as typeof scale;
      else if (type === "merge") next = applyMergePatch(scale, patchBody) as typeof scale;
      else next = applyStrategicMergePatch(scale, patchBody, undefined, { get: () => undefined, resolve: (n) => n, forKind: () => undefined }) as typeof scale;
      const replicas = next?.spec?.replicas;
      if (typeof replicas !== "number" || !Number.isInteger(replicas) || replicas < 0)
        throw failure(422, "Invalid", `Scale.autoscaling "${name}" is invalid: spec.replicas: Invalid value: ${JSON.stringify(replicas ?? null)}: must be greater than or equal to 0`, {
          name,
          group: "autoscaling",
          kind: "Scale",
          causes: [{ reason: "FieldValueInvalid", message: `Invalid value: ${JSON.stringify(replicas ?? null)}: must be greater than or equal to 0`, field: "spec.replicas" }],
        });
      const out = structuredClone(cur);
      setPath(out as Record<string, unknown>, sd.specReplicasPath, replicas);
      out.metadata.resourceVersion = next.metadata?.resourceVersion ?? cur.metadata.resourceVersion;
      return out;
    },
    { subresource: "scale", fieldManager: req.query.get("fieldManager") ?? undefined },
  );
  return { code: 200, body: scaleOf(def, r.obj) };
}

/** POST pods/binding (or /bindings): the scheduler's placement; a pod is bound once. */
export async function handleBinding(pods: ResourceStore, req: ApiRequest, podName: string): Promise<ApiResponse> {
  const body = decodeObjectBody(req.body, header(req, "content-type")).value as { metadata?: { name?: string }; target?: { kind?: string; name?: string } };
  if (!body || typeof body !== "object") throw badRequest("the body must be a Binding");
  const name = podName || body.metadata?.name || "";
  if (!name) throw badRequest("a Binding needs metadata.name (the pod's name)");
  const node = body.target?.name;
  if (!node) throw failure(422, "Invalid", `Binding "${name}" is invalid: target.name: Required value`, { name, kind: "Binding", causes: [{ reason: "FieldValueRequired", message: "Required value", field: "target.name" }] });
  if (body.target?.kind && body.target.kind !== "Node") throw badRequest(`a pod can only be bound to a Node, not a ${body.target.kind}`);
  await pods.update(
    req.ctx,
    req.info.namespace,
    name,
    (cur) => {
      if (!cur) throw notFound(pods.def, name);
      const spec = (cur.spec ?? {}) as Record<string, unknown>;
      if (cur.metadata.deletionTimestamp) throw conflict(pods.def, name, "pod is being deleted, cannot be assigned to a host");
      if (spec.nodeName) throw conflict(pods.def, name, `pod ${name} is already assigned to node "${String(spec.nodeName)}"`);
      spec.nodeName = node;
      cur.spec = spec;
      const status = (cur.status ?? {}) as { conditions?: Record<string, unknown>[] };
      const conds = (status.conditions ?? []).filter((c) => c.type !== "PodScheduled");
      conds.push({ type: "PodScheduled", status: "True", lastProbeTime: null, lastTransitionTime: timestamp(req.ctx.now) });
      status.conditions = conds;
      cur.status = status;
      return cur;
    },
    { subresource: "binding", fieldManager: req.query.get("fieldManager") ?? undefined },
  );
  return { code: 201, body: { kind: "Status", apiVersion: "v1", metadata: {}, status: "Success", code: 201 } };
}

/** POST pods/eviction: deletes the pod unless a PodDisruptionBudget covering it allows no disruption. */
export async function handleEviction(registry: ApiRegistry, pods: ResourceStore, req: ApiRequest): Promise<ApiResponse> {
  const body = decodeObjectBody(req.body, header(req, "content-type")).value as { metadata?: { name?: string }; deleteOptions?: { gracePeriodSeconds?: number } };
  if (!body || typeof body !== "object") throw badRequest("the body must be an Eviction");
  const ns = req.info.namespace;
  const name = req.info.name;
  if (body.metadata?.name && body.metadata.name !== name)
    throw badRequest(`the name of the object (${body.metadata.name}) does not match the name on the URL (${name})`);
  const pod = await pods.get(ns, name);
  const phase = (pod.status as { phase?: string } | undefined)?.phase;
  const pdbs = registry.byResource("policy", "poddisruptionbudgets");
  if (pdbs && phase !== "Succeeded" && phase !== "Failed" && phase !== "Pending") {
    const list = await pdbs.list(ns);
    const covering = list.items.filter((p) => {
      const sel = (p.spec as { selector?: unknown } | undefined)?.selector;
      return sel != null && matches(selectorFromLabelSelector(sel as never), pod.metadata.labels);
    });
    if (covering.length > 1) throw failure(500, "InternalError", "This pod has more than one PodDisruptionBudget, which the eviction subresource does not support.");
    const pdb = covering[0];
    if (pdb) {
      const allowed = Number((pdb.status as { disruptionsAllowed?: number } | undefined)?.disruptionsAllowed ?? 0);
      if (allowed <= 0) {
        const err: StatusError = failure(429, "TooManyRequests", "Cannot evict pod as it would violate the pod's disruption budget.", {
          causes: [{ reason: "DisruptionBudget" as never, message: `The disruption budget ${pdb.metadata.name} needs more healthy pods and has 0 disruptions allowed` }],
        });
        throw err;
      }
    }
  }
  await pods.delete(req.ctx, ns, name, { gracePeriodSeconds: body.deleteOptions?.gracePeriodSeconds });
  return { code: 201, body: { kind: "Status", apiVersion: "v1", metadata: {}, status: "Success", code: 201 } };
}

/** PUT namespaces/<ns>/finalize: the only way to change spec.finalizers of a namespace. */
export async function handleFinalize(namespaces: ResourceStore, req: ApiRequest): Promise<ApiResponse> {
  const body = decodeObjectBody(req.body, header(req, "content-type")).value as { spec?: { finalizers?: unknown } };
  const name = req.info.name;
  const r = await namespaces.update(
    req.ctx,
    "",
    name,
    (cur) => {
      if (!cur) throw notFound(namespaces.def, name);
      const f = body?.spec?.finalizers;
      if (f !== undefined && !(Array.isArray(f) && f.every((x) => typeof x === "string"))) throw badRequest("spec.finalizers must be a list of strings");
      cur.spec = { ...((cur.spec as object) ?? {}), finalizers: f ?? [] };
      return cur;
    },
    { subresource: "finalize" },
  );
  return { code: 200, body: r.obj };
}
