// Book 2.3-2.4 and 10.2: apps/v1 workload controllers — Deployment, ReplicaSet, StatefulSet, DaemonSet
// and ControllerRevision — with their rollout strategies and status.
import type { Schema } from "./types.js";
import {
  APPS,
  CORE,
  INT_OR_STRING,
  META,
  RAW_EXTENSION,
  arr,
  bool,
  int32,
  int64,
  listOf,
  obj,
  ref,
  root,
  str,
  strEnum,
} from "./dsl.js";

/** apps/v1 schemas, keyed by component name. */
export const appsSchemas: Record<string, Schema> = {
  [APPS + "Deployment"]: root("apps", "v1", "Deployment", "Declarative updates of pods through replica sets.", {
    metadata: ref(META + "ObjectMeta", "The object's metadata: name, namespace, labels, annotations and more."),
    spec: ref(APPS + "DeploymentSpec", "The desired state of the object."),
    status: ref(APPS + "DeploymentStatus", "The observed state of the object, written by the system."),
  }),
  [APPS + "ReplicaSet"]: root("apps", "v1", "ReplicaSet", "Keeps a number of identical pods running.", {
    metadata: ref(META + "ObjectMeta", "The object's metadata: name, namespace, labels, annotations and more."),
    spec: ref(APPS + "ReplicaSetSpec", "The desired state of the object."),
    status: ref(APPS + "ReplicaSetStatus", "The observed state of the object, written by the system."),
  }),
  [APPS + "StatefulSet"]: root(
    "apps", "v1", "StatefulSet",
    "Pods with stable names, network identities and storage, created in order.",
    {
      metadata: ref(META + "ObjectMeta", "The object's metadata: name, namespace, labels, annotations and more."),
      spec: ref(APPS + "StatefulSetSpec", "The desired state of the object."),
      status: ref(APPS + "StatefulSetStatus", "The observed state of the object, written by the system."),
    },
  ),
  [APPS + "DaemonSet"]: root("apps", "v1", "DaemonSet", "Runs one copy of a pod on every (selected) node.", {
    metadata: ref(META + "ObjectMeta", "The object's metadata: name, namespace, labels, annotations and more."),
    spec: ref(APPS + "DaemonSetSpec", "The desired state of the object."),
    status: ref(APPS + "DaemonSetStatus", "The observed state of the object, written by the system."),
  }),
  [APPS + "ControllerRevision"]: root(
    "apps", "v1", "ControllerRevision",
    "An immutable snapshot of a controller's pod template, for rollbacks.",
    {
      metadata: ref(META + "ObjectMeta", "The object's metadata: name, namespace, labels, annotations and more."),
      data: ref(RAW_EXTENSION, "The snapshot itself."),
      revision: int64("The revision number."),
    },
    { required: ["data"] },
  ),
  [APPS + "DeploymentSpec"]: obj("The desired state of a deployment.", {
    replicas: int32("How many pods should run; 1 by default."),
    selector: ref(META + "LabelSelector", "Which pods belong to the deployment; must match the template's labels."),
    template: ref(CORE + "PodTemplateSpec", "The template for new pods."),
    strategy: ref(
      APPS + "DeploymentStrategy",
      "How old pods are replaced by new ones.",
      { "x-kubernetes-patch-strategy": "retainKeys" },
    ),
    minReadySeconds: int32(
      "Seconds a new pod must be ready, with no container crashing, before it counts as available.",
    ),
    revisionHistoryLimit: int32("How many old revisions to keep for rollback."),
    paused: bool("Stop rolling out changes to the template."),
    progressDeadlineSeconds: int32("Seconds without progress before the rollout is reported as failed."),
  }, { required: ["selector", "template"] }),
  [APPS + "DeploymentStatus"]: obj("The observed state of a deployment.", {
    observedGeneration: int64("The metadata.generation the controller last acted on."),
    replicas: int32("Non-terminating pods selected by the deployment."),
    updatedReplicas: int32("Non-terminating pods made from the current template."),
    readyReplicas: int32("The number of pods with a Ready condition."),
    availableReplicas: int32("The number of pods that have been ready for at least minReadySeconds."),
    unavailableReplicas: int32("Pods still needed to reach 100% availability."),
    terminatingReplicas: int32("Pods being terminated."),
    conditions: arr(
      ref(APPS + "DeploymentCondition"),
      "The deployment's conditions, e.g. Available and Progressing.",
      { list: "map", keys: ["type"], merge: "type" },
    ),
    collisionCount: int32("A counter the controller bumps to avoid name collisions between revisions."),
  }),
  [APPS + "ReplicaSetSpec"]: obj("The desired state of a replica set.", {
    replicas: int32("How many pods should run."),
    minReadySeconds: int32(
      "Seconds a new pod must be ready, with no container crashing, before it counts as available.",
    ),
    selector: ref(META + "LabelSelector", "Which pods belong to the replica set; must match the template's labels."),
    template: ref(CORE + "PodTemplateSpec", "The template for new pods."),
  }, { required: ["selector"] }),
  [APPS + "ReplicaSetStatus"]: obj("The observed state of a replica set.", {
    replicas: int32("Non-terminating pods last seen."),
    fullyLabeledReplicas: int32("Pods whose labels match the template's labels."),
    readyReplicas: int32("The number of pods with a Ready condition."),
    availableReplicas: int32("The number of pods that have been ready for at least minReadySeconds."),
    terminatingReplicas: int32("Pods being terminated."),
    observedGeneration: int64("The metadata.generation the controller last acted on."),
    conditions: arr(
      ref(APPS + "ReplicaSetCondition"),
      "The replica set's conditions.",
      { list: "map", keys: ["type"], merge: "type" },
    ),
  }, { required: ["replicas"] }),
  [APPS + "StatefulSetSpec"]: obj("The desired state of a stateful set.", {
    replicas: int32("How many pods should run."),
    selector: ref(META + "LabelSelector", "Which pods belong to the stateful set; must match the template's labels."),
    template: ref(CORE + "PodTemplateSpec", "The template for new pods."),
    volumeClaimTemplates: arr(
      ref(CORE + "PersistentVolumeClaim"),
      "Claims made for each pod, named <template>-<pod>.",
      { list: "atomic" },
    ),
    serviceName: str("The headless service that gives the pods their DNS names."),
    podManagementPolicy: strEnum("OrderedReady (one at a time) or Parallel.", ["OrderedReady", "Parallel"]),
    updateStrategy: ref(APPS + "StatefulSetUpdateStrategy", "How pods are updated when the template changes."),
    revisionHistoryLimit: int32("How many old revisions to keep for rollback."),
    minReadySeconds: int32(
      "Seconds a new pod must be ready, with no container crashing, before it counts as available.",
    ),
    persistentVolumeClaimRetentionPolicy: ref(
      APPS + "StatefulSetPersistentVolumeClaimRetentionPolicy",
      "Whether claims are kept or deleted when pods go away.",
    ),
    ordinals: ref(APPS + "StatefulSetOrdinals", "How pods are numbered."),
  }, { required: ["selector", "template"] }),
  [APPS + "StatefulSetStatus"]: obj("The observed state of a stateful set.", {
    observedGeneration: int64("The metadata.generation the controller last acted on."),
    replicas: int32("Pods created by the controller."),
    readyReplicas: int32("The number of pods with a Ready condition."),
    currentReplicas: int32("Pods made from the current revision."),
    updatedReplicas: int32("Pods made from the update revision."),
    currentRevision: str("The revision of the current pods."),
    updateRevision: str("The revision being rolled out."),
    collisionCount: int32("A counter the controller bumps to avoid name collisions between revisions."),
    conditions: arr(
      ref(APPS + "StatefulSetCondition"),
      "The stateful set's conditions.",
      { list: "map", keys: ["type"], merge: "type" },
    ),
    availableReplicas: int32("The number of pods that have been ready for at least minReadySeconds."),
  }, { required: ["replicas"] }),
  [APPS + "DaemonSetSpec"]: obj("The desired state of a daemon set.", {
    selector: ref(META + "LabelSelector", "Which pods belong to the daemon set; must match the template's labels."),
    template: ref(CORE + "PodTemplateSpec", "The template for the pod run on each node."),
    updateStrategy: ref(APPS + "DaemonSetUpdateStrategy", "How pods are replaced when the template changes."),
    minReadySeconds: int32(
      "Seconds a new pod must be ready, with no container crashing, before it counts as available.",
    ),
    revisionHistoryLimit: int32("How many old revisions to keep for rollback."),
  }, { required: ["selector", "template"] }),
  [APPS + "DaemonSetStatus"]: obj("The observed state of a daemon set.", {
    currentNumberScheduled: int32("Nodes running at least one daemon pod that should."),
    numberMisscheduled: int32("Nodes running a daemon pod that should not."),
    desiredNumberScheduled: int32("Nodes that should run the daemon pod."),
    numberReady: int32("Nodes whose daemon pod is ready."),
    observedGeneration: int64("The metadata.generation the controller last acted on."),
    updatedNumberScheduled: int32("Nodes running an updated daemon pod."),
    numberAvailable: int32("Nodes whose daemon pod is available."),
    numberUnavailable: int32("Nodes whose daemon pod is not available."),
    collisionCount: int32("A counter the controller bumps to avoid name collisions between revisions."),
    conditions: arr(
      ref(APPS + "DaemonSetCondition"),
      "The daemon set's conditions.",
      { list: "map", keys: ["type"], merge: "type" },
    ),
  }, { required: ["currentNumberScheduled", "numberMisscheduled", "desiredNumberScheduled", "numberReady"] }),
  [APPS + "DeploymentStrategy"]: obj("How a deployment replaces pods.", {
    type: strEnum("RollingUpdate (the default) or Recreate.", ["Recreate", "RollingUpdate"]),
    rollingUpdate: ref(APPS + "RollingUpdateDeployment", "Settings for RollingUpdate."),
  }),
  [APPS + "DeploymentCondition"]: obj("A condition of a deployment.", {
    type: str("The type of the condition, e.g. Ready or Available."),
    status: str("The condition's status: True, False or Unknown."),
    lastUpdateTime: ref(META + "Time", "When the condition was last updated."),
    lastTransitionTime: ref(META + "Time", "When the condition last changed from one status to another."),
    reason: str("A short CamelCase word saying why the condition last changed."),
    message: str("A human-readable explanation of the condition's last change."),
  }),
  [APPS + "ReplicaSetCondition"]: obj("A condition of a replica set.", {
    type: str("The type of the condition, e.g. Ready or Available."),
    status: str("The condition's status: True, False or Unknown."),
    lastTransitionTime: ref(META + "Time", "When the condition last changed from one status to another."),
    reason: str("A short CamelCase word saying why the condition last changed."),
    message: str("A human-readable explanation of the condition's last change."),
  }),
  [APPS + "StatefulSetUpdateStrategy"]: obj("How a stateful set updates pods.", {
    type: strEnum("RollingUpdate (the default) or OnDelete.", ["OnDelete", "Recreate", "RollingUpdate"]),
    rollingUpdate: ref(APPS + "RollingUpdateStatefulSetStrategy", "Settings for RollingUpdate."),
  }),
  [APPS + "StatefulSetPersistentVolumeClaimRetentionPolicy"]: obj("What happens to a stateful set's claims.", {
    whenDeleted: str("Retain or Delete, when the stateful set is deleted."),
    whenScaled: str("Retain or Delete, when the stateful set scales down."),
  }),
  [APPS + "StatefulSetOrdinals"]: obj("How a stateful set numbers its pods.", {
    start: int32("The first ordinal."),
  }),
  [APPS + "StatefulSetCondition"]: obj("A condition of a stateful set.", {
    type: str("The type of the condition, e.g. Ready or Available."),
    status: str("The condition's status: True, False or Unknown."),
    lastTransitionTime: ref(META + "Time", "When the condition last changed from one status to another."),
    reason: str("A short CamelCase word saying why the condition last changed."),
    message: str("A human-readable explanation of the condition's last change."),
  }),
  [APPS + "DaemonSetUpdateStrategy"]: obj("How a daemon set replaces pods.", {
    type: strEnum("RollingUpdate (the default) or OnDelete.", ["OnDelete", "RollingUpdate"]),
    rollingUpdate: ref(APPS + "RollingUpdateDaemonSet", "Settings for RollingUpdate."),
  }),
  [APPS + "DaemonSetCondition"]: obj("A condition of a daemon set.", {
    type: str("The type of the condition, e.g. Ready or Available."),
    status: str("The condition's status: True, False or Unknown."),
    lastTransitionTime: ref(META + "Time", "When the condition last changed from one status to another."),
    reason: str("A short CamelCase word saying why the condition last changed."),
    message: str("A human-readable explanation of the condition's last change."),
  }),
  [APPS + "RollingUpdateDeployment"]: obj("Settings for a rolling update.", {
    maxUnavailable: ref(INT_OR_STRING, "How many pods, or what percentage, may be unavailable during the update."),
    maxSurge: ref(INT_OR_STRING, "How many pods, or what percentage, may be created above the desired count."),
  }),
  [APPS + "RollingUpdateStatefulSetStrategy"]: obj("Settings for a stateful set rolling update.", {
    partition: int32("Only pods with an ordinal at or above this are updated."),
    maxUnavailable: ref(INT_OR_STRING, "How many pods may be unavailable during the update."),
  }),
  [APPS + "RollingUpdateDaemonSet"]: obj("Settings for a daemon set rolling update.", {
    maxUnavailable: ref(INT_OR_STRING, "How many daemon pods may be unavailable during the update."),
    maxSurge: ref(INT_OR_STRING, "How many nodes may run an extra, updated pod during the update."),
  }),
  [APPS + "DeploymentList"]: listOf("apps", "v1", "Deployment", APPS + "Deployment"),
  [APPS + "ReplicaSetList"]: listOf("apps", "v1", "ReplicaSet", APPS + "ReplicaSet"),
  [APPS + "StatefulSetList"]: listOf("apps", "v1", "StatefulSet", APPS + "StatefulSet"),
  [APPS + "DaemonSetList"]: listOf("apps", "v1", "DaemonSet", APPS + "DaemonSet"),
  [APPS + "ControllerRevisionList"]: listOf("apps", "v1", "ControllerRevision", APPS + "ControllerRevision"),
};
