// Book 11.2: every built-in kind's schema in one place, keyed by Kubernetes' component names — the
// source for `kubectl explain`, strict field validation and the OpenAPI documents.
import { appsSchemas } from "./apps.js";
import { apiextensionsSchemas } from "./apiextensions.js";
import { autoscalingSchemas } from "./autoscaling.js";
import { batchSchemas } from "./batch.js";
import { clusterSchemas } from "./cluster.js";
import { corePodSchemas } from "./core-pod.js";
import { coreSchemas } from "./core.js";
import { META } from "./dsl.js";
import { metaSchemas } from "./meta.js";
import { networkingSchemas } from "./networking.js";
import { policySchemas } from "./policy.js";
import { rbacSchemas } from "./rbac.js";
import { storageSchemas } from "./storage.js";
import type { GroupVersionKind, Schema } from "./types.js";

let cache: Readonly<Record<string, Schema>> | undefined;

function deepFreeze<T>(value: T): T {
  if (typeof value === "object" && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}

/** Every group/version a built-in kind is served in, in a stable order. */
function groupVersions(schemas: Record<string, Schema>): GroupVersionKind[] {
  const seen = new Map<string, GroupVersionKind>();
  for (const s of Object.values(schemas)) {
    for (const g of s["x-kubernetes-group-version-kind"] ?? []) {
      const key = `${g.group}/${g.version}`;
      if (!seen.has(key)) seen.set(key, { group: g.group, version: g.version, kind: "DeleteOptions" });
    }
  }
  return [...seen.values()].sort((a, b) => (a.group + "/" + a.version).localeCompare(b.group + "/" + b.version));
}

function build(): Readonly<Record<string, Schema>> {
  const all: Record<string, Schema> = {
    ...metaSchemas,
    ...corePodSchemas,
    ...coreSchemas,
    ...appsSchemas,
    ...batchSchemas,
    ...autoscalingSchemas,
    ...clusterSchemas,
    ...networkingSchemas,
    ...storageSchemas,
    ...policySchemas,
    ...rbacSchemas,
    ...apiextensionsSchemas,
  };
  // DeleteOptions is accepted by every group-version, as upstream publishes it.
  const del = all[META + "DeleteOptions"];
  if (del) all[META + "DeleteOptions"] = { ...del, "x-kubernetes-group-version-kind": groupVersions(all) };
  return deepFreeze(all);
}

/**
 * The schemas of all built-in kinds and of everything they reference, by component name
 * ("io.k8s.api.apps.v1.Deployment"). The record is a fresh copy the caller may add to (e.g. custom
 * resources); the schema nodes are shared and frozen.
 */
export function builtinSchemas(): Record<string, Schema> {
  cache ??= build();
  return { ...cache };
}
