// Book 2.3-2.4 and 10.2: the apps/v1 workloads — Deployments, ReplicaSets, StatefulSets, DaemonSets
// and ControllerRevisions — with their defaults, validation, scale subresource and Tables.
import { field, type FieldError } from "@corekube/api";
import type { KubeObject, ResourceDef } from "../registry/types.js";
import { clone, ensureObj, get, isObj, num, obj, objects, s, semanticEqual, setDefault, setDefaultStr, type JsonObject } from "./json.js";
import { isDNS1123Label, validateImmutable } from "./meta.js";
import { defaultPodTemplate } from "./pod-defaults.js";
import { validateClaimSpec } from "./core-storage.js";
import { age, ageColumn, col, containerCells, containersColumn, formatLabels, formatLabelSelector, imagesColumn, nameColumn, nameOf, selectorColumn, selectorText } from "./tables.js";
import { intOrPercentValue, nonNegative, notMoreThan100Percent, oneOf, validateIntOrPercent } from "./validation.js";
import { replicasScale, validateLongRunningTemplate, validateSelectorAndTemplate } from "./workload.js";

const specOf = (o: KubeObject): JsonObject => ensureObj(o as JsonObject, "spec");
const readSpec = (o: KubeObject): JsonObject => obj(o.spec) ?? {};
const statusNum = (o: KubeObject, key: string): number => num(get(o, "status", key)) ?? 0;

/** The selector of apps/v1 objects never changes after creation. */
function immutableSelector(o: KubeObject, old: KubeObject): FieldError[] {
  return validateImmutable(get(o, "spec", "selector"), get(old, "spec", "selector"), "spec.selector");
}

function statusCounts(o: KubeObject, keys: string[]): FieldError[] {
  const errs: FieldError[] = [];
  for (const k of keys) errs.push(...nonNegative(get(o, "status", k), `status.${k}`));
  return errs;
}

/** ready/updated/available may not exceed replicas; available may not exceed ready. */
function replicaStatusRules(o: KubeObject, keys: string[]): FieldError[] {
  const errs = statusCounts(o, ["replicas", ...keys, "observedGeneration"]);
  const replicas = statusNum(o, "replicas");
  for (const k of keys) {
    if (statusNum(o, k) > replicas) errs.push(field.invalid(`status.${k}`, statusNum(o, k), "cannot be greater than status.replicas"));
  }
  if (keys.includes("availableReplicas") && keys.includes("readyReplicas") && statusNum(o, "availableReplicas") > statusNum(o, "readyReplicas")) {
    errs.push(field.invalid("status.availableReplicas", statusNum(o, "availableReplicas"), "cannot be greater than readyReplicas"));
  }
  return errs;
}

function collisionCountRule(o: KubeObject, old: KubeObject): FieldError[] {
  const now = num(get(o, "status", "collisionCount"));
  const before = num(get(old, "status", "collisionCount"));
  if (before !== undefined && (now ?? 0) < before) return [field.invalid("status.collisionCount", now ?? 0, "cannot be decremented")];
  return [];
}

function wideCells(template: unknown): [string, string] {
  return containerCells(get(template, "spec", "containers"));
}

// ---------------------------------------------------------------------------------------------
// Deployment.

export function defaultDeployment(d: KubeObject): void {
  const spec = specOf(d);
  setDefault(spec, "replicas", 1);
  const strategy = ensureObj(spec, "strategy");
  setDefaultStr(strategy, "type", "RollingUpdate");
  if (strategy.type === "RollingUpdate") {
    const ru = ensureObj(strategy, "rollingUpdate");
    setDefault(ru, "maxUnavailable", "25%");
    setDefault(ru, "maxSurge", "25%");
  }
  setDefault(spec, "revisionHistoryLimit", 10);
  setDefault(spec, "progressDeadlineSeconds", 600);
  defaultPodTemplate(spec.template);
}

function validateDeployment(d: KubeObject): FieldError[] {
  const spec = readSpec(d);
  const errs: FieldError[] = [];
  errs.push(...nonNegative(spec.replicas, "spec.replicas"));
  errs.push(...validateSelectorAndTemplate(spec, { emptyWord: "deployment", required: true }));
  errs.push(...validateLongRunningTemplate(spec, "ReplicaSet"));
  const strategy = obj(spec.strategy) ?? {};
  if (strategy.type === "Recreate") {
    if (strategy.rollingUpdate !== undefined && strategy.rollingUpdate !== null) {
      errs.push(field.forbidden("spec.strategy.rollingUpdate", "may not be specified when strategy `type` is 'Recreate'"));
    }
  } else if (strategy.type === "RollingUpdate") {
    const ru = obj(strategy.rollingUpdate);
    if (!ru) errs.push(field.required("spec.strategy.rollingUpdate", "this should be defaulted and never be nil"));
    else {
      errs.push(...validateIntOrPercent(ru.maxUnavailable, "spec.strategy.rollingUpdate.maxUnavailable"));
      errs.push(...validateIntOrPercent(ru.maxSurge, "spec.strategy.rollingUpdate.maxSurge"));
      if (intOrPercentValue(ru.maxUnavailable).value === 0 && intOrPercentValue(ru.maxSurge).value === 0) {
        errs.push(field.invalid("spec.strategy.rollingUpdate.maxUnavailable", ru.maxUnavailable ?? 0, "may not be 0 when `maxSurge` is 0"));
      }
      errs.push(...notMoreThan100Percent(ru.maxUnavailable, "spec.strategy.rollingUpdate.maxUnavailable"));
    }
  } else {
    errs.push(field.notSupported("spec.strategy", strategy, ["Recreate", "RollingUpdate"]));
  }
  errs.push(...nonNegative(spec.minReadySeconds, "spec.minReadySeconds"));
  errs.push(...nonNegative(spec.revisionHistoryLimit, "spec.revisionHistoryLimit"));
  const deadline = num(spec.progressDeadlineSeconds);
  if (deadline !== undefined) {
    errs.push(...nonNegative(deadline, "spec.progressDeadlineSeconds"));
    if (deadline <= (num(spec.minReadySeconds) ?? 0)) errs.push(field.invalid("spec.progressDeadlineSeconds", deadline, "must be greater than minReadySeconds"));
  }
  return errs;
}

export const deployments: ResourceDef = {
  group: "apps",
  version: "v1",
  resource: "deployments",
  kind: "Deployment",
  listKind: "DeploymentList",
  singular: "deployment",
  namespaced: true,
  shortNames: ["deploy"],
  categories: ["all"],
  schemaName: "io.k8s.api.apps.v1.Deployment",
  subresources: { status: true, scale: replicasScale },
  strategy: {
    defaults: defaultDeployment,
    validate: validateDeployment,
    validateUpdate: immutableSelector,
    validateStatusUpdate: (d, old) => [
      ...replicaStatusRules(d, ["updatedReplicas", "readyReplicas", "availableReplicas"]),
      ...nonNegative(get(d, "status", "unavailableReplicas"), "status.unavailableReplicas"),
      ...collisionCountRule(d, old),
    ],
    allowCreateOnUpdate: false,
  },
  table: {
    columns: [
      nameColumn(),
      col("Ready", "string", "Ready pods out of the desired number."),
      col("Up-to-date", "string", "Pods running the current template."),
      col("Available", "string", "Pods ready for at least minReadySeconds."),
      ageColumn(),
      containersColumn(),
      imagesColumn(),
      selectorColumn("The label selector of the deployment's pods."),
    ],
    cells(d, now) {
      const spec = readSpec(d);
      const [names, images] = wideCells(spec.template);
      const selector = selectorText(spec.selector);
      return [
        nameOf(d),
        `${statusNum(d, "readyReplicas")}/${num(spec.replicas) ?? 0}`,
        statusNum(d, "updatedReplicas"),
        statusNum(d, "availableReplicas"),
        age(d, now),
        names,
        images,
        selector === undefined ? "<invalid>" : selector,
      ];
    },
  },
};

// ---------------------------------------------------------------------------------------------
// ReplicaSet.

function validateReplicaSet(rs: KubeObject): FieldError[] {
  const spec = readSpec(rs);
  return [
    ...nonNegative(spec.replicas, "spec.replicas"),
    ...nonNegative(spec.minReadySeconds, "spec.minReadySeconds"),
    ...validateSelectorAndTemplate(spec, { emptyWord: "deployment", required: true }),
    ...validateLongRunningTemplate(spec, "ReplicaSet"),
  ];
}

export const replicaSets: ResourceDef = {
  group: "apps",
  version: "v1",
  resource: "replicasets",
  kind: "ReplicaSet",
  listKind: "ReplicaSetList",
  singular: "replicaset",
  namespaced: true,
  shortNames: ["rs"],
  categories: ["all"],
  schemaName: "io.k8s.api.apps.v1.ReplicaSet",
  subresources: { status: true, scale: replicasScale },
  strategy: {
    defaults(rs) {
      const spec = specOf(rs);
      setDefault(spec, "replicas", 1);
      defaultPodTemplate(spec.template);
    },
    validate: validateReplicaSet,
    validateUpdate: immutableSelector,
    validateStatusUpdate: (rs) => replicaStatusRules(rs, ["fullyLabeledReplicas", "readyReplicas", "availableReplicas"]),
    allowCreateOnUpdate: false,
  },
  table: {
    columns: [
      nameColumn(),
      col("Desired", "integer", "The number of pods wanted."),
      col("Current", "integer", "The number of pods that exist."),
      col("Ready", "integer", "The number of ready pods."),
      ageColumn(),
      containersColumn(),
      imagesColumn(),
      selectorColumn("The label selector of the replica set's pods."),
    ],
    cells(rs, now) {
      const spec = readSpec(rs);
      const [names, images] = wideCells(spec.template);
      return [
        nameOf(rs),
        num(spec.replicas) ?? 0,
        statusNum(rs, "replicas"),
        statusNum(rs, "readyReplicas"),
        age(rs, now),
        names,
        images,
        formatLabelSelector(spec.selector),
      ];
    },
  },
  fields: (rs) => ({ "status.replicas": String(statusNum(rs, "replicas")) }),
};

// ---------------------------------------------------------------------------------------------
// StatefulSet.

export function defaultStatefulSet(sts: KubeObject): void {
  const spec = specOf(sts);
  setDefaultStr(spec, "podManagementPolicy", "OrderedReady");
  const strategy = ensureObj(spec, "updateStrategy");
  setDefaultStr(strategy, "type", "RollingUpdate");
  if (strategy.type === "RollingUpdate") setDefault(ensureObj(strategy, "rollingUpdate"), "partition", 0);
  setDefault(spec, "replicas", 1);
  setDefault(spec, "revisionHistoryLimit", 10);
  const retention = ensureObj(spec, "persistentVolumeClaimRetentionPolicy");
  setDefaultStr(retention, "whenDeleted", "Retain");
  setDefaultStr(retention, "whenScaled", "Retain");
  defaultPodTemplate(spec.template);
  for (const [claim] of objects(spec.volumeClaimTemplates)) {
    setDefault(ensureObj(claim, "spec"), "volumeMode", "Filesystem");
    setDefaultStr(ensureObj(claim, "status"), "phase", "Pending");
  }
}

function validateStatefulSet(sts: KubeObject): FieldError[] {
  const spec = readSpec(sts);
  const errs: FieldError[] = [];
  const policy = spec.podManagementPolicy;
  if (policy === undefined || policy === "") errs.push(field.required("spec.podManagementPolicy", ""));
  else if (policy !== "OrderedReady" && policy !== "Parallel") errs.push(field.invalid("spec.podManagementPolicy", policy, "must be 'OrderedReady' or 'Parallel'"));
  const strategy = obj(spec.updateStrategy) ?? {};
  if (strategy.type === undefined || strategy.type === "") errs.push(field.required("spec.updateStrategy", ""));
  else if (strategy.type === "OnDelete") {
    if (isObj(strategy.rollingUpdate)) errs.push(field.invalid("spec.updateStrategy.rollingUpdate", strategy.rollingUpdate, "only allowed for updateStrategy 'RollingUpdate'"));
  } else if (strategy.type === "RollingUpdate") {
    const ru = obj(strategy.rollingUpdate);
    if (ru) {
      errs.push(...nonNegative(ru.partition, "spec.updateStrategy.rollingUpdate.partition"));
      if (ru.maxUnavailable !== undefined && ru.maxUnavailable !== null) {
        errs.push(...validateIntOrPercent(ru.maxUnavailable, "spec.updateStrategy.rollingUpdate.maxUnavailable"));
        if (intOrPercentValue(ru.maxUnavailable).value === 0) errs.push(field.invalid("spec.updateStrategy.rollingUpdate.maxUnavailable", ru.maxUnavailable, "cannot be 0"));
        errs.push(...notMoreThan100Percent(ru.maxUnavailable, "spec.updateStrategy.rollingUpdate.maxUnavailable"));
      }
    }
  } else {
    errs.push(field.invalid("spec.updateStrategy", strategy, "must be 'RollingUpdate' or 'OnDelete'"));
  }
  const retention = obj(spec.persistentVolumeClaimRetentionPolicy);
  if (retention) {
    errs.push(...oneOf(retention.whenDeleted, ["Retain", "Delete"], "spec.persistentVolumeClaimRetentionPolicy.whenDeleted"));
    errs.push(...oneOf(retention.whenScaled, ["Retain", "Delete"], "spec.persistentVolumeClaimRetentionPolicy.whenScaled"));
  }
  errs.push(...nonNegative(spec.replicas, "spec.replicas"));
  errs.push(...nonNegative(spec.minReadySeconds, "spec.minReadySeconds"));
  errs.push(...nonNegative(get(spec, "ordinals", "start"), "spec.ordinals.start"));
  if (s(spec.serviceName) !== "") {
    // The governing service's name becomes part of every pod's DNS name.
    for (const e of isDNS1123Label(s(spec.serviceName))) errs.push(field.invalid("spec.serviceName", spec.serviceName, e));
  }
  const claimNames: string[] = [];
  objects(spec.volumeClaimTemplates).forEach(([claim, i]) => {
    const name = s(get(claim, "metadata", "name"));
    if (name === "") errs.push(field.required(`spec.volumeClaimTemplates[${i}].metadata.name`, ""));
    claimNames.push(name);
    errs.push(...validateClaimSpec(claim.spec, `spec.volumeClaimTemplates[${i}].spec`));
  });
  errs.push(...validateSelectorAndTemplate(spec, { emptyWord: "statefulset", required: true }, { extraVolumes: claimNames }));
  errs.push(...validateLongRunningTemplate(spec, "StatefulSet"));
  return errs;
}

const STS_MUTABLE = ["replicas", "ordinals", "template", "updateStrategy", "persistentVolumeClaimRetentionPolicy", "minReadySeconds"];

function validateStatefulSetUpdate(sts: KubeObject, old: KubeObject): FieldError[] {
  const next = clone(readSpec(sts));
  const prev = readSpec(old);
  for (const k of STS_MUTABLE) next[k] = prev[k];
  if (semanticEqual(next, prev)) return [];
  return [
    field.forbidden(
      "spec",
      "updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template', 'updateStrategy', 'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden",
    ),
  ];
}

export const statefulSets: ResourceDef = {
  group: "apps",
  version: "v1",
  resource: "statefulsets",
  kind: "StatefulSet",
  listKind: "StatefulSetList",
  singular: "statefulset",
  namespaced: true,
  shortNames: ["sts"],
  categories: ["all"],
  nameValidation: "label",
  schemaName: "io.k8s.api.apps.v1.StatefulSet",
  subresources: { status: true, scale: replicasScale },
  strategy: {
    defaults: defaultStatefulSet,
    validate: validateStatefulSet,
    validateUpdate: validateStatefulSetUpdate,
    validateStatusUpdate: (sts, old) => [
      ...replicaStatusRules(sts, ["readyReplicas", "currentReplicas", "updatedReplicas", "availableReplicas"]),
      ...collisionCountRule(sts, old),
    ],
    allowCreateOnUpdate: false,
  },
  table: {
    columns: [nameColumn(), col("Ready", "string", "Ready pods out of the desired number."), ageColumn(), containersColumn(), imagesColumn()],
    cells(sts, now) {
      const spec = readSpec(sts);
      const [names, images] = wideCells(spec.template);
      return [nameOf(sts), `${statusNum(sts, "readyReplicas")}/${num(spec.replicas) ?? 0}`, age(sts, now), names, images];
    },
  },
};

// ---------------------------------------------------------------------------------------------
// DaemonSet.

export function defaultDaemonSet(ds: KubeObject): void {
  const spec = specOf(ds);
  const strategy = ensureObj(spec, "updateStrategy");
  setDefaultStr(strategy, "type", "RollingUpdate");
  if (strategy.type === "RollingUpdate") {
    const ru = ensureObj(strategy, "rollingUpdate");
    setDefault(ru, "maxUnavailable", 1);
    setDefault(ru, "maxSurge", 0);
  }
  setDefault(spec, "revisionHistoryLimit", 10);
  defaultPodTemplate(spec.template);
}

function validateDaemonSet(ds: KubeObject): FieldError[] {
  const spec = readSpec(ds);
  const errs: FieldError[] = [];
  errs.push(...validateSelectorAndTemplate(spec, { emptyWord: "daemonset", required: true }));
  errs.push(...validateLongRunningTemplate(spec, "DaemonSet"));
  errs.push(...nonNegative(spec.minReadySeconds, "spec.minReadySeconds"));
  errs.push(...nonNegative(spec.revisionHistoryLimit, "spec.revisionHistoryLimit"));
  const strategy = obj(spec.updateStrategy) ?? {};
  if (strategy.type === "RollingUpdate") {
    const ru = obj(strategy.rollingUpdate);
    if (!ru) errs.push(field.required("spec.updateStrategy.rollingUpdate", ""));
    else {
      const p = "spec.updateStrategy.rollingUpdate";
      errs.push(...validateIntOrPercent(ru.maxUnavailable, `${p}.maxUnavailable`), ...validateIntOrPercent(ru.maxSurge, `${p}.maxSurge`));
      errs.push(...notMoreThan100Percent(ru.maxUnavailable, `${p}.maxUnavailable`), ...notMoreThan100Percent(ru.maxSurge, `${p}.maxSurge`));
      const unavailable = intOrPercentValue(ru.maxUnavailable).value !== 0;
      const surge = intOrPercentValue(ru.maxSurge).value !== 0;
      if (unavailable && surge) errs.push(field.invalid(`${p}.maxSurge`, ru.maxSurge, "may not be set when maxUnavailable is non-zero"));
      if (!unavailable && !surge) errs.push(field.required(`${p}.maxUnavailable`, "cannot be 0 when maxSurge is 0"));
    }
  } else if (strategy.type !== "OnDelete") {
    errs.push(field.notSupported("spec.updateStrategy", strategy, ["RollingUpdate", "OnDelete"]));
  }
  return errs;
}

export const daemonSets: ResourceDef = {
  group: "apps",
  version: "v1",
  resource: "daemonsets",
  kind: "DaemonSet",
  listKind: "DaemonSetList",
  singular: "daemonset",
  namespaced: true,
  shortNames: ["ds"],
  categories: ["all"],
  schemaName: "io.k8s.api.apps.v1.DaemonSet",
  subresources: { status: true },
  strategy: {
    defaults: defaultDaemonSet,
    validate: validateDaemonSet,
    validateUpdate: immutableSelector,
    validateStatusUpdate: (ds, old) => [
      ...statusCounts(ds, [
        "currentNumberScheduled",
        "numberMisscheduled",
        "desiredNumberScheduled",
        "numberReady",
        "observedGeneration",
        "updatedNumberScheduled",
        "numberAvailable",
        "numberUnavailable",
      ]),
      ...collisionCountRule(ds, old),
    ],
    allowCreateOnUpdate: false,
  },
  table: {
    columns: [
      nameColumn(),
      col("Desired", "integer", "The number of nodes that should run the daemon pod."),
      col("Current", "integer", "The number of nodes running the daemon pod."),
      col("Ready", "integer", "The number of nodes whose daemon pod is ready."),
      col("Up-to-date", "integer", "The number of nodes running the current template."),
      col("Available", "integer", "The number of nodes whose daemon pod is available."),
      col("Node Selector", "string", "The node selector of the pod template."),
      ageColumn(),
      containersColumn(),
      imagesColumn(),
      selectorColumn("The label selector of the daemon set's pods."),
    ],
    cells(ds, now) {
      const spec = readSpec(ds);
      const [names, images] = wideCells(spec.template);
      return [
        nameOf(ds),
        statusNum(ds, "desiredNumberScheduled"),
        statusNum(ds, "currentNumberScheduled"),
        statusNum(ds, "numberReady"),
        statusNum(ds, "updatedNumberScheduled"),
        statusNum(ds, "numberAvailable"),
        formatLabels(get(spec, "template", "spec", "nodeSelector")),
        age(ds, now),
        names,
        images,
        formatLabelSelector(spec.selector),
      ];
    },
  },
};

// ---------------------------------------------------------------------------------------------
// ControllerRevision.

function controllerOf(o: KubeObject): string {
  const ref = objects(o.metadata?.ownerReferences).find(([r]) => r.controller === true)?.[0];
  if (!ref) return "<none>";
  const apiVersion = s(ref.apiVersion);
  const slash = apiVersion.indexOf("/");
  const group = slash < 0 ? "" : apiVersion.slice(0, slash);
  const kind = group === "" ? s(ref.kind) : `${s(ref.kind)}.${group}`;
  return `${kind.toLowerCase()}/${s(ref.name)}`;
}

export const controllerRevisions: ResourceDef = {
  group: "apps",
  version: "v1",
  resource: "controllerrevisions",
  kind: "ControllerRevision",
  listKind: "ControllerRevisionList",
  singular: "controllerrevision",
  namespaced: true,
  schemaName: "io.k8s.api.apps.v1.ControllerRevision",
  strategy: {
    validate(rev) {
      const errs: FieldError[] = [];
      if (rev.data === undefined || rev.data === null) errs.push(field.required("data", "data is mandatory"));
      errs.push(...nonNegative(rev.revision, "revision"));
      return errs;
    },
    validateUpdate: (rev, old) => validateImmutable(rev.data, old.data, "data"),
    allowCreateOnUpdate: false,
  },
  table: {
    columns: [nameColumn(), col("Controller", "string", "The object whose history this revision is."), col("Revision", "string", "The revision number."), ageColumn()],
    cells: (rev, now) => [nameOf(rev), controllerOf(rev), num(rev.revision) ?? 0, age(rev, now)],
  },
};
