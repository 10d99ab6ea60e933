// Book 11.2: reading request bodies — JSON or YAML objects, patch documents by content type — with a
// 400/415 Status for anything malformed and a note of duplicate fields for strict validation.
import { parse as parseYaml, YAMLParseError } from "yaml";
import { badRequest, unsupportedMediaType } from "@corekube/api";
import { parseJsonStrict } from "../schema/strict.js";

export interface DecodedBody {
  value: unknown;
  /** Fields given twice in one JSON object (fieldValidation Strict rejects them). */
  duplicateFields: string[];
}

export const OBJECT_MEDIA_TYPES = ["application/json", "application/yaml"];

export function mediaType(contentType: string | undefined): string {
  return (contentType ?? "").split(";")[0]!.trim().toLowerCase();
}

export function decodeJson(text: string): DecodedBody {
  const r = parseJsonStrict(text);
  return { value: r.value, duplicateFields: r.duplicateFields };
}

export function decodeYaml(text: string): DecodedBody {
  try {
    return { value: parseYaml(text, { prettyErrors: false, merge: false }), duplicateFields: [] };
  } catch (e) {
    if (e instanceof YAMLParseError && e.code === "DUPLICATE_KEY") throw badRequest(`yaml: ${e.message.split("\n")[0]}`);
    throw badRequest(`error converting YAML to JSON: ${(e as Error).message.split("\n")[0]}`);
  }
}

function goType(v: unknown): string {
  if (Array.isArray(v)) return "array";
  if (typeof v === "boolean") return "bool";
  return typeof v;
}

/**
 * apiVersion and kind are strings (or absent, or null): the first thing kube-apiserver decodes from
 * any body, with its 400 when they are not — before anything prints or compares them.
 */
export function checkTypeMeta(value: unknown): void {
  if (value === null || typeof value !== "object" || Array.isArray(value)) return;
  for (const key of ["apiVersion", "kind"] as const) {
    const v = (value as Record<string, unknown>)[key];
    if (v !== undefined && v !== null && typeof v !== "string")
      throw badRequest(`couldn't get version/kind; json parse error: json: cannot unmarshal ${goType(v)} into Go struct field .${key} of type string`);
  }
}

/** An object body (create, update): JSON or YAML by Content-Type; an empty body is an error. */
export function decodeObjectBody(raw: Buffer | undefined, contentType: string | undefined): DecodedBody {
  const mt = mediaType(contentType);
  const text = raw ? raw.toString("utf8") : "";
  if (text.trim() === "") throw badRequest("the request body is empty: send the object as JSON or YAML");
  let decoded: DecodedBody;
  if (mt === "application/json" || mt === "" || mt === "*/*") decoded = decodeJson(text);
  else if (mt === "application/yaml" || mt === "application/x-yaml" || mt === "text/yaml") decoded = decodeYaml(text);
  else throw unsupportedMediaType(OBJECT_MEDIA_TYPES);
  checkTypeMeta(decoded.value);
  return decoded;
}

/** An optional body (DELETE's DeleteOptions). */
export function decodeOptionalBody(raw: Buffer | undefined, contentType: string | undefined): unknown {
  const text = raw ? raw.toString("utf8") : "";
  if (text.trim() === "") return undefined;
  const mt = mediaType(contentType);
  if (mt === "application/yaml") return decodeYaml(text).value;
  return decodeJson(text).value;
}
