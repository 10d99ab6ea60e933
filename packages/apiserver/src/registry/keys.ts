// Book 12.2: where objects live in etcd — /registry/<resource>/<namespace>/<name> for the core group
// and /registry/<group>/<resource>/... for the others, so `etcdctl get --prefix /registry/pods` works.
import type { ResourceDef } from "./types.js";

export function resourcePrefix(def: Pick<ResourceDef, "group" | "resource">): string {
  return def.group === "" ? `/registry/${def.resource}/` : `/registry/${def.group}/${def.resource}/`;
}

export function objectKey(def: Pick<ResourceDef, "group" | "resource" | "namespaced">, namespace: string, name: string): string {
  return resourcePrefix(def) + (def.namespaced ? `${namespace}/${name}` : name);
}

/** The part of a key after the resource prefix that selects one namespace ("" = all). */
export function namespacePrefix(def: Pick<ResourceDef, "namespaced">, namespace: string): string {
  return def.namespaced && namespace ? `${namespace}/` : "";
}

export function apiVersionOf(def: Pick<ResourceDef, "group" | "version">): string {
  return def.group ? `${def.group}/${def.version}` : def.version;
}
