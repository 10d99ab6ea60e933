// Book 9.4: unit tests for the kubelet's spawn helper: commands run by the small helper process give the
// same exit codes, output and input handling as a direct spawn, and a dead helper is replaced.
import { describe, expect, it } from "vitest";
import { Spawner, spawnDirect } from "./spawner.js";

describe("Spawner", () => {
  it("runs commands in the helper with their exit code, stdout, stderr, stdin and environment", async () => {
    const s = new Spawner();
    try {
      const ok = await s.run("sh", ["-c", 'read x; echo "got $x and $FOO"; echo oops >&2; exit 3'], { input: "hello\n", env: { PATH: "/usr/bin:/bin", FOO: "bar" } });
      expect(ok.code).toBe(3);
      expect(ok.stdout.toString()).toBe("got hello and bar\n");
      expect(ok.stderr.toString()).toBe("oops\n");
      // many at once, answers matched to their requests
      const many = await Promise.all(Array.from({ length: 20 }, (_, i) => s.run("sh", ["-c", `echo ${i}`])));
      expect(many.map((r) => r.stdout.toString().trim())).toEqual(Array.from({ length: 20 }, (_, i) => String(i)));
      // the helper's pid is not ours: the fork really happened elsewhere
      const ppid = (await s.run("sh", ["-c", "echo $PPID"])).stdout.toString().trim();
      expect(Number(ppid)).not.toBe(process.pid);
    } finally {
      s.close();
    }
  });

  it("reports a command that cannot be started, and the signal of one that was killed", async () => {
    const s = new Spawner();
    try {
      await expect(s.run("/nonexistent/binary", [])).rejects.toThrow(/ENOENT/);
      const killed = await s.run("sh", ["-c", "kill -9 $$"]);
      expect(killed.code).toBeNull();
      expect(killed.signal).toBe("SIGKILL");
    } finally {
      s.close();
    }
  });

  it("falls back to spawning directly when the helper cannot start", async () => {
    const s = new Spawner(() => ["/nonexistent/node"]);
    const r = await s.run("sh", ["-c", "echo direct"]);
    expect(r.stdout.toString()).toBe("direct\n");
    expect((await spawnDirect("sh", ["-c", "exit 4"])).code).toBe(4);
  });

  it("starts a new helper after the old one died, failing only what was in flight", async () => {
    const s = new Spawner();
    try {
      const helperPid = Number((await s.run("sh", ["-c", "echo $PPID"])).stdout.toString().trim());
      const inFlight = s.run("sleep", ["5"]);
      process.kill(helperPid, "SIGKILL");
      await expect(inFlight).rejects.toThrow(/exited/);
      const again = await s.run("sh", ["-c", "echo $PPID"]);
      expect(Number(again.stdout.toString().trim())).not.toBe(helperPid);
    } finally {
      s.close();
    }
  });
});
