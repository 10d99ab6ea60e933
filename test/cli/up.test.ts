// Book 1.6 and 9.1: the README's first command: `corekube up` brings up the single-node cluster with a
// real kubelet; the real kubectl runs, logs and execs a pod; `corekube down` leaves nothing behind.
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { CLI } from "../support/kv-process.js";
import { eventually } from "../support/eventually.js";
import { kubectl } from "../support/kubectl.js";
import { freePort } from "../support/ports.js";

const isRoot = process.getuid?.() === 0;
const state = mkdtempSync(join(tmpdir(), "ck-up-"));

function corekube(...args: string[]): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, ["--import", "tsx", CLI, ...args], { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    p.stdout.on("data", (b) => (out += b));
    p.stderr.on("data", (b) => (out += b));
    p.on("exit", (code) => resolve({ code: code ?? 1, out }));
  });
}

afterAll(async () => {
  await corekube("down", "--state-dir", state, "--purge");
  rmSync(state, { recursive: true, force: true });
}, 120_000);

describe.skipIf(!isRoot)("corekube up and down", () => {
  it("brings up a cluster whose node runs pods, and takes everything away again", async () => {
    const forwardBefore = readFileSync("/proc/sys/net/ipv4/ip_forward", "utf8").trim();
    const up = await corekube("up", "--state-dir", state, "--kv-port", String(await freePort()), "--apiserver-port", String(await freePort()));
    expect(up.code, up.out).toBe(0);
    expect(up.out).toMatch(/waiting for Ready\.\.\. Ready in/);
    const doctor = await corekube("doctor", "--state-dir", state);
    expect(doctor.code, doctor.out).toBe(0);
    expect(doctor.out).toMatch(/ok {4}busybox image/);
    const k = kubectl("1.33", join(state, "apiserver", "admin.kubeconfig"));
    try {
      expect(await k.ok(["get", "nodes"])).toMatch(/\sReady\s/);
      await k.ok(["run", "hello", "--image=busybox:1.35", "--restart=Never", "--", "sh", "-c", "echo hello from a corekube pod"]);
      await k.ok(["run", "web", "--image=busybox:1.35", "--", "httpd", "-f", "-p", "8080"]);
      await eventually("hello Completed", async () => (await k.ok(["get", "pod", "hello", "-o", "jsonpath={.status.phase}"])) === "Succeeded", 60_000);
      expect(await k.ok(["logs", "hello"])).toBe("hello from a corekube pod\n");
      await eventually("web Running", async () => (await k.ok(["get", "pod", "web", "-o", "jsonpath={.status.phase}"])) === "Running", 60_000);
      expect(await k.ok(["exec", "web", "--", "cat", "/etc/hostname"])).toBe("web\n");
    } finally {
      k.cleanup();
    }

    const down = await corekube("down", "--state-dir", state);
    expect(down.code, down.out).toBe(0);
    // Nothing of the node is left: processes, pod network, cgroups, runtime state, host settings.
    for (const f of existsSync(join(state, "run")) ? readdirSync(join(state, "run")).filter((x) => x.endsWith(".pid")) : []) {
      const pid = Number(readFileSync(join(state, "run", f), "utf8"));
      expect(() => process.kill(pid, 0), f).toThrow();
    }
    expect(existsSync("/etc/cni/net.d/10-corekube.conflist")).toBe(false);
    expect(existsSync("/sys/class/net/corekube0")).toBe(false);
    expect(existsSync("/run/corekube/runtime")).toBe(false);
    expect(readdirSync("/sys/fs/cgroup").some((c) => existsSync(join("/sys/fs/cgroup", c, "kubepods")))).toBe(false);
    expect(readFileSync("/proc/sys/net/ipv4/ip_forward", "utf8").trim()).toBe(forwardBefore);
    expect(readFileSync("/proc/self/mountinfo", "utf8")).not.toMatch(/corekube\/runtime/);
    // A second down is harmless.
    expect((await corekube("down", "--state-dir", state)).code).toBe(0);
  }, 300_000);
});
