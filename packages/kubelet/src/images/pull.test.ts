// Book 9.5: the puller's pure parts — reading WWW-Authenticate challenges and finding an
// imagePullSecret's credentials for a registry. (Pulls themselves: test/kubelet/images.test.ts.)
import { describe, expect, it } from "vitest";
import { credentialsFor, parseChallenge } from "./pull.js";

const b64 = (s: string) => Buffer.from(s).toString("base64");

describe("parseChallenge", () => {
  it("reads a Bearer challenge with quoted, comma-separated parameters", () => {
    expect(parseChallenge('Bearer realm="https://auth.example.com/token",service="registry.example.com",scope="repository:a/b:pull,push"')).toEqual({
      scheme: "bearer",
      params: { realm: "https://auth.example.com/token", service: "registry.example.com", scope: "repository:a/b:pull,push" },
    });
  });
  it("reads Basic and unquoted values", () => {
    expect(parseChallenge('Basic realm="Registry Realm"')).toEqual({ scheme: "basic", params: { realm: "Registry Realm" } });
    expect(parseChallenge("Bearer realm=http://127.0.0.1:1/t,service=s")?.params).toEqual({ realm: "http://127.0.0.1:1/t", service: "s" });
  });
  it("gives undefined for an empty header", () => {
    expect(parseChallenge("")).toBeUndefined();
  });
});

describe("credentialsFor", () => {
  const secret = {
    auths: {
      "127.0.0.1:5000": { auth: b64("alice:s3cr:et") },
      "https://index.docker.io/v1/": { auth: b64("hubuser:hubpass") },
      "quay.io": { username: "bob", password: "pw" },
    },
  };
  it("decodes base64(user:pass), keeping colons in the password", () => {
    expect(credentialsFor("127.0.0.1:5000", secret)).toEqual({ username: "alice", password: "s3cr:et" });
  });
  it("matches Docker Hub's several names and URL-shaped keys", () => {
    expect(credentialsFor("docker.io", secret)).toEqual({ username: "hubuser", password: "hubpass" });
  });
  it("takes username/password fields, searches several secrets in order, and finds nothing for other hosts", () => {
    expect(credentialsFor("quay.io", [{ auths: {} }, secret])).toEqual({ username: "bob", password: "pw" });
    expect(credentialsFor("127.0.0.1:5001", secret)).toBeUndefined();
    expect(credentialsFor("ghcr.io", undefined)).toBeUndefined();
  });
  it("reads the legacy .dockercfg shape (no auths wrapper) and ignores junk", () => {
    expect(credentialsFor("r.io", { "r.io": { auth: b64("u:p") } } as never)).toEqual({ username: "u", password: "p" });
    expect(credentialsFor("r.io", { auths: { "r.io": { auth: b64("no-colon") } } })).toBeUndefined();
    expect(credentialsFor("r.io", { auths: { "r.io": null } } as never)).toBeUndefined();
  });
});
