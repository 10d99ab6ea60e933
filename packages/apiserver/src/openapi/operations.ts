// Book 11.2: the REST paths of one resource as OpenAPI 3.0 operations — list, create, read, replace,
// patch, delete and deletecollection, plus /status and /scale — each tagged with its group-version-kind.
import type { ResourceDef, Verb } from "../registry/types.js";
import { REF_PREFIX } from "../schema/dsl.js";
import type { Schema } from "../schema/types.js";

export const STATUS_SCHEMA = "io.k8s.apimachinery.pkg.apis.meta.v1.Status";
export const DELETE_OPTIONS_SCHEMA = "io.k8s.apimachinery.pkg.apis.meta.v1.DeleteOptions";
export const PATCH_SCHEMA = "io.k8s.apimachinery.pkg.apis.meta.v1.Patch";
export const SCALE_SCHEMA = "io.k8s.api.autoscaling.v1.Scale";

const ALL_VERBS: readonly Verb[] = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"];

/** The (tiny) schema of a parameter: Kubernetes marks them uniqueItems, as a quirk of its generator. */
export interface ParamSchema {
  type: "string" | "integer" | "boolean";
  uniqueItems: true;
}

export interface Parameter {
  name: string;
  in: "query" | "path";
  description: string;
  required?: boolean;
  schema: ParamSchema;
}

export type Operation = Record<string, unknown>;
export type PathItem = Record<string, unknown>;

const q = (name: string, description: string, type: ParamSchema["type"] = "string"): Parameter => ({
  name,
  in: "query",
  description,
  schema: { type, uniqueItems: true },
});
const boolParam = (name: string, description: string): Parameter => q(name, description, "boolean");
const intParam = (name: string, description: string): Parameter => q(name, description, "integer");

export const PARAMS = {
  pretty: q("pretty", "If true, the output is indented."),
  dryRun: q("dryRun", "All: run every stage of the request except writing to storage."),
  fieldManager: q("fieldManager", "The name of the actor making the change, recorded in managedFields."),
  fieldValidation: q(
    "fieldValidation",
    "What to do with unknown or duplicate fields in the body: Ignore, Warn (the default) or Strict.",
  ),
  force: boolParam("force", "Apply only: take ownership of fields other managers own instead of failing with a conflict."),
  gracePeriodSeconds: intParam("gracePeriodSeconds", "Seconds the object gets to shut down; 0 deletes at once."),
  orphanDependents: boolParam("orphanDependents", "Deprecated: use propagationPolicy."),
  propagationPolicy: q("propagationPolicy", "Orphan, Background or Foreground: what happens to dependent objects."),
  ignoreStoreReadError: boolParam(
    "ignoreStoreReadErrorWithClusterBreakingPotential",
    "Delete even an object that cannot be read from storage (unsafe).",
  ),
  allowWatchBookmarks: boolParam("allowWatchBookmarks", "Ask for BOOKMARK events while watching."),
  continue: q("continue", "The token from a previous page of a paginated list."),
  fieldSelector: q("fieldSelector", "Only objects whose fields match, e.g. metadata.name=web."),
  labelSelector: q("labelSelector", "Only objects whose labels match, e.g. app=web,tier!=db."),
  limit: intParam("limit", "The most objects to return in one page."),
  resourceVersion: q("resourceVersion", "Which version of the data to read or to watch from."),
  resourceVersionMatch: q("resourceVersionMatch", "How resourceVersion is matched: Exact or NotOlderThan."),
  sendInitialEvents: boolParam("sendInitialEvents", "Start a watch with the current objects as ADDED events."),
  timeoutSeconds: intParam("timeoutSeconds", "Seconds after which a list or watch ends."),
  watch: boolParam("watch", "Watch for changes instead of listing."),
} satisfies Record<string, Parameter>;

const pathParam = (name: string, description: string): Parameter => ({
  name,
  in: "path",
  description,
  required: true,
  schema: { type: "string", uniqueItems: true },
});
const NAME_PARAM = pathParam("name", "The name of the object.");
const NAMESPACE_PARAM = pathParam("namespace", "The namespace of the objects.");

const LIST_PARAMS = [
  PARAMS.allowWatchBookmarks,
  PARAMS.continue,
  PARAMS.fieldSelector,
  PARAMS.labelSelector,
  PARAMS.limit,
  PARAMS.resourceVersion,
  PARAMS.resourceVersionMatch,
  PARAMS.sendInitialEvents,
  PARAMS.timeoutSeconds,
  PARAMS.watch,
];
const WRITE_PARAMS = [PARAMS.dryRun, PARAMS.fieldManager, PARAMS.fieldValidation];
const DELETE_PARAMS = [
  PARAMS.dryRun,
  PARAMS.gracePeriodSeconds,
  PARAMS.ignoreStoreReadError,
  PARAMS.orphanDependents,
  PARAMS.propagationPolicy,
];

const ref = (name: string): Schema => ({ $ref: REF_PREFIX + name });

/** Media types each response is offered in. */
const READ_TYPES = ["application/json", "application/yaml"];
const LIST_TYPES = ["application/json", "application/yaml", "application/json;stream=watch"];

function content(schema: Schema, types: readonly string[]): Record<string, { schema: Schema }> {
  const out: Record<string, { schema: Schema }> = {};
  for (const t of types) out[t] = { schema };
  return out;
}

function responses(codes: Record<string, string>, schema: Schema, types = READ_TYPES): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [code, description] of Object.entries(codes)) out[code] = { description, content: content(schema, types) };
  out["401"] = { description: "Unauthorized" };
  return out;
}

/** "rbac.authorization.k8s.io" → "RbacAuthorization", "" → "Core", as operation IDs spell groups. */
export function groupWord(group: string): string {
  if (group === "") return "Core";
  const trimmed = group.endsWith(".k8s.io") ? group.slice(0, -".k8s.io".length) : group;
  return trimmed
    .split(/[.-]/)
    .filter((p) => p !== "")
    .map((p) => p[0]!.toUpperCase() + p.slice(1))
    .join("");
}

/** The tag grouping a group-version's operations, e.g. "apps_v1", "core_v1", "rbacAuthorization_v1". */
export function gvTag(group: string, version: string): string {
  const w = groupWord(group);
  return `${w[0]!.toLowerCase()}${w.slice(1)}_${version}`;
}

/** "api/v1" or "apis/apps/v1": the URL prefix (without a leading slash) of a group-version. */
export function gvPath(group: string, version: string): string {
  return group === "" ? `api/${version}` : `apis/${group}/${version}`;
}

interface Gvk {
  group: string;
  kind: string;
  version: string;
}

export interface ResourcePaths {
  paths: Record<string, PathItem>;
  /** Schemas the operations point at, beyond the kind and its list. */
  extraSchemas: string[];
}

/**
 * The path items of one resource. `kindSchema` and `listSchema` are the component names of the
 * kind and of its list (they may be synthesized by the caller).
 */
export function resourcePaths(def: ResourceDef, kindSchema: string, listSchema: string): ResourcePaths {
  const verbs = new Set<Verb>(def.verbs ?? ALL_VERBS);
  const gvk: Gvk = { group: def.group, kind: def.kind, version: def.version };
  const word = `${groupWord(def.group)}${def.version[0]!.toUpperCase()}${def.version.slice(1)}`;
  const scope = def.namespaced ? "Namespaced" : "";
  const tags = [gvTag(def.group, def.version)];
  const base = `/${gvPath(def.group, def.version)}`;
  const collection = def.namespaced ? `${base}/namespaces/{namespace}/${def.resource}` : `${base}/${def.resource}`;
  const item = `${collection}/{name}`;
  const extraSchemas = new Set<string>([STATUS_SCHEMA]);
  const paths: Record<string, PathItem> = {};

  const op = (
    action: string,
    id: string,
    description: string,
    params: Parameter[],
    resp: Record<string, unknown>,
    target: Gvk = gvk,
    body?: unknown,
  ): Operation => {
    const o: Operation = { tags, description, operationId: id };
    if (params.length > 0) o.parameters = params;
    if (body !== undefined) o.requestBody = body;
    o.responses = resp;
    o["x-kubernetes-action"] = action;
    o["x-kubernetes-group-version-kind"] = { ...target };
    return o;
  };
  const bodyOf = (schema: string) => ({ content: { "*/*": { schema: ref(schema) } }, required: true });
  const patchBody = () => {
    extraSchemas.add(PATCH_SCHEMA);
    const types = ["application/json-patch+json", "application/merge-patch+json"];
    if (def.crd === undefined) types.push("application/strategic-merge-patch+json");
    types.push("application/apply-patch+yaml");
    return { content: content(ref(PATCH_SCHEMA), types), required: true };
  };
  const deleteBody = () => {
    extraSchemas.add(DELETE_OPTIONS_SCHEMA);
    return { content: { "*/*": { schema: ref(DELETE_OPTIONS_SCHEMA) } } };
  };
  const scopeParams = def.namespaced ? [NAMESPACE_PARAM, PARAMS.pretty] : [PARAMS.pretty];

  // The collection: list, create, deletecollection.
  const coll: PathItem = {};
  if (verbs.has("list"))
    coll.get = op("list", `list${word}${scope}${def.kind}`, `List or watch ${def.kind} objects.`, LIST_PARAMS, responses({ "200": "OK" }, ref(listSchema), LIST_TYPES));
  if (verbs.has("create"))
    coll.post = op(
      "post",
      `create${word}${scope}${def.kind}`,
      `Create a ${def.kind}.`,
      WRITE_PARAMS,
      responses({ "200": "OK", "201": "Created", "202": "Accepted" }, ref(kindSchema)),
      gvk,
      bodyOf(kindSchema),
    );
  if (verbs.has("deletecollection"))
    coll.delete = op(
      "deletecollection",
      `delete${word}Collection${scope}${def.kind}`,
      `Delete a collection of ${def.kind} objects.`,
      [...DELETE_PARAMS, ...LIST_PARAMS.filter((p) => p.name !== "watch" && p.name !== "allowWatchBookmarks")],
      responses({ "200": "OK" }, ref(STATUS_SCHEMA)),
      gvk,
      deleteBody(),
    );
  if (Object.keys(coll).length > 0) paths[collection] = { ...coll, parameters: scopeParams };

  // Across all namespaces: list only.
  if (def.namespaced && verbs.has("list")) {
    paths[`${base}/${def.resource}`] = {
      get: op("list", `list${word}${def.kind}ForAllNamespaces`, `List or watch ${def.kind} objects in every namespace.`, LIST_PARAMS, responses({ "200": "OK" }, ref(listSchema), LIST_TYPES)),
      parameters: [PARAMS.pretty],
    };
  }

  // One object: read, replace, patch, delete — and the same for its subresources.
  const itemParams = [NAME_PARAM, ...scopeParams];
  const rw = (suffix: string, schema: string, target: Gvk, what: string, withDelete: boolean): PathItem | undefined => {
    const it: PathItem = {};
    const sub = suffix === "" ? "" : suffix[0]!.toUpperCase() + suffix.slice(1);
    const idTail = `${word}${scope}${def.kind}${sub}`;
    if (verbs.has("get")) it.get = op("get", `read${idTail}`, `Read ${what}.`, [], responses({ "200": "OK" }, ref(schema)), target);
    if (verbs.has("update"))
      it.put = op("put", `replace${idTail}`, `Replace ${what}.`, WRITE_PARAMS, responses({ "200": "OK", "201": "Created" }, ref(schema)), target, bodyOf(schema));
    if (verbs.has("patch"))
      it.patch = op(
        "patch",
        `patch${idTail}`,
        `Partially update ${what}.`,
        [...WRITE_PARAMS, PARAMS.force],
        responses({ "200": "OK", "201": "Created" }, ref(schema)),
        target,
        patchBody(),
      );
    if (withDelete && verbs.has("delete"))
      it.delete = op(
        "delete",
        `delete${idTail}`,
        `Delete ${what}.`,
        DELETE_PARAMS,
        responses({ "200": "OK", "202": "Accepted" }, ref(STATUS_SCHEMA)),
        target,
        deleteBody(),
      );
    return Object.keys(it).length > 0 ? { ...it, parameters: itemParams } : undefined;
  };
  const one = rw("", kindSchema, gvk, `the specified ${def.kind}`, true);
  if (one) paths[item] = one;
  if (def.subresources?.status) {
    const st = rw("status", kindSchema, gvk, `the status of the specified ${def.kind}`, false);
    if (st) paths[`${item}/status`] = st;
  }
  if (def.subresources?.scale) {
    extraSchemas.add(SCALE_SCHEMA);
    const scaleGvk: Gvk = { group: "autoscaling", kind: "Scale", version: "v1" };
    const sc = rw("scale", SCALE_SCHEMA, scaleGvk, `the scale of the specified ${def.kind}`, false);
    if (sc) paths[`${item}/scale`] = sc;
  }
  return { paths, extraSchemas: [...extraSchemas] };
}
