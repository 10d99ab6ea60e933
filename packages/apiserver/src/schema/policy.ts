// Book 13.3: policy/v1 PodDisruptionBudget and Eviction — voluntary disruptions within a budget.
import type { Schema } from "./types.js";
import {
  arr,
  dict,
  int32,
  int64,
  INT_OR_STRING,
  listOf,
  META,
  METADATA_FIELD,
  obj,
  POLICY,
  ref,
  root,
  specField,
  statusField,
  strEnum,
} from "./dsl.js";

/** policy/v1 schemas, keyed by component name. */
export const policySchemas: Record<string, Schema> = {
  [POLICY + "PodDisruptionBudget"]: root(
    "policy", "v1", "PodDisruptionBudget",
    "Limits how many pods of a set may be down at once through voluntary disruptions.",
    {
      metadata: METADATA_FIELD,
      spec: specField(POLICY + "PodDisruptionBudgetSpec"),
      status: statusField(POLICY + "PodDisruptionBudgetStatus"),
    },
  ),
  [POLICY + "Eviction"]: root("policy", "v1", "Eviction", "A request to evict a pod, honouring disruption budgets.", {
    metadata: METADATA_FIELD,
    deleteOptions: ref(META + "DeleteOptions", "Options for deleting the pod."),
  }),
  [POLICY + "PodDisruptionBudgetSpec"]: obj("What a disruption budget allows.", {
    minAvailable: ref(INT_OR_STRING, "Pods, or a percentage, that must stay available."),
    selector: ref(META + "LabelSelector", "The pods the budget covers.", { "x-kubernetes-patch-strategy": "replace" }),
    maxUnavailable: ref(INT_OR_STRING, "Pods, or a percentage, that may be unavailable."),
    unhealthyPodEvictionPolicy: strEnum(
      "IfHealthyBudget or AlwaysAllow: when unhealthy pods may be evicted.",
      ["AlwaysAllow", "IfHealthyBudget"],
    ),
  }),
  [POLICY + "PodDisruptionBudgetStatus"]: obj("The observed state of a disruption budget.", {
    observedGeneration: int64("The metadata.generation the controller last acted on."),
    disruptedPods: dict(ref(META + "Time"), "Pods being evicted, with the time of each eviction."),
    disruptionsAllowed: int32("How many pods may be disrupted now."),
    currentHealthy: int32("Healthy pods now."),
    desiredHealthy: int32("The fewest healthy pods wanted."),
    expectedPods: int32("Pods the budget counts."),
    conditions: arr(
      ref(META + "Condition"),
      "The budget's conditions, e.g. DisruptionAllowed.",
      { list: "map", keys: ["type"], merge: "type" },
    ),
  }),
  [POLICY + "PodDisruptionBudgetList"]: listOf("policy", "v1", "PodDisruptionBudget", POLICY + "PodDisruptionBudget"),
};
