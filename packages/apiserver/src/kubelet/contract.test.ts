// Book 9.2: tests for the kubelet contract's paths, query parsing and exit Status.
import { describe, expect, it } from "vitest";
import { isStatusError, type StatusError } from "@corekube/api";
import {
  containerLogsPath,
  describeKubeletApi,
  execQuery,
  exitCodeOf,
  exitStatus,
  logQuery,
  matchKubeletPath,
  parseExecOptions,
  parseLogOptions,
} from "./contract.js";

function thrown(fn: () => unknown): StatusError {
  try {
    fn();
  } catch (err) {
    if (isStatusError(err)) return err;
    throw err;
  }
  throw new Error("did not throw");
}

describe("paths", () => {
  it("builds and matches the kubelet paths, escaping each segment", () => {
    expect(containerLogsPath("default", "web", "nginx")).toBe("/containerLogs/default/web/nginx");
    expect(matchKubeletPath("/containerLogs/default/web/nginx")).toEqual({
      endpoint: "containerLogs",
      namespace: "default",
      pod: "web",
      container: "nginx",
    });
    expect(matchKubeletPath("/exec/ns/p%2Fx/c")).toEqual({ endpoint: "exec", namespace: "ns", pod: "p/x", container: "c" });
    expect(matchKubeletPath("/exec/ns/p")).toBeUndefined();
    expect(matchKubeletPath("/pods")).toBeUndefined();
    expect(matchKubeletPath("/exec/ns//c")).toBeUndefined();
  });

  it("describes both endpoints", () => {
    expect(describeKubeletApi().map((e) => e.path)).toEqual(["/containerLogs/{namespace}/{pod}/{container}", "/exec/{namespace}/{pod}/{container}"]);
  });
});

describe("parseLogOptions", () => {
  it("reads every parameter and writes them back for the kubelet", () => {
    const q = new URLSearchParams("follow=true&tailLines=5&timestamps=1&limitBytes=100&previous=false&sinceSeconds=60");
    const opts = parseLogOptions(q);
    expect(opts).toEqual({ follow: true, previous: false, timestamps: true, tailLines: 5, limitBytes: 100, sinceSeconds: 60 });
    expect(logQuery(opts).toString()).toBe("follow=true&timestamps=true&sinceSeconds=60&tailLines=5&limitBytes=100");
  });

  it("400s on a value that is not a number or time", () => {
    const e = thrown(() => parseLogOptions(new URLSearchParams("tailLines=abc")));
    expect(e.code).toBe(400);
    expect(e.message).toBe('invalid value for query parameter tailLines: "abc" is not an integer');
    expect(thrown(() => parseLogOptions(new URLSearchParams("sinceTime=yesterday"))).code).toBe(400);
  });

  it("422s on values out of range, as PodLogOptions validation", () => {
    const e = thrown(() => parseLogOptions(new URLSearchParams("tailLines=-1&limitBytes=0"), "web"));
    expect(e.code).toBe(422);
    expect(e.message).toBe(
      'PodLogOptions "web" is invalid: [tailLines: Invalid value: -1: must be greater than or equal to 0, limitBytes: Invalid value: 0: must be greater than 0]',
    );
    const both = thrown(() => parseLogOptions(new URLSearchParams("sinceSeconds=5&sinceTime=2024-01-01T00:00:00Z")));
    expect(both.message).toContain("at most one of `sinceTime` or `sinceSeconds` may be specified");
  });
});

describe("parseExecOptions", () => {
  it("accepts the API server's spelling and converts to the kubelet's", () => {
    const opts = parseExecOptions(new URLSearchParams("command=sh&command=-c&command=echo+hi&stdout=true&stderr=true&stdin=true"));
    expect(opts).toEqual({ command: ["sh", "-c", "echo hi"], stdin: true, stdout: true, stderr: true, tty: false });
    expect(execQuery(opts).toString()).toBe("input=1&output=1&error=1&command=sh&command=-c&command=echo+hi");
    expect(parseExecOptions(execQuery(opts))).toEqual(opts);
  });

  it("drops stderr with a tty", () => {
    expect(parseExecOptions(new URLSearchParams("command=sh&stdout=1&stderr=1&tty=1")).stderr).toBe(false);
  });

  it("400s without a command or without any stream", () => {
    expect(thrown(() => parseExecOptions(new URLSearchParams("stdout=true"))).message).toBe("you must specify at least 1 command");
    expect(thrown(() => parseExecOptions(new URLSearchParams("command=ls&stdout=false"))).message).toBe(
      "you must specify at least 1 of stdin, stdout, stderr",
    );
  });
});

describe("exit Status", () => {
  it("is Success for 0 and NonZeroExitCode with the code as a cause otherwise", () => {
    expect(exitStatus(0)).toEqual({ metadata: {}, status: "Success" });
    const s = exitStatus(3, ["sh", "-c", "exit 3"]);
    expect(s).toMatchObject({ status: "Failure", reason: "NonZeroExitCode", details: { causes: [{ reason: "ExitCode", message: "3" }] } });
    expect(exitCodeOf(s)).toBe(3);
    expect(exitCodeOf(exitStatus(0))).toBe(0);
    expect(exitCodeOf({ status: "Failure", reason: "InternalError" })).toBeUndefined();
  });
});
