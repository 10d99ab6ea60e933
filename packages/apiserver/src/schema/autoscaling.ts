// Book 2.4: autoscaling — the v2 HorizontalPodAutoscaler with its metrics and behaviour, and the v1 Scale
// subresource that autoscalers and `kubectl scale` talk to.
import type { Schema } from "./types.js";
import {
  arr,
  AS1,
  AS2,
  int32,
  int64,
  listOf,
  META,
  METADATA_FIELD,
  obj,
  QUANTITY,
  ref,
  root,
  specField,
  statusField,
  str,
} from "./dsl.js";

/** autoscaling/v2 and autoscaling/v1 schemas, keyed by component name. */
export const autoscalingSchemas: Record<string, Schema> = {
  [AS2 + "HorizontalPodAutoscaler"]: root(
    "autoscaling", "v2", "HorizontalPodAutoscaler",
    "Scales a workload's replicas automatically from observed metrics.",
    {
      metadata: METADATA_FIELD,
      spec: specField(AS2 + "HorizontalPodAutoscalerSpec"),
      status: statusField(AS2 + "HorizontalPodAutoscalerStatus"),
    },
  ),
  [AS1 + "Scale"]: root(
    "autoscaling", "v1", "Scale",
    "The scale subresource of a workload: desired and observed replicas.",
    {
      metadata: METADATA_FIELD,
      spec: specField(AS1 + "ScaleSpec"),
      status: statusField(AS1 + "ScaleStatus"),
    },
  ),
  [AS2 + "HorizontalPodAutoscalerSpec"]: obj("The desired behaviour of an autoscaler.", {
    scaleTargetRef: ref(AS2 + "CrossVersionObjectReference", "The workload to scale, through its scale subresource."),
    minReplicas: int32("The fewest replicas to scale down to; 1 by default."),
    maxReplicas: int32("The most replicas to scale up to."),
    metrics: arr(
      ref(AS2 + "MetricSpec"),
      "The metrics that decide the replica count; the largest proposal wins.",
      { list: "atomic" },
    ),
    behavior: ref(AS2 + "HorizontalPodAutoscalerBehavior", "How fast to scale up and down."),
  }, { required: ["scaleTargetRef", "maxReplicas"] }),
  [AS2 + "HorizontalPodAutoscalerStatus"]: obj("The observed state of an autoscaler.", {
    observedGeneration: int64("The metadata.generation the controller last acted on."),
    lastScaleTime: ref(META + "Time", "When the autoscaler last changed the replica count."),
    currentReplicas: int32("The replicas it last saw."),
    desiredReplicas: int32("The replicas it last asked for."),
    currentMetrics: arr(ref(AS2 + "MetricStatus"), "The metric values it last read.", { list: "atomic" }),
    conditions: arr(
      ref(AS2 + "HorizontalPodAutoscalerCondition"),
      "The autoscaler's conditions, e.g. AbleToScale and ScalingActive.",
      { list: "map", keys: ["type"], merge: "type" },
    ),
  }, { required: ["desiredReplicas"] }),
  [AS1 + "ScaleSpec"]: obj("The desired scale.", {
    replicas: int32("The desired number of replicas."),
  }),
  [AS1 + "ScaleStatus"]: obj("The observed scale.", {
    replicas: int32("The observed number of replicas."),
    selector: str("The pods' label selector, in string form."),
  }, { required: ["replicas"] }),
  [AS2 + "CrossVersionObjectReference"]: obj("A reference to an object by API version, kind and name.", {
    kind: str("The object's kind."),
    name: str("The object's name."),
    apiVersion: str("The object's API version."),
  }, { required: ["kind", "name"] }),
  [AS2 + "MetricSpec"]: obj("One metric to scale on; set type and the matching field.", {
    type: str("ContainerResource, External, Object, Pods or Resource."),
    object: ref(AS2 + "ObjectMetricSource", "A metric of a single object, e.g. requests per second of an ingress."),
    pods: ref(AS2 + "PodsMetricSource", "A metric averaged over the target's pods."),
    resource: ref(AS2 + "ResourceMetricSource", "A resource metric, e.g. CPU, of the target's pods."),
    containerResource: ref(
      AS2 + "ContainerResourceMetricSource",
      "A resource metric of one container of the target's pods.",
    ),
    external: ref(AS2 + "ExternalMetricSource", "A metric from outside the cluster."),
  }, { required: ["type"] }),
  [AS2 + "HorizontalPodAutoscalerBehavior"]: obj("How fast an autoscaler scales.", {
    scaleUp: ref(AS2 + "HPAScalingRules", "Rules for scaling up."),
    scaleDown: ref(AS2 + "HPAScalingRules", "Rules for scaling down."),
  }),
  [AS2 + "MetricStatus"]: obj("The current value of one metric.", {
    type: str("ContainerResource, External, Object, Pods or Resource."),
    object: ref(AS2 + "ObjectMetricStatus", "The value of an object metric."),
    pods: ref(AS2 + "PodsMetricStatus", "The value of a pods metric."),
    resource: ref(AS2 + "ResourceMetricStatus", "The value of a resource metric."),
    containerResource: ref(AS2 + "ContainerResourceMetricStatus", "The value of a container resource metric."),
    external: ref(AS2 + "ExternalMetricStatus", "The value of an external metric."),
  }, { required: ["type"] }),
  [AS2 + "HorizontalPodAutoscalerCondition"]: obj("A condition of an autoscaler.", {
    type: str("The type of the condition, e.g. Ready or Available."),
    status: str("The condition's status: True, False or Unknown."),
    lastTransitionTime: ref(META + "Time", "When the condition last changed from one status to another."),
    reason: str("A short CamelCase word saying why the condition last changed."),
    message: str("A human-readable explanation of the condition's last change."),
    observedGeneration: int64("The metadata.generation the controller last acted on."),
  }, { required: ["type", "status"] }),
  [AS2 + "ObjectMetricSource"]: obj("A metric of a single object.", {
    describedObject: ref(AS2 + "CrossVersionObjectReference", "The object the metric describes."),
    target: ref(AS2 + "MetricTarget", "The target value."),
    metric: ref(AS2 + "MetricIdentifier", "Which metric."),
  }, { required: ["describedObject", "target", "metric"] }),
  [AS2 + "PodsMetricSource"]: obj("A metric averaged over pods.", {
    metric: ref(AS2 + "MetricIdentifier", "Which metric."),
    target: ref(AS2 + "MetricTarget", "The target value."),
  }, { required: ["metric", "target"] }),
  [AS2 + "ResourceMetricSource"]: obj("A resource metric of the target's pods.", {
    name: str("The resource, e.g. cpu or memory."),
    target: ref(AS2 + "MetricTarget", "The target value."),
  }, { required: ["name", "target"] }),
  [AS2 + "ContainerResourceMetricSource"]: obj("A resource metric of one container.", {
    name: str("The resource, e.g. cpu or memory."),
    target: ref(AS2 + "MetricTarget", "The target value."),
    container: str("The container's name."),
  }, { required: ["name", "target", "container"] }),
  [AS2 + "ExternalMetricSource"]: obj("A metric from outside the cluster.", {
    metric: ref(AS2 + "MetricIdentifier", "Which metric."),
    target: ref(AS2 + "MetricTarget", "The target value."),
  }, { required: ["metric", "target"] }),
  [AS2 + "HPAScalingRules"]: obj("Rules for scaling in one direction.", {
    stabilizationWindowSeconds: int32("Seconds of past recommendations considered, to avoid flapping."),
    selectPolicy: str("Max, Min or Disabled: how the policies combine."),
    policies: arr(ref(AS2 + "HPAScalingPolicy"), "Limits on how much may change per period.", { list: "atomic" }),
    tolerance: ref(QUANTITY, "The relative metric change below which nothing is done."),
  }),
  [AS2 + "ObjectMetricStatus"]: obj("The current value of an object metric.", {
    metric: ref(AS2 + "MetricIdentifier", "Which metric."),
    current: ref(AS2 + "MetricValueStatus", "Its current value."),
    describedObject: ref(AS2 + "CrossVersionObjectReference", "The object the metric describes."),
  }, { required: ["metric", "current", "describedObject"] }),
  [AS2 + "PodsMetricStatus"]: obj("The current value of a pods metric.", {
    metric: ref(AS2 + "MetricIdentifier", "Which metric."),
    current: ref(AS2 + "MetricValueStatus", "Its current value."),
  }, { required: ["metric", "current"] }),
  [AS2 + "ResourceMetricStatus"]: obj("The current value of a resource metric.", {
    name: str("The resource."),
    current: ref(AS2 + "MetricValueStatus", "Its current value."),
  }, { required: ["name", "current"] }),
  [AS2 + "ContainerResourceMetricStatus"]: obj("The current value of a container resource metric.", {
    name: str("The resource."),
    current: ref(AS2 + "MetricValueStatus", "Its current value."),
    container: str("The container's name."),
  }, { required: ["name", "current", "container"] }),
  [AS2 + "ExternalMetricStatus"]: obj("The current value of an external metric.", {
    metric: ref(AS2 + "MetricIdentifier", "Which metric."),
    current: ref(AS2 + "MetricValueStatus", "Its current value."),
  }, { required: ["metric", "current"] }),
  [AS2 + "MetricTarget"]: obj("A target value of a metric.", {
    type: str("Utilization, Value or AverageValue."),
    value: ref(QUANTITY, "The target value."),
    averageValue: ref(QUANTITY, "The target average over pods."),
    averageUtilization: int32("The target average, as a percentage of the pods' requests."),
  }, { required: ["type"] }),
  [AS2 + "MetricIdentifier"]: obj("A metric's name and selector.", {
    name: str("The metric's name."),
    selector: ref(META + "LabelSelector", "Labels that narrow the metric down."),
  }, { required: ["name"] }),
  [AS2 + "HPAScalingPolicy"]: obj("A limit on change per period.", {
    type: str("Pods or Percent."),
    value: int32("How much may change."),
    periodSeconds: int32("The period the limit applies to."),
  }, { required: ["type", "value", "periodSeconds"] }),
  [AS2 + "MetricValueStatus"]: obj("A current value of a metric.", {
    value: ref(QUANTITY, "The current value."),
    averageValue: ref(QUANTITY, "The current average over pods."),
    averageUtilization: int32("The current average, as a percentage of the pods' requests."),
  }),
  [AS2 + "HorizontalPodAutoscalerList"]: listOf(
    "autoscaling",
    "v2",
    "HorizontalPodAutoscaler",
    AS2 + "HorizontalPodAutoscaler",
  ),
};
