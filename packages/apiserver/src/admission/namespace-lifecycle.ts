// Book 11.2: the NamespaceLifecycle admission plugin — nothing new may be created in a namespace
// that does not exist or is being deleted, and the system namespaces cannot be deleted.
import { failure, notFound } from "@corekube/api";
import type { AdmissionPlugin, AdmissionRequest } from "../registry/admission.js";
import type { KubeObject } from "../registry/types.js";

export const IMMORTAL_NAMESPACES = ["default", "kube-system", "kube-public"];

export interface NamespaceLookup {
  /** The namespace object, from the cache or (on a miss) from storage. */
  get(name: string): Promise<KubeObject | undefined>;
}

export function namespaceLifecycle(lookup: NamespaceLookup): AdmissionPlugin {
  return {
    name: "NamespaceLifecycle",
    async validate(req: AdmissionRequest) {
      const { def, operation } = req;
      if (def.group === "" && def.resource === "namespaces") {
        if (operation === "DELETE" && IMMORTAL_NAMESPACES.includes(req.name))
          throw failure(403, "Forbidden", `namespaces "${req.name}" is forbidden: this namespace may not be deleted`, { name: req.name, kind: "namespaces" });
        return;
      }
      if (!def.namespaced || operation !== "CREATE") return;
      const ns = await lookup.get(req.namespace);
      if (!ns) throw notFound("namespaces", req.namespace);
      const terminating = ns.metadata.deletionTimestamp || (ns.status as { phase?: string } | undefined)?.phase === "Terminating";
      // Events may still be written: they record the deletion itself.
      const isEvent = def.resource === "events";
      if (terminating && !isEvent)
        throw failure(403, "Forbidden", `${def.resource}${def.group ? "." + def.group : ""} "${req.name}" is forbidden: unable to create new content in namespace ${req.namespace} because it is being terminated`, {
          name: req.name,
          group: def.group,
          kind: def.resource,
          causes: [{ reason: "NamespaceTerminating" as never, message: `namespace ${req.namespace} is being terminated`, field: "metadata.namespace" }],
        });
    },
  };
}
