// Book 11.2: tests for the /openapi/v2 stub kubectl asks for.
import { describe, expect, it } from "vitest";
import { OPENAPI_V2_PROTOBUF_ACCEPT, OPENAPI_V2_PROTOBUF_CONTENT_TYPE, openApiV2Response } from "./v2.js";

describe("openApiV2Response", () => {
  it("answers kubectl's protobuf request with an empty protobuf document", () => {
    const r = openApiV2Response(`${OPENAPI_V2_PROTOBUF_ACCEPT}, application/json`);
    expect(r.status).toBe(200);
    expect(r.contentType).toBe("application/com.github.proto-openapi.spec.v2.v1.0+protobuf");
    expect(r.contentType).toBe(OPENAPI_V2_PROTOBUF_CONTENT_TYPE);
    expect(r.body).toBeInstanceOf(Uint8Array);
    expect((r.body as Uint8Array).length).toBe(0);
  });

  it("answers anything else with an empty Swagger 2.0 JSON document", () => {
    for (const accept of [undefined, "application/json", "*/*"]) {
      const r = openApiV2Response(accept);
      expect(r.contentType).toBe("application/json");
      expect(JSON.parse(r.body as string)).toMatchObject({ swagger: "2.0", paths: {}, definitions: {} });
    }
  });
});
