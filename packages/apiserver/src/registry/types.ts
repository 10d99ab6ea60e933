// Book 11.2 and 12.2: what the API server knows about each resource — its names for discovery, its
// schema, and its "strategy" (defaulting, validation, Tables, selectable fields), as kube-apiserver's
// registry pairs a REST store with a RESTCreateStrategy/RESTUpdateStrategy per kind.
import type { FieldError } from "@corekube/api";

export interface OwnerReference {
  apiVersion: string;
  kind: string;
  name: string;
  uid: string;
  controller?: boolean;
  blockOwnerDeletion?: boolean;
}

export interface ManagedFieldsEntry {
  manager?: string;
  operation?: "Apply" | "Update";
  apiVersion?: string;
  time?: string;
  fieldsType?: "FieldsV1";
  fieldsV1?: Record<string, unknown>;
  subresource?: string;
}

export interface ObjectMeta {
  name?: string;
  generateName?: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  generation?: number;
  creationTimestamp?: string | null;
  deletionTimestamp?: string;
  deletionGracePeriodSeconds?: number;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  ownerReferences?: OwnerReference[];
  finalizers?: string[];
  managedFields?: ManagedFieldsEntry[];
  [k: string]: unknown;
}

/** Any stored API object. Kind-specific fields stay untyped: strategies read them as JSON. */
export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata: ObjectMeta;
  [field: string]: unknown;
}

export interface UserInfo {
  username: string;
  uid?: string;
  groups: string[];
  extra?: Record<string, string[]>;
}

/** What a strategy may know about the request it serves. */
export interface RequestContext {
  user: UserInfo;
  /** The namespace from the URL ("" for cluster-scoped requests). */
  namespace: string;
  now: Date;
  /** dryRun=All: everything runs except the write. */
  dryRun: boolean;
  /** Texts returned to the client as `Warning: 299 - "..."` headers. */
  warnings: string[];
}

export type Verb = "create" | "delete" | "deletecollection" | "get" | "list" | "patch" | "update" | "watch";

/** The scale subresource (autoscaling/v1 Scale), described by JSON paths as CRDs do. */
export interface ScaleDef {
  /** e.g. ".spec.replicas" */
  specReplicasPath: string;
  /** e.g. ".status.replicas" */
  statusReplicasPath: string;
  /** e.g. ".status.selector" (a string selector) — for built-ins see selectorFrom. */
  labelSelectorPath?: string;
  /** Built-ins keep a LabelSelector object at spec.selector; this renders it as a string. */
  selectorFrom?: (obj: KubeObject) => string;
}

export interface TableColumn {
  name: string;
  type: "string" | "integer" | "number" | "boolean" | "date";
  format?: string;
  description: string;
  /** 0: always shown; >0: only with -o wide. */
  priority: number;
}

export interface TableConvertor {
  /** Every column in order, including the Name column (format "name"; usually first, last for Events). */
  columns: TableColumn[];
  /** One cell per column, in the same order. */
  cells(obj: KubeObject, now: Date): unknown[];
}

export interface Strategy {
  /** Defaulting, as Kubernetes' SetDefaults_*: runs on every create and update (mutates). */
  defaults?(obj: KubeObject): void;
  /**
   * Create-time preparation after the generic part (uid, timestamps, generation=1, status reset
   * when a status subresource exists), e.g. a pod's status.phase=Pending, a namespace's finalizers.
   */
  prepareForCreate?(obj: KubeObject, ctx: RequestContext): void;
  /**
   * Update-time preparation after the generic part (status kept from the old object when a status
   * subresource exists; metadata.generation bumped when anything outside metadata/status changed).
   */
  prepareForUpdate?(obj: KubeObject, old: KubeObject, ctx: RequestContext): void;
  /** Status-subresource update: obj already has old's spec and metadata and the new status. */
  prepareForStatusUpdate?(obj: KubeObject, old: KubeObject, ctx: RequestContext): void;
  /** Validation of a new object (after defaults); metadata's generic checks are done elsewhere. */
  validate?(obj: KubeObject, ctx: RequestContext): FieldError[];
  /** Validation of an update: immutable fields and the like. validate() also runs on updates. */
  validateUpdate?(obj: KubeObject, old: KubeObject, ctx: RequestContext): FieldError[];
  validateStatusUpdate?(obj: KubeObject, old: KubeObject, ctx: RequestContext): FieldError[];
  /** Keep a client-sent status on create (nodes, events...); default false when status is a subresource. */
  keepStatusOnCreate?: boolean;
  /** Graceful deletion: the default grace period in seconds (pods: spec.terminationGracePeriodSeconds). */
  defaultGracePeriodSeconds?(obj: KubeObject): number | undefined;
  /** Whether updates may create a missing object (PUT to a missing name): true for most kinds. */
  allowCreateOnUpdate?: boolean;
}

export interface ResourceDef {
  group: string;
  version: string;
  /** Plural, lower case: "deployments". */
  resource: string;
  kind: string;
  /** "DeploymentList" */
  listKind: string;
  /** "deployment" */
  singular: string;
  namespaced: boolean;
  shortNames?: string[];
  categories?: string[];
  /** Defaults to all eight verbs. */
  verbs?: Verb[];
  /** Name rules: DNS-1123 subdomain (default), DNS-1123 label, or path segment (RBAC). */
  nameValidation?: "subdomain" | "label" | "path-segment";
  /** The schema in components.schemas, e.g. "io.k8s.api.apps.v1.Deployment". */
  schemaName?: string;
  subresources?: {
    status?: boolean;
    scale?: ScaleDef;
  };
  strategy: Strategy;
  table?: TableConvertor;
  /**
   * Values of the field-selector fields beyond metadata.name and metadata.namespace (which are
   * always present), e.g. pods: { "spec.nodeName": ..., "status.phase": ... }.
   */
  fields?(obj: KubeObject): Record<string, string>;
  /** Custom resources: the CRD's name; undefined for built-ins. */
  crd?: string;
  /**
   * Kept under another resource's keys and in its form: events.k8s.io/v1 Events are stored as core
   * v1 Events (one storage, two API shapes), as kube-apiserver stores one version of each kind.
   */
  storedAs?: {
    group: string;
    resource: string;
    toStorage(obj: KubeObject): KubeObject;
    fromStorage(obj: KubeObject): KubeObject;
  };
}

export type { FieldError };
