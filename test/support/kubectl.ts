// Test support (Book 1.6.1): the real kubectl, pinned to one version, with a throwaway HOME so its
// discovery and /version caches never leak between tests.
import { type ChildProcess, spawn } from "node:child_process";
import { accessSync, constants, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export const KUBECTL_DIR = "/usr/lib/google-cloud-sdk/bin";
export const KUBECTL_VERSIONS = ["1.27", "1.30", "1.33"] as const;

export interface KubectlResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  input?: string;
  timeoutMs?: number;
  env?: Record<string, string>;
}

/** A kubectl left running (get -w, wait, rollout status). */
export interface Running {
  output(): string;
  errors(): string;
  /** Resolves once stdout (or stderr with `{ stderr: true }`) matches; rejects after timeoutMs. */
  waitFor(pattern: RegExp, opts?: { stderr?: boolean; timeoutMs?: number }): Promise<void>;
  /** Resolves when it exits by itself. */
  done(): Promise<KubectlResult>;
  /** SIGTERM, then its output. */
  stop(): Promise<KubectlResult>;
}

export interface Kubectl {
  version: string;
  home: string;
  run(args: string[], opts?: RunOptions): Promise<KubectlResult>;
  /** Runs and throws with stderr when the exit code is not 0. */
  ok(args: string[], opts?: RunOptions): Promise<string>;
  /** Starts a long-running kubectl (e.g. get -w); stop() ends it and returns its output. */
  spawn(args: string[], opts?: { timeoutMs?: number }): Running;
  /** Kills whatever is still running and removes HOME. */
  cleanup(): void;
}

/** True when kubectl.<version> is installed (the Google Cloud SDK's versioned binaries). */
export function kubectlAvailable(version: string): boolean {
  try {
    accessSync(join(KUBECTL_DIR, `kubectl.${version}`), constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

export function kubectl(version: string, kubeconfig: string): Kubectl {
  const home = mkdtempSync(join(tmpdir(), `corekube-kubectl-${version}-`));
  const bin = join(KUBECTL_DIR, `kubectl.${version}`);
  const env = (extra?: Record<string, string>) => ({ PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: home, KUBECONFIG: kubeconfig, ...extra });
  const live = new Set<ChildProcess>();
  const start = (args: string[], opts: RunOptions, stdin: "pipe" | "ignore") => {
    const p = spawn(bin, args, { env: env(opts.env), stdio: [stdin, "pipe", "pipe"] });
    live.add(p);
    const out = { stdout: "", stderr: "" };
    p.stdout!.on("data", (b: Buffer) => (out.stdout += b.toString()));
    p.stderr!.on("data", (b: Buffer) => (out.stderr += b.toString()));
    const t = setTimeout(() => p.kill("SIGKILL"), opts.timeoutMs ?? 60_000);
    const closed = new Promise<KubectlResult>((resolve, reject) => {
      p.on("error", (e) => {
        clearTimeout(t);
        live.delete(p);
        reject(e);
      });
      p.on("close", (code, signal) => {
        clearTimeout(t);
        live.delete(p);
        resolve({ code: code ?? (signal ? -1 : 0), ...out });
      });
    });
    return { p, out, closed };
  };
  const k: Kubectl = {
    version,
    home,
    run(args, opts = {}) {
      const { p, closed } = start(args, opts, "pipe");
      p.stdin!.end(opts.input ?? "");
      return closed;
    },
    async ok(args, opts) {
      const r = await k.run(args, opts);
      if (r.code !== 0) throw new Error(`kubectl.${version} ${args.join(" ")} exited ${r.code}:\n${r.stderr}\n${r.stdout}`);
      return r.stdout;
    },
    spawn(args, opts = {}) {
      const { p, out, closed } = start(args, { timeoutMs: opts.timeoutMs ?? 60_000 }, "ignore");
      let exited = false;
      void closed.then(() => (exited = true), () => (exited = true));
      return {
        output: () => out.stdout,
        errors: () => out.stderr,
        async waitFor(pattern, o = {}) {
          const deadline = Date.now() + (o.timeoutMs ?? 15_000);
          for (;;) {
            if (pattern.test(o.stderr ? out.stderr : out.stdout)) return;
            if (exited || Date.now() > deadline) {
              throw new Error(`kubectl.${version} ${args.join(" ")}: ${exited ? "exited" : "timed out"} before ${pattern}\nstdout:\n${out.stdout}\nstderr:\n${out.stderr.slice(-4000)}`);
            }
            await new Promise((r) => setTimeout(r, 50));
          }
        },
        done: () => closed,
        async stop() {
          if (!exited) p.kill("SIGTERM");
          return closed;
        },
      };
    },
    cleanup() {
      for (const p of live) p.kill("SIGKILL");
      live.clear();
      rmSync(home, { recursive: true, force: true });
    },
  };
  return k;
}
