// Book 1.6.1 and 11.2: PATCH bodies — which algorithm a request's Content-Type selects, and the
// three that are pure functions on JSON values (JSON patch, JSON merge patch, strategic merge patch).
// Server-side apply lives in ./apply.
import { unsupportedMediaType } from "@corekube/api";

export { applyJsonPatch, decodeJsonPatch, parsePointer, MAX_JSON_PATCH_COPY_BYTES, MAX_JSON_PATCH_OPERATIONS } from "./json-patch.js";
export type { JsonPatchLimits, JsonPatchOperation } from "./json-patch.js";
export { applyMergePatch } from "./merge-patch.js";
export { applyStrategicMergePatch } from "./strategic.js";
export { NOT_APPLICABLE_MESSAGE } from "./errors.js";

export type PatchType = "json" | "merge" | "strategic" | "apply";

/** The media type of each patch type, in the order kube-apiserver lists them. */
export const PATCH_MEDIA_TYPES: Readonly<Record<PatchType, string>> = {
  json: "application/json-patch+json",
  merge: "application/merge-patch+json",
  strategic: "application/strategic-merge-patch+json",
  apply: "application/apply-patch+yaml",
};

const ALL_PATCH_TYPES: readonly PatchType[] = ["json", "merge", "strategic", "apply"];

/**
 * The patch type a PATCH request's Content-Type names. Parameters (`; charset=utf-8`) and case are
 * ignored. Anything else — `application/apply-patch+cbor` included, and strategic merge patch where
 * `accepted` leaves it out (custom resources) — throws 415 UnsupportedMediaType listing the types
 * that are accepted.
 */
export function patchTypeOf(contentType: string | undefined, accepted: readonly PatchType[] = ALL_PATCH_TYPES): PatchType {
  const mediaType = (contentType ?? "").split(";")[0]!.trim().toLowerCase();
  for (const type of accepted) {
    if (PATCH_MEDIA_TYPES[type] === mediaType) return type;
  }
  throw unsupportedMediaType(accepted.map((t) => PATCH_MEDIA_TYPES[t]));
}
