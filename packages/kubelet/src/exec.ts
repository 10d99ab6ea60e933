// Book 9.2 and 4.6: running a command in a running container (kubectl exec, exec probes and hooks):
// nsenter joins the container's namespaces and root; with a tty, util-linux `script` holds a pseudo-terminal.
import { spawn } from "node:child_process";
import { existsSync, readdirSync, readFileSync, readlinkSync } from "node:fs";
import { constants } from "node:os";
import { PassThrough } from "node:stream";
import type { LinuxRuntime } from "./runtime/runtime.js";
import type { ExecProcess } from "./server/types.js";

const PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/** How long a tty command waits, once the session is attached, for the client's first terminal size. */
export const FIRST_RESIZE_WAIT_MS = 200;

/** The nsenter command line that runs `cmd` inside the namespaces and root of process `pid`. */
export const nsenterArgv = (pid: number, cmd: string[]): string[] => ["nsenter", "--target", String(pid), "--mount", "--uts", "--ipc", "--net", "--pid", "--root", "--wd", "--", ...cmd];

/** An executable's absolute path on this host (so a container's PATH cannot change which one runs). */
function hostPath(bin: string): string {
  if (bin.startsWith("/")) return bin;
  for (const dir of PATH.split(":")) if (existsSync(`${dir}/${bin}`)) return `${dir}/${bin}`;
  return bin;
}

/** Quotes words for /bin/sh: each in single quotes, an embedded quote as '\''. */
export const shellQuote = (words: readonly string[]): string => words.map((w) => `'${w.replace(/'/g, "'\\''")}'`).join(" ");

/**
 * Runs a command inside a running container: nsenter joins its namespaces and root (kubectl exec,
 * exec probes), as the container's user with its capabilities and environment. With `tty`, the command
 * gets a terminal (see ttyProcess): stdout carries everything it prints and stderr is null.
 */
export async function execInContainer(runtime: LinuxRuntime, containerId: string, cmd: string[], opts: { stdin: boolean; tty?: boolean }): Promise<ExecProcess> {
  const st = await runtime.ContainerStatus(containerId);
  if (st.state !== "CONTAINER_RUNNING" || !st.pid) throw new Error(`container ${containerId} is not running`);
  // As the container's own process: its user, groups, capabilities and environment (as a CRI runtime
  // execs with the container's process spec).
  const identity = await runtime.execIdentity(containerId).catch(() => undefined);
  const inside = [...(identity?.prefix ?? []), ...cmd];
  if (opts.tty) return ttyProcess(nsenterArgv(st.pid, inside), { stdin: opts.stdin, devptsOf: st.pid, env: identity?.env });
  const [bin, ...args] = nsenterArgv(st.pid, inside);
  const child = spawn(hostPath(bin!), args, {
    stdio: [opts.stdin ? "pipe" : "ignore", "pipe", "pipe"],
    env: identity ? identity.env : { PATH },
  });
  const exit = new Promise<number>((resolveExit, reject) => {
    child.once("error", reject);
    child.once("exit", (code, signal) => resolveExit(code ?? (signal ? 128 + 9 : 1)));
  });
  return { stdin: child.stdin, stdout: child.stdout!, stderr: child.stderr, exit, kill: () => child.kill("SIGKILL") };
}

/**
 * The shell script `script` is started from. $1 is the pid whose /dev/pts the terminal should come from
 * (empty: this host's), $2 the command line. When that process has its own devpts instance, /dev here (in
 * a private mount namespace) becomes a tmpfs whose ptmx points at it, so the pseudo-terminal is allocated
 * there: inside the container `tty` names /dev/pts/0 of its own /dev, as with a CRI runtime. Where that
 * mount is refused, the terminal comes from this host's /dev/pts (it works, but `tty` says "not a tty").
 */
const WRAPPER = `exec 2>&1
if [ -n "$1" ] && [ -c "/proc/$1/root/dev/pts/ptmx" ] && mount -t tmpfs -o mode=0755,size=16k corekube-exec-dev /dev; then
  mknod -m 0666 /dev/null c 1 3 && ln -s "/proc/$1/root/dev/pts/ptmx" /dev/ptmx || exit 126
fi
exec script --quiet --return --echo always --command "$2" /dev/null`;

/** A terminal size as a resize message carries it: columns and rows. */
const validSize = (width: number, height: number): boolean => Number.isInteger(width) && Number.isInteger(height) && width > 0 && height > 0 && width <= 65535 && height <= 65535;

/** The pids whose parent is `pid` (the kernel's children list, or a scan of /proc where that is missing). */
function childrenOf(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, "utf8").trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    const out: number[] = [];
    for (const name of readdirSync("/proc")) {
      if (!/^\d+$/.test(name)) continue;
      try {
        const stat = readFileSync(`/proc/${name}/stat`, "utf8");
        if (Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]) === pid) out.push(Number(name));
      } catch {
        // gone meanwhile
      }
    }
    return out;
  }
}

/** An ExecProcess with a terminal; resize resolves once the size is applied (or could not be). */
export interface TtyProcess extends ExecProcess {
  stdin: PassThrough | null;
  stdout: PassThrough;
  stderr: null;
  resize(width: number, height: number): Promise<void>;
  start(): void;
}

/**
 * Runs `argv` on a pseudo-terminal held by util-linux `script` (no native code): the terminal's output,
 * stdout and stderr together, comes out on stdout, with TERM=xterm. The command starts at the client's first
 * resize, or FIRST_RESIZE_WAIT_MS after start() (called when the session is attached) if none comes, so a
 * command that reads the size at once (`stty size`, a shell drawing its prompt) sees it: the size is set with
 * `stty` on the terminal before the command is exec'd. Later resizes run `stty -F` on the terminal the
 * command holds (found through /proc), and the kernel sends SIGWINCH to its foreground process group.
 * The exit code is the command's (script --return); kill() ends `script`, which hangs up the terminal.
 * `devptsOf`: allocate the terminal in that process's /dev/pts (the container's init), needs root.
 */
export function ttyProcess(argv: string[], o: { stdin: boolean; devptsOf?: number; firstResizeWaitMs?: number; env?: Record<string, string> }): TtyProcess {
  const stdin = o.stdin ? new PassThrough() : null;
  const stdout = new PassThrough();
  let resolveExit!: (code: number) => void;
  let rejectExit!: (err: Error) => void;
  const exit = new Promise<number>((res, rej) => {
    resolveExit = res;
    rejectExit = rej;
  });
  let child: ReturnType<typeof spawn> | undefined;
  let killed = false;
  let exited = false;
  let timer: NodeJS.Timeout | undefined;
  let wanted: { width: number; height: number } | undefined;
  let applying: Promise<void> = Promise.resolve();

  const begin = (): void => {
    if (child || killed) return;
    clearTimeout(timer);
    const size = wanted ? `stty rows ${wanted.height} cols ${wanted.width} 2>/dev/null; ` : "";
    // The command gets exactly the container's environment (and TERM); the host's PATH finds argv[0].
    const envArgs = o.env ? ["env", "-i", ...Object.entries({ ...o.env, TERM: "xterm" }).map(([k, v]) => `${k}=${v}`), hostPath(argv[0] ?? "")] : [];
    const line = `unset SHELL; ${size}exec ${shellQuote(o.env ? [...envArgs, ...argv.slice(1)] : argv)}`;
    const wrapperArgs = ["-c", WRAPPER, "sh", o.devptsOf ? String(o.devptsOf) : "", line];
    const [bin, args] = o.devptsOf ? ["unshare", ["--mount", "--propagation", "private", "--", "sh", ...wrapperArgs]] : ["sh", wrapperArgs];
    const c = spawn(bin as string, args as string[], { stdio: [stdin ? "pipe" : "ignore", "pipe", "ignore"], env: { PATH, TERM: "xterm", SHELL: "/bin/sh" } });
    child = c;
    c.stdout!.pipe(stdout);
    if (stdin && c.stdin) {
      c.stdin.on("error", () => undefined);
      stdin.pipe(c.stdin);
    }
    c.once("error", (err) => {
      exited = true;
      stdout.end();
      rejectExit(err);
    });
    c.once("exit", (code, signal) => {
      exited = true;
      resolveExit(code ?? 128 + (signal ? (constants.signals[signal] ?? 9) : 1));
    });
  };

  /** The terminal the command holds, as a path this host can open (/proc/<pid>/fd/0 of script's child). */
  const terminal = (): string | undefined => {
    if (!child?.pid) return undefined;
    for (const pid of childrenOf(child.pid)) {
      try {
        const target = readlinkSync(`/proc/${pid}/fd/0`);
        if (!target.startsWith("pipe:") && !target.startsWith("socket:") && target !== "/dev/null") return `/proc/${pid}/fd/0`;
      } catch {
        // not there (yet)
      }
    }
    return undefined;
  };

  const apply = async (): Promise<void> => {
    for (let tries = 0; tries < 100 && !exited && !killed; tries++) {
      const size = wanted!;
      const path = terminal();
      if (path) {
        const ok = await new Promise<boolean>((res) => {
          const s = spawn("stty", ["-F", path, "rows", String(size.height), "cols", String(size.width)], { stdio: "ignore" });
          s.once("error", () => res(false));
          s.once("exit", (code) => res(code === 0));
        });
        if (ok) return;
      }
      await new Promise((r) => setTimeout(r, 20));
    }
  };

  return {
    stdin,
    stdout,
    stderr: null,
    exit,
    start() {
      if (child || killed || timer) return;
      timer = setTimeout(begin, o.firstResizeWaitMs ?? FIRST_RESIZE_WAIT_MS);
    },
    resize(width: number, height: number): Promise<void> {
      if (!validSize(width, height)) return applying;
      wanted = { width, height };
      if (!child) {
        begin();
        return applying;
      }
      applying = applying.then(apply);
      return applying;
    },
    kill() {
      if (killed) return;
      killed = true;
      clearTimeout(timer);
      if (child) child.kill("SIGKILL");
      else {
        stdout.end();
        resolveExit(128 + 9);
      }
    },
  };
}
