// Book 14.2: rbac.authorization.k8s.io — Roles and ClusterRoles (rules of verbs on resources or
// non-resource URLs) and the bindings that grant them to users, groups and service accounts.
import { field, type FieldError } from "@corekube/api";
import type { KubeObject, ResourceDef } from "../registry/types.js";
import { arr, ensureObj, get, obj, objects, s, setDefaultStr, type JsonObject } from "./json.js";
import { isDNS1123Subdomain, isValidPathSegmentName, validateImmutable, validateLabelSelector } from "./meta.js";
import { age, ageColumn, col, createdAt, createdAtColumn, nameColumn, nameOf } from "./tables.js";

export const RBAC_GROUP = "rbac.authorization.k8s.io";

function validateRule(rule: JsonObject, p: string, namespaced: boolean): FieldError[] {
  const errs: FieldError[] = [];
  if (arr(rule.verbs).length === 0) errs.push(field.required(`${p}.verbs`, "verbs must contain at least one value"));
  const urls = arr(rule.nonResourceURLs);
  if (urls.length > 0) {
    if (namespaced) errs.push(field.invalid(`${p}.nonResourceURLs`, urls, "namespaced rules cannot apply to non-resource URLs"));
    if (arr(rule.apiGroups).length > 0 || arr(rule.resources).length > 0 || arr(rule.resourceNames).length > 0) {
      errs.push(field.invalid(`${p}.nonResourceURLs`, urls, "rules cannot apply to both regular resources and non-resource URLs"));
    }
    return errs;
  }
  if (arr(rule.apiGroups).length === 0) errs.push(field.required(`${p}.apiGroups`, "resource rules must supply at least one api group"));
  if (arr(rule.resources).length === 0) errs.push(field.required(`${p}.resources`, "resource rules must supply at least one resource"));
  return errs;
}

function validateRules(o: KubeObject, namespaced: boolean): FieldError[] {
  const errs: FieldError[] = [];
  objects(o.rules).forEach(([rule, i]) => errs.push(...validateRule(rule, `rules[${i}]`, namespaced)));
  return errs;
}

function validateClusterRole(cr: KubeObject): FieldError[] {
  const errs = validateRules(cr, false);
  const aggregation = obj(cr.aggregationRule);
  if (aggregation) {
    objects(aggregation.clusterRoleSelectors).forEach(([sel, i]) => errs.push(...validateLabelSelector(sel, `aggregationRule.clusterRoleSelectors[${i}]`)));
  }
  return errs;
}

/** Subjects' apiGroup and roleRef.apiGroup default from their kinds. */
function defaultBinding(b: KubeObject): void {
  setDefaultStr(ensureObj(b as JsonObject, "roleRef"), "apiGroup", RBAC_GROUP);
  for (const [subject] of objects(b.subjects)) {
    if (s(subject.apiGroup) !== "") continue;
    if (subject.kind === "User" || subject.kind === "Group") subject.apiGroup = RBAC_GROUP;
    else if (subject.kind === "ServiceAccount") subject.apiGroup = "";
  }
}

function validateBinding(b: KubeObject, namespaced: boolean): FieldError[] {
  const errs: FieldError[] = [];
  const ref = obj(b.roleRef) ?? {};
  if (ref.apiGroup !== RBAC_GROUP) errs.push(field.notSupported("roleRef.apiGroup", ref.apiGroup ?? "", [RBAC_GROUP]));
  const kinds = namespaced ? ["Role", "ClusterRole"] : ["ClusterRole"];
  if (!kinds.includes(s(ref.kind))) errs.push(field.notSupported("roleRef.kind", ref.kind ?? "", kinds));
  const name = s(ref.name);
  if (name === "") errs.push(field.required("roleRef.name", ""));
  else for (const msg of isValidPathSegmentName(name)) errs.push(field.invalid("roleRef.name", name, msg));
  objects(b.subjects).forEach(([subject, i]) => {
    const p = `subjects[${i}]`;
    const subjectName = s(subject.name);
    if (subjectName === "") errs.push(field.required(`${p}.name`, ""));
    switch (subject.kind) {
      case "ServiceAccount":
        if (subjectName !== "") for (const msg of isDNS1123Subdomain(subjectName)) errs.push(field.invalid(`${p}.name`, subjectName, msg));
        if (s(subject.apiGroup) !== "") errs.push(field.notSupported(`${p}.apiGroup`, subject.apiGroup, [""]));
        if (!namespaced && s(subject.namespace) === "") errs.push(field.required(`${p}.namespace`, ""));
        break;
      case "User":
      case "Group":
        if (subject.apiGroup !== RBAC_GROUP) errs.push(field.notSupported(`${p}.apiGroup`, subject.apiGroup ?? "", [RBAC_GROUP]));
        break;
      default:
        errs.push(field.notSupported(`${p}.kind`, subject.kind ?? "", ["ServiceAccount", "User", "Group"]));
    }
  });
  return errs;
}

function validateBindingUpdate(b: KubeObject, old: KubeObject): FieldError[] {
  return validateImmutable(b.roleRef, old.roleRef, "roleRef").map((e) => ({ ...e, detail: "cannot change roleRef" }));
}

/** USERS, GROUPS and SERVICEACCOUNTS cells (service accounts as namespace/name). */
function subjectCells(b: KubeObject): [string, string, string] {
  const users: string[] = [];
  const groups: string[] = [];
  const sas: string[] = [];
  for (const [subject] of objects(b.subjects)) {
    if (subject.kind === "User") users.push(s(subject.name));
    else if (subject.kind === "Group") groups.push(s(subject.name));
    else if (subject.kind === "ServiceAccount") sas.push(`${s(subject.namespace)}/${s(subject.name)}`);
  }
  return [users.join(", "), groups.join(", "), sas.join(", ")];
}

const roleTable = {
  columns: [nameColumn(), createdAtColumn()],
  cells: (r: KubeObject) => [nameOf(r), createdAt(r)],
};

function bindingTable(what: string) {
  return {
    columns: [
      nameColumn(),
      col("Role", "string", "The role granted, as kind/name."),
      ageColumn(),
      col("Users", "string", `Users in the ${what}.`, 1),
      col("Groups", "string", `Groups in the ${what}.`, 1),
      col("ServiceAccounts", "string", `Service accounts in the ${what}.`, 1),
    ],
    cells: (b: KubeObject, now: Date) => [nameOf(b), `${s(get(b, "roleRef", "kind"))}/${s(get(b, "roleRef", "name"))}`, age(b, now), ...subjectCells(b)],
  };
}

const common = { group: RBAC_GROUP, version: "v1", nameValidation: "path-segment" as const };

export const roles: ResourceDef = {
  ...common,
  resource: "roles",
  kind: "Role",
  listKind: "RoleList",
  singular: "role",
  namespaced: true,
  schemaName: "io.k8s.api.rbac.v1.Role",
  strategy: { validate: (r) => validateRules(r, true), allowCreateOnUpdate: true },
  table: roleTable,
};

export const clusterRoles: ResourceDef = {
  ...common,
  resource: "clusterroles",
  kind: "ClusterRole",
  listKind: "ClusterRoleList",
  singular: "clusterrole",
  namespaced: false,
  schemaName: "io.k8s.api.rbac.v1.ClusterRole",
  strategy: { validate: validateClusterRole, allowCreateOnUpdate: true },
  table: roleTable,
};

export const roleBindings: ResourceDef = {
  ...common,
  resource: "rolebindings",
  kind: "RoleBinding",
  listKind: "RoleBindingList",
  singular: "rolebinding",
  namespaced: true,
  schemaName: "io.k8s.api.rbac.v1.RoleBinding",
  strategy: {
    defaults: defaultBinding,
    validate: (b) => validateBinding(b, true),
    validateUpdate: validateBindingUpdate,
    allowCreateOnUpdate: true,
  },
  table: bindingTable("roleBinding"),
};

export const clusterRoleBindings: ResourceDef = {
  ...common,
  resource: "clusterrolebindings",
  kind: "ClusterRoleBinding",
  listKind: "ClusterRoleBindingList",
  singular: "clusterrolebinding",
  namespaced: false,
  schemaName: "io.k8s.api.rbac.v1.ClusterRoleBinding",
  strategy: {
    defaults: defaultBinding,
    validate: (b) => validateBinding(b, false),
    validateUpdate: validateBindingUpdate,
    allowCreateOnUpdate: true,
  },
  table: bindingTable("clusterRoleBinding"),
};
