// Book 11.2: the OpenAPI documents the API server publishes — /openapi/v3 per group-version (what
// kubectl explain and server-side field validation detection read) and the stub /openapi/v2.
export { buildOpenApiV3, type OpenApiDocument, type OpenApiIndex, type OpenApiV3 } from "./v3.js";
export { gvPath, gvTag, groupWord, PARAMS, resourcePaths } from "./operations.js";
export {
  OPENAPI_V2_PROTOBUF_ACCEPT,
  OPENAPI_V2_PROTOBUF_CONTENT_TYPE,
  openApiV2Response,
  type OpenApiV2Response,
} from "./v2.js";
