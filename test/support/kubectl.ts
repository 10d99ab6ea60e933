// Test support (Book 1.6.1): the real kubectl, pinned to one version, with a throwaway HOME so its
// discovery and /version caches never leak between tests.
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export const KUBECTL_DIR = "/usr/lib/google-cloud-sdk/bin";
export const KUBECTL_VERSIONS = ["1.27", "1.30", "1.33"] as const;

export interface KubectlResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface Kubectl {
  version: string;
  home: string;
  run(args: string[], opts?: { input?: string; timeoutMs?: number; env?: Record<string, string> }): Promise<KubectlResult>;
  /** Runs and throws with stderr when the exit code is not 0. */
  ok(args: string[], opts?: { input?: string; timeoutMs?: number; env?: Record<string, string> }): Promise<string>;
  /** Starts a long-running kubectl (e.g. get -w); stop() ends it and returns its output. */
  spawn(args: string[]): { output(): string; stop(): Promise<KubectlResult> };
  cleanup(): void;
}

export function kubectl(version: string, kubeconfig: string): Kubectl {
  const home = mkdtempSync(join(tmpdir(), `corekube-kubectl-${version}-`));
  const bin = join(KUBECTL_DIR, `kubectl.${version}`);
  const env = (extra?: Record<string, string>) => ({ PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: home, KUBECONFIG: kubeconfig, ...extra });
  const k: Kubectl = {
    version,
    home,
    run(args, opts = {}) {
      return new Promise((resolve, reject) => {
        const p = spawn(bin, args, { env: env(opts.env), stdio: ["pipe", "pipe", "pipe"] });
        let stdout = "";
        let stderr = "";
        p.stdout.on("data", (b: Buffer) => (stdout += b.toString()));
        p.stderr.on("data", (b: Buffer) => (stderr += b.toString()));
        const t = setTimeout(() => p.kill("SIGKILL"), opts.timeoutMs ?? 60_000);
        p.on("error", (e) => {
          clearTimeout(t);
          reject(e);
        });
        p.on("close", (code) => {
          clearTimeout(t);
          resolve({ code: code ?? -1, stdout, stderr });
        });
        p.stdin.end(opts.input ?? "");
      });
    },
    async ok(args, opts) {
      const r = await k.run(args, opts);
      if (r.code !== 0) throw new Error(`kubectl.${version} ${args.join(" ")} exited ${r.code}:\n${r.stderr}\n${r.stdout}`);
      return r.stdout;
    },
    spawn(args) {
      const p = spawn(bin, args, { env: env(), stdio: ["ignore", "pipe", "pipe"] });
      let stdout = "";
      let stderr = "";
      p.stdout.on("data", (b: Buffer) => (stdout += b.toString()));
      p.stderr.on("data", (b: Buffer) => (stderr += b.toString()));
      const closed = new Promise<number>((r) => p.on("close", (c) => r(c ?? -1)));
      return {
        output: () => stdout,
        async stop() {
          p.kill("SIGTERM");
          const code = await closed;
          return { code, stdout, stderr };
        },
      };
    },
    cleanup() {
      rmSync(home, { recursive: true, force: true });
    },
  };
  return k;
}
