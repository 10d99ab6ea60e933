// Book 14.2–14.3: tests for anonymous access and the request-level user decision.
import type { IncomingMessage } from "node:http";
import { describe, expect, it } from "vitest";
import { isStatusError } from "@corekube/api";
import { AuthenticationError, type Authenticator } from "./authenticator.js";
import { isAnonymousAllowed, resolveUser } from "./anonymous.js";

describe("isAnonymousAllowed", () => {
  it.each([
    ["GET", "/healthz"],
    ["GET", "/healthz/etcd"],
    ["GET", "/livez"],
    ["GET", "/livez/ping"],
    ["GET", "/readyz?verbose"],
    ["GET", "/readyz/informer-sync"],
    ["GET", "/version"],
    ["GET", "/version/"],
    ["HEAD", "/healthz"],
  ])("allows %s %s", (method, url) => {
    expect(isAnonymousAllowed(method, url)).toBe(true);
  });

  it.each([
    ["POST", "/healthz"],
    ["GET", "/api/v1/pods"],
    ["GET", "/api"],
    ["GET", "/healthzz"],
    ["GET", "/version/x"],
    ["GET", "/metrics"],
    ["GET", "/openapi/v2"],
    ["GET", "/healthz/../api/v1/secrets"],
    ["GET", "/healthz/%2e%2e/api/v1/secrets"],
    ["GET", "/healthz%2f..%2fapi"],
    ["GET", "//healthz"],
  ])("refuses %s %s", (method, url) => {
    expect(isAnonymousAllowed(method, url)).toBe(false);
  });
});

function request(method: string, url: string): IncomingMessage {
  return { method, url, headers: {}, socket: {} } as unknown as IncomingMessage;
}

const nobody: Authenticator = { authenticate: async () => undefined };
const alice: Authenticator = {
  authenticate: async () => ({ username: "alice", groups: ["system:authenticated"] }),
};
const badCreds: Authenticator = {
  authenticate: async () => {
    throw new AuthenticationError("invalid bearer token");
  },
};

describe("resolveUser", () => {
  it("returns the authenticated user", async () => {
    expect((await resolveUser(alice, request("GET", "/api/v1/pods"))).username).toBe("alice");
  });

  it("lets an anonymous caller read /healthz as system:anonymous", async () => {
    expect(await resolveUser(nobody, request("GET", "/healthz"))).toEqual({
      username: "system:anonymous",
      groups: ["system:unauthenticated"],
    });
  });

  it("answers 401 Unauthorized for anonymous callers elsewhere", async () => {
    const err = await resolveUser(nobody, request("GET", "/api/v1/pods")).catch((e: unknown) => e);
    expect(isStatusError(err)).toBe(true);
    expect((err as { status: unknown }).status).toEqual({
      kind: "Status",
      apiVersion: "v1",
      metadata: {},
      status: "Failure",
      message: "Unauthorized",
      reason: "Unauthorized",
      code: 401,
    });
  });

  it("answers 401 for bad credentials even on public paths, keeping the reason as the cause", async () => {
    const err = (await resolveUser(badCreds, request("GET", "/healthz")).catch((e: unknown) => e)) as Error & { code: number };
    expect(err.code).toBe(401);
    expect((err.cause as Error).message).toBe("invalid bearer token");
  });
});
