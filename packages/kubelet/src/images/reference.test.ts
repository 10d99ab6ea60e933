// Book 9.5: image references are read the way container runtimes read them.
import { describe, expect, it } from "vitest";
import { familiarReference, InvalidReferenceError, isLoopbackRegistry, normalizeReference, parseReference, registryApiHost } from "./reference.js";

const D = `sha256:${"ab".repeat(32)}`;

describe("parseReference", () => {
  it.each([
    ["busybox", "docker.io/library/busybox:latest"],
    ["busybox:1.36", "docker.io/library/busybox:1.36"],
    ["library/busybox", "docker.io/library/busybox:latest"],
    ["docker.io/busybox", "docker.io/library/busybox:latest"],
    ["index.docker.io/library/busybox:1", "docker.io/library/busybox:1"],
    ["coredns/coredns:1.11.1", "docker.io/coredns/coredns:1.11.1"],
    ["registry.k8s.io/pause:3.9", "registry.k8s.io/pause:3.9"],
    ["quay.io/a/b/c:v_1.0-rc", "quay.io/a/b/c:v_1.0-rc"],
    ["localhost/app", "localhost/app:latest"],
    ["localhost:5000/app:2", "localhost:5000/app:2"],
    ["127.0.0.1:5000/busybox", "127.0.0.1:5000/busybox:latest"],
    ["[::1]:5000/busybox:1", "[::1]:5000/busybox:1"],
    [`busybox@${D}`, `docker.io/library/busybox@${D}`],
    [`busybox:1@${D}`, `docker.io/library/busybox:1@${D}`],
    [`127.0.0.1:5000/a/b@${D}`, `127.0.0.1:5000/a/b@${D}`],
    ["my-registry.local/team/app__x:1", "my-registry.local/team/app__x:1"],
  ])("%s → %s", (input, want) => {
    expect(normalizeReference(input)).toBe(want);
  });

  it("splits the parts and defaults the tag only when there is no digest", () => {
    expect(parseReference("127.0.0.1:5000/team/app")).toEqual({ registry: "127.0.0.1:5000", repository: "team/app", tag: "latest" });
    expect(parseReference(`app@${D}`)).toEqual({ registry: "docker.io", repository: "library/app", digest: D });
  });

  it("takes a first component as a registry only with a dot, a port or localhost", () => {
    expect(parseReference("team/app").registry).toBe("docker.io");
    expect(parseReference("team/app").repository).toBe("team/app");
    expect(parseReference("my.reg/app").registry).toBe("my.reg");
    expect(parseReference("myreg:80/app").registry).toBe("myreg:80");
  });

  it.each([
    ["", "empty"],
    ["Busybox", "must be lowercase"],
    ["busybox:", "invalid tag"],
    ["busybox:-x", "invalid tag"],
    ["busybox@sha256:abc", "64 lowercase hex"],
    [`busybox@sha512:${"a".repeat(128)}`, "unsupported digest algorithm"],
    ["a//b", "empty path component"],
    ["bad_/x", "invalid repository path component"],
    ["busy box", "whitespace"],
    ["localhost:99999/x", "invalid port"],
    ["reg.io/", "missing repository"],
  ])("rejects %j (%s)", (input, why) => {
    expect(() => parseReference(input)).toThrow(InvalidReferenceError);
    expect(() => parseReference(input)).toThrow(why);
  });

  it("gives the short form, the API host and the loopback test", () => {
    expect(familiarReference(parseReference("busybox"))).toBe("busybox:latest");
    expect(familiarReference(parseReference("quay.io/a/b:1"))).toBe("quay.io/a/b:1");
    expect(registryApiHost("docker.io")).toBe("registry-1.docker.io");
    expect(registryApiHost("127.0.0.1:5000")).toBe("127.0.0.1:5000");
    expect(isLoopbackRegistry("127.0.0.1:5000")).toBe(true);
    expect(isLoopbackRegistry("localhost")).toBe(true);
    expect(isLoopbackRegistry("[::1]:5000")).toBe(true);
    expect(isLoopbackRegistry("quay.io")).toBe(false);
    expect(isLoopbackRegistry("127.evil.com:5000")).toBe(false);
  });
});
