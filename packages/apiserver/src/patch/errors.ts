// Book 1.6.1 and 11.2: the Status errors a PATCH body can earn — 400 for a body that is not a patch at
// all, 422 for a patch that is well formed but cannot be applied to the object it names.
import { badRequest, failure, type StatusError } from "@corekube/api";
import { jsonKind } from "./json-value.js";

/** The message kube-apiserver gives every patch that does not apply (its detail is lost upstream). */
export const NOT_APPLICABLE_MESSAGE = "the server rejected our request due to an error in our request";

/**
 * 422 Invalid: the patch is well formed but cannot be applied. The code, reason and message are
 * kube-apiserver's; the detail, which upstream drops, travels as a cause so that kubectl can show
 * it ("The request is invalid: <field>: <detail>").
 */
export function patchNotApplicable(detail: string, field: string): StatusError {
  return failure(422, "Invalid", NOT_APPLICABLE_MESSAGE, { causes: [{ message: detail, field }] });
}

/** 400 BadRequest: the body is not a patch of the declared type. */
export function patchMalformed(message: string): StatusError {
  return badRequest(message);
}

/** The name Go's JSON decoder gives a JSON value's type in its error messages. */
export function goJsonType(v: unknown): string {
  const kind = jsonKind(v);
  return kind === "boolean" ? "bool" : kind;
}
