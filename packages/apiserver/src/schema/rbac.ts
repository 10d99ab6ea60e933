// Book 14.2: rbac.authorization.k8s.io — roles, cluster roles and their bindings to subjects.
import type { Schema } from "./types.js";
import {
  arr,
  listOf,
  META,
  METADATA_FIELD,
  obj,
  RBAC,
  ref,
  root,
  str,
} from "./dsl.js";

/** rbac.authorization.k8s.io/v1 schemas, keyed by component name. */
export const rbacSchemas: Record<string, Schema> = {
  [RBAC + "Role"]: root("rbac.authorization.k8s.io", "v1", "Role", "Permissions within one namespace.", {
    metadata: METADATA_FIELD,
    rules: arr(ref(RBAC + "PolicyRule"), "The permissions.", { list: "atomic" }),
  }),
  [RBAC + "RoleBinding"]: root(
    "rbac.authorization.k8s.io", "v1", "RoleBinding",
    "Grants a role's permissions to subjects within a namespace.",
    {
      metadata: METADATA_FIELD,
      subjects: arr(ref(RBAC + "Subject"), "Who gets the permissions.", { list: "atomic" }),
      roleRef: ref(RBAC + "RoleRef", "The Role or ClusterRole granted."),
    },
    { required: ["roleRef"] },
  ),
  [RBAC + "ClusterRole"]: root(
    "rbac.authorization.k8s.io", "v1", "ClusterRole",
    "Permissions across the cluster, or a reusable set for role bindings.",
    {
      metadata: METADATA_FIELD,
      rules: arr(ref(RBAC + "PolicyRule"), "The permissions.", { list: "atomic" }),
      aggregationRule: ref(
        RBAC + "AggregationRule",
        "Selectors of cluster roles whose rules are combined into this one.",
      ),
    },
  ),
  [RBAC + "ClusterRoleBinding"]: root(
    "rbac.authorization.k8s.io", "v1", "ClusterRoleBinding",
    "Grants a cluster role's permissions to subjects across the cluster.",
    {
      metadata: METADATA_FIELD,
      subjects: arr(ref(RBAC + "Subject"), "Who gets the permissions.", { list: "atomic" }),
      roleRef: ref(RBAC + "RoleRef", "The ClusterRole granted."),
    },
    { required: ["roleRef"] },
  ),
  [RBAC + "PolicyRule"]: obj("A set of allowed actions.", {
    verbs: arr(str(), "Verbs allowed, e.g. get, list, watch; * for all.", { list: "atomic" }),
    apiGroups: arr(str(), "API groups of the resources; \"\" for the core group.", { list: "atomic" }),
    resources: arr(str(), "Resources, e.g. pods or pods/log; * for all.", { list: "atomic" }),
    resourceNames: arr(str(), "Names of allowed objects; all when empty.", { list: "atomic" }),
    nonResourceURLs: arr(str(), "URL paths, e.g. /healthz; only for cluster roles.", { list: "atomic" }),
  }, { required: ["verbs"] }),
  [RBAC + "Subject"]: obj("Someone a binding grants permissions to.", {
    kind: str("User, Group or ServiceAccount."),
    apiGroup: str("rbac.authorization.k8s.io for users and groups; \"\" for service accounts."),
    name: str("The subject's name."),
    namespace: str("The service account's namespace."),
  }, { required: ["kind", "name"], "x-kubernetes-map-type": "atomic" }),
  [RBAC + "RoleRef"]: obj("The role a binding grants.", {
    apiGroup: str("rbac.authorization.k8s.io."),
    kind: str("Role or ClusterRole."),
    name: str("The role's name."),
  }, { required: ["kind", "name"], "x-kubernetes-map-type": "atomic" }),
  [RBAC + "AggregationRule"]: obj("How a cluster role's rules are built from others.", {
    clusterRoleSelectors: arr(ref(META + "LabelSelector"), "Cluster roles whose rules are added.", { list: "atomic" }),
  }),
  [RBAC + "RoleList"]: listOf("rbac.authorization.k8s.io", "v1", "Role", RBAC + "Role"),
  [RBAC + "RoleBindingList"]: listOf("rbac.authorization.k8s.io", "v1", "RoleBinding", RBAC + "RoleBinding"),
  [RBAC + "ClusterRoleList"]: listOf("rbac.authorization.k8s.io", "v1", "ClusterRole", RBAC + "ClusterRole"),
  [RBAC + "ClusterRoleBindingList"]: listOf(
    "rbac.authorization.k8s.io",
    "v1",
    "ClusterRoleBinding",
    RBAC + "ClusterRoleBinding",
  ),
};
