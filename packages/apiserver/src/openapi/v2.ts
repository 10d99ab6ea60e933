// Book 11.2: /openapi/v2 — kubectl still asks for the old Swagger document in protobuf; an empty protobuf
// Document (zero bytes is a valid message) tells it there is nothing there, so it uses v3 instead.

/** The media type kubectl puts in Accept when it asks for /openapi/v2. */
export const OPENAPI_V2_PROTOBUF_ACCEPT = "application/com.github.proto-openapi.spec.v2@v1.0+protobuf";
/** The Content-Type of the protobuf answer (note ".v1.0", not "@v1.0"). */
export const OPENAPI_V2_PROTOBUF_CONTENT_TYPE = "application/com.github.proto-openapi.spec.v2.v1.0+protobuf";

export interface OpenApiV2Response {
  status: 200;
  contentType: string;
  body: Uint8Array | string;
}

/**
 * What to answer on GET /openapi/v2 for a request's Accept header: an empty protobuf Document when
 * protobuf is asked for (what kubectl does), else a minimal Swagger 2.0 JSON document with no paths.
 */
export function openApiV2Response(accept: string | undefined): OpenApiV2Response {
  const wantsProtobuf = (accept ?? "")
    .split(",")
    .some((part) => part.trim().split(";")[0]!.trim().startsWith("application/com.github.proto-openapi.spec.v2"));
  if (wantsProtobuf) return { status: 200, contentType: OPENAPI_V2_PROTOBUF_CONTENT_TYPE, body: new Uint8Array(0) };
  const doc = { swagger: "2.0", info: { title: "Kubernetes", version: "unversioned" }, paths: {}, definitions: {} };
  return { status: 200, contentType: "application/json", body: JSON.stringify(doc) };
}
