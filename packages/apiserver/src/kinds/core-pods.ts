// Book 2.2, 4.5 and 9.3: the Pod resource — defaults, validation, Pending status and QoS class at
// creation, graceful deletion, `kubectl get pods` columns and the field selectors kubelets use.
import { field, rfc3339 } from "@corekube/api";
import type { KubeObject, ResourceDef } from "../registry/types.js";
import { isCreating, markCreating } from "./creating.js";
import { arr, ensureObj, get, obj, objects, s, type JsonObject } from "./json.js";
import { DEFAULT_TERMINATION_GRACE_PERIOD_SECONDS, defaultPod, syncPodIPs } from "./pod-defaults.js";
import { podCells, podColumns } from "./pod-table.js";
import { validatePodSpec, validatePodStatus, validatePodUpdate } from "./pod-validation.js";
import { podQOSClass } from "./qos.js";

/** Field selectors on pods beyond name and namespace. */
export function podFields(pod: KubeObject): Record<string, string> {
  const spec = obj(pod.spec) ?? {};
  const status = obj(pod.status) ?? {};
  const firstIP = objects(status.podIPs)[0]?.[0];
  return {
    "spec.nodeName": s(spec.nodeName),
    "spec.restartPolicy": s(spec.restartPolicy),
    "spec.schedulerName": s(spec.schedulerName),
    "spec.serviceAccountName": s(spec.serviceAccountName),
    "spec.hostNetwork": String(spec.hostNetwork === true),
    "status.phase": s(status.phase),
    "status.podIP": firstIP ? s(firstIP.ip) : s(status.podIP),
    "status.nominatedNodeName": s(status.nominatedNodeName),
  };
}

export const pods: ResourceDef = {
  group: "",
  version: "v1",
  resource: "pods",
  kind: "Pod",
  listKind: "PodList",
  singular: "pod",
  namespaced: true,
  shortNames: ["po"],
  categories: ["all"],
  schemaName: "io.k8s.api.core.v1.Pod",
  subresources: { status: true },
  strategy: {
    defaults: defaultPod,
    prepareForCreate(pod) {
      markCreating(pod);
      const spec = ensureObj(pod as JsonObject, "spec");
      // What the ServiceAccount admission step adds to every new pod. spec.priority and
      // spec.preemptionPolicy are the Priority admission plugin's (admission/priority.ts): it must
      // see what the client sent, to tell a class's value from one the client made up.
      if (s(spec.serviceAccountName) === "") {
        spec.serviceAccountName = "default";
        spec.serviceAccount = "default";
      }
      pod.status = { phase: "Pending", qosClass: podQOSClass(pod) };
      // A gated pod says why it waits, so `kubectl get pods` shows SchedulingGated.
      if (arr(spec.schedulingGates).length > 0) {
        (pod.status as JsonObject).conditions = [
          { type: "PodScheduled", status: "False", reason: "SchedulingGated", message: "Scheduling is blocked due to non-empty scheduling gates", lastProbeTime: null, lastTransitionTime: rfc3339() },
        ];
      }
    },
    validate(pod) {
      const errs = validatePodSpec(pod.spec, "spec");
      if (isCreating(pod) && arr(get(pod, "spec", "ephemeralContainers")).length > 0) {
        errs.push(field.forbidden("spec.ephemeralContainers", "cannot be set on create"));
      }
      return errs;
    },
    prepareForStatusUpdate: (pod) => syncPodIPs(pod),
    validateUpdate: (pod, old) => validatePodUpdate(pod, old),
    validateStatusUpdate: (pod, old) => validatePodStatus(pod, old),
    defaultGracePeriodSeconds(pod) {
      const grace = get(pod, "spec", "terminationGracePeriodSeconds");
      // A negative period (allowed by old clients) means "as fast as possible": one second.
      if (typeof grace === "number") return grace < 0 ? 1 : grace;
      return DEFAULT_TERMINATION_GRACE_PERIOD_SECONDS;
    },
    allowCreateOnUpdate: false,
  },
  table: { columns: podColumns, cells: podCells },
  fields: podFields,
};
