// Book 8.3 and 11.3: ConfigMaps, Secrets (base64 data, stringData folded in, typed secrets) and
// ServiceAccounts — key rules, the 1 MiB cap and the `immutable: true` lock.
import { field, type FieldError } from "@corekube/api";
import type { KubeObject, ResourceDef } from "../registry/types.js";
import { isObj, obj, objects, s, semanticEqual, type JsonObject } from "./json.js";
import { age, ageColumn, col, nameColumn, nameOf } from "./tables.js";
import { isConfigMapKey } from "./validation.js";

/** ConfigMaps and Secrets may hold at most 1 MiB of data. */
export const MAX_DATA_SIZE = 1024 * 1024;
const REDACTED = "<secret contents redacted>";

function keyErrors(map: unknown, path: string): FieldError[] {
  const errs: FieldError[] = [];
  for (const key of Object.keys(obj(map) ?? {})) for (const msg of isConfigMapKey(key)) errs.push(field.invalid(`${path}[${key}]`, key, msg));
  return errs;
}

/** The offset of the first byte Go's standard base64 decoder refuses, or -1 when the text decodes. */
export function base64Error(text: string): number {
  const clean = text.replace(/[\r\n]/g, "");
  for (let i = 0; i < clean.length; i++) {
    const c = clean[i]!;
    if (/[A-Za-z0-9+/]/.test(c)) continue;
    if (c === "=") {
      const rest = clean.slice(i);
      if (/^={1,2}$/.test(rest) && clean.length % 4 === 0) return -1;
      return i;
    }
    return i;
  }
  if (clean.length % 4 !== 0) return clean.length - (clean.length % 4);
  return -1;
}

function decodedSize(v: unknown): number {
  return typeof v === "string" ? Buffer.from(v, "base64").length : 0;
}

/** `immutable: true` freezes data and cannot be undone. */
function immutableUpdate(next: KubeObject, old: KubeObject, dataFields: string[]): FieldError[] {
  if (old.immutable !== true) return [];
  const errs: FieldError[] = [];
  if (next.immutable !== true) errs.push(field.forbidden("immutable", "field is immutable when `immutable` is set"));
  for (const f of dataFields) if (!semanticEqual(next[f], old[f])) errs.push(field.forbidden(f, "field is immutable when `immutable` is set"));
  return errs;
}

// ---------------------------------------------------------------------------------------------
// ConfigMap.

function validateConfigMap(cm: KubeObject): FieldError[] {
  const errs = [...keyErrors(cm.data, "data"), ...keyErrors(cm.binaryData, "binaryData")];
  const data = obj(cm.data) ?? {};
  const binary = obj(cm.binaryData) ?? {};
  let size = 0;
  for (const [k, v] of Object.entries(data)) {
    if (typeof v !== "string") errs.push(field.typeInvalid(`data[${k}]`, v, "must be a string"));
    else size += Buffer.byteLength(v, "utf8");
    if (Object.hasOwn(binary, k)) errs.push(field.invalid(`data[${k}]`, k, "duplicate of key present in binaryData"));
  }
  for (const [k, v] of Object.entries(binary)) {
    if (typeof v !== "string" || base64Error(v) >= 0) {
      errs.push(field.invalid(`binaryData[${k}]`, typeof v === "string" ? "<binary data>" : v, `illegal base64 data at input byte ${typeof v === "string" ? base64Error(v) : 0}`));
    } else size += decodedSize(v);
    if (Object.hasOwn(data, k)) errs.push(field.invalid(`binaryData[${k}]`, k, "duplicate of key present in data"));
  }
  if (size > MAX_DATA_SIZE) errs.push(field.tooLong("", "", MAX_DATA_SIZE));
  return errs;
}

export const configMaps: ResourceDef = {
  group: "",
  version: "v1",
  resource: "configmaps",
  kind: "ConfigMap",
  listKind: "ConfigMapList",
  singular: "configmap",
  namespaced: true,
  shortNames: ["cm"],
  schemaName: "io.k8s.api.core.v1.ConfigMap",
  strategy: {
    validate: validateConfigMap,
    validateUpdate: (cm, old) => immutableUpdate(cm, old, ["data", "binaryData"]),
    allowCreateOnUpdate: false,
  },
  table: {
    columns: [nameColumn(), col("Data", "string", "How many keys the config map holds."), ageColumn()],
    cells: (cm, now) => [nameOf(cm), Object.keys(obj(cm.data) ?? {}).length + Object.keys(obj(cm.binaryData) ?? {}).length, age(cm, now)],
  },
};

// ---------------------------------------------------------------------------------------------
// Secret.

export const SECRET_TYPES = {
  opaque: "Opaque",
  serviceAccountToken: "kubernetes.io/service-account-token",
  dockercfg: "kubernetes.io/dockercfg",
  dockerConfigJson: "kubernetes.io/dockerconfigjson",
  basicAuth: "kubernetes.io/basic-auth",
  sshAuth: "kubernetes.io/ssh-auth",
  tls: "kubernetes.io/tls",
  bootstrapToken: "bootstrap.kubernetes.io/token",
} as const;

/** Secret defaults: type Opaque; `stringData` folded into `data` (base64) and dropped. */
export function defaultSecret(secret: KubeObject): void {
  if (s(secret.type) === "") secret.type = SECRET_TYPES.opaque;
  const stringData = obj(secret.stringData);
  if (!stringData) return;
  // Leave stringData in place if it has non-string values, so validation can name them.
  if (!Object.values(stringData).every((v) => typeof v === "string")) return;
  const data: JsonObject = isObj(secret.data) ? secret.data : {};
  for (const [k, v] of Object.entries(stringData)) data[k] = Buffer.from(v as string, "utf8").toString("base64");
  secret.data = data;
  delete secret.stringData;
}

function requireKey(data: JsonObject, key: string): FieldError[] {
  return decodedSize(data[key]) === 0 ? [field.required(`data[${key}]`, "")] : [];
}

function requireJSON(data: JsonObject, key: string): FieldError[] {
  const missing = requireKey(data, key);
  if (missing.length > 0) return missing;
  try {
    JSON.parse(Buffer.from(s(data[key]), "base64").toString("utf8"));
    return [];
  } catch (e) {
    return [field.invalid(`data[${key}]`, REDACTED, e instanceof Error ? e.message : "invalid JSON")];
  }
}

function validateSecret(secret: KubeObject): FieldError[] {
  const errs = keyErrors(secret.data, "data");
  const data = obj(secret.data) ?? {};
  let size = 0;
  for (const [k, v] of Object.entries(data)) {
    if (typeof v !== "string") {
      errs.push(field.typeInvalid(`data[${k}]`, v, "must be a base64-encoded string"));
      continue;
    }
    const bad = base64Error(v);
    if (bad >= 0) errs.push(field.invalid(`data[${k}]`, REDACTED, `illegal base64 data at input byte ${bad}`));
    else size += decodedSize(v);
  }
  for (const [k, v] of Object.entries(obj(secret.stringData) ?? {})) {
    if (typeof v !== "string") errs.push(field.typeInvalid(`stringData[${k}]`, v, "must be a string"));
  }
  if (size > MAX_DATA_SIZE) errs.push(field.tooLong("data", "", MAX_DATA_SIZE));
  switch (secret.type) {
    case SECRET_TYPES.serviceAccountToken:
      if (s(obj(secret.metadata.annotations)?.["kubernetes.io/service-account.name"]) === "") {
        errs.push(field.required("metadata.annotations[kubernetes.io/service-account.name]", ""));
      }
      break;
    case SECRET_TYPES.dockercfg:
      errs.push(...requireJSON(data, ".dockercfg"));
      break;
    case SECRET_TYPES.dockerConfigJson:
      errs.push(...requireJSON(data, ".dockerconfigjson"));
      break;
    case SECRET_TYPES.basicAuth:
      if (decodedSize(data.username) === 0 && decodedSize(data.password) === 0) {
        errs.push(field.required("data[username]", ""), field.required("data[password]", ""));
      }
      break;
    case SECRET_TYPES.sshAuth:
      errs.push(...requireKey(data, "ssh-privatekey"));
      break;
    case SECRET_TYPES.tls:
      errs.push(...requireKey(data, "tls.key"), ...requireKey(data, "tls.crt"));
      break;
    default:
      break;
  }
  return errs;
}

function validateSecretUpdate(secret: KubeObject, old: KubeObject): FieldError[] {
  const errs: FieldError[] = [];
  if (s(secret.type) !== s(old.type)) errs.push(field.invalid("type", secret.type ?? "", "field is immutable"));
  errs.push(...immutableUpdate(secret, old, ["data"]));
  return errs;
}

export const secrets: ResourceDef = {
  group: "",
  version: "v1",
  resource: "secrets",
  kind: "Secret",
  listKind: "SecretList",
  singular: "secret",
  namespaced: true,
  schemaName: "io.k8s.api.core.v1.Secret",
  strategy: {
    defaults: defaultSecret,
    validate: validateSecret,
    validateUpdate: validateSecretUpdate,
    allowCreateOnUpdate: false,
  },
  table: {
    columns: [
      nameColumn(),
      col("Type", "string", "The kind of secret (Opaque, kubernetes.io/tls...)."),
      col("Data", "string", "How many keys the secret holds."),
      ageColumn(),
    ],
    cells: (secret, now) => [nameOf(secret), s(secret.type), Object.keys(obj(secret.data) ?? {}).length, age(secret, now)],
  },
  fields: (secret) => ({ type: s(secret.type) }),
};

// ---------------------------------------------------------------------------------------------
// ServiceAccount.

function validateServiceAccount(sa: KubeObject): FieldError[] {
  const errs: FieldError[] = [];
  for (const list of ["secrets", "imagePullSecrets"]) {
    objects(sa[list]).forEach(([ref, i]) => {
      if (s(ref.name) === "") errs.push(field.required(`${list}[${i}].name`, ""));
    });
  }
  return errs;
}

export const serviceAccounts: ResourceDef = {
  group: "",
  version: "v1",
  resource: "serviceaccounts",
  kind: "ServiceAccount",
  listKind: "ServiceAccountList",
  singular: "serviceaccount",
  namespaced: true,
  shortNames: ["sa"],
  schemaName: "io.k8s.api.core.v1.ServiceAccount",
  strategy: {
    validate: validateServiceAccount,
    allowCreateOnUpdate: true,
  },
  table: {
    columns: [nameColumn(), col("Secrets", "string", "How many secrets the service account lists."), ageColumn()],
    cells: (sa, now) => [nameOf(sa), objects(sa.secrets).length, age(sa, now)],
  },
};
