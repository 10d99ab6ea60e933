// Book 3.3, 9.4: the per-pod shim (like containerd-shim-runc-v2, which groups a pod's containers): a
// detached process that starts containers, owns their stdout/stderr pipes, writes CRI logs and exit status.
//
//   node --import <tsx loader> shim.ts <sandbox state dir>
//
// It listens on <sandbox dir>/shim.sock for newline-delimited JSON requests from the runtime:
//   {op:"start", dir}  -> {pid}; then expects {op:"go"} (pid is in its cgroup) or {op:"abort"} -> {ok} | {error}
//   {op:"wait", dir}   -> the container's record once it has exited
//   {op:"shutdown"}    -> {ok}, then exits
// It is in its own session, so a kubelet restart leaves it (and the containers) running.
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, readFileSync, unlinkSync } from "node:fs";
import net from "node:net";
import { constants } from "node:os";
import { join } from "node:path";
import { CriLineSplitter, RotatingLogFile, nanoClock } from "./log.js";
import { type ContainerRecord, nowRfc3339, processRef, writeJsonAtomic } from "./state.js";

interface Live {
  child: ChildProcess;
  record: ContainerRecord;
  waiters: Array<(r: ContainerRecord) => void>;
  startError?: string;
  /** The setup script failed before the final exec: the exit becomes a StartError with its stderr. */
  setupFailed?: boolean;
  stderrTail: string;
}

const live = new Map<string, Live>();
let shuttingDown = false;

function log(msg: string): void {
  process.stderr.write(`${new Date().toISOString()} shim[${process.pid}]: ${msg}\n`);
}

/** Reads newline-delimited JSON messages from a socket. */
function messages(sock: net.Socket): { next(): Promise<Record<string, unknown> | undefined> } {
  let buf = "";
  const queue: Array<Record<string, unknown> | undefined> = [];
  let wake: (() => void) | undefined;
  let ended = false;
  sock.setEncoding("utf8");
  sock.on("data", (d: string) => {
    buf += d;
    for (let nl = buf.indexOf("\n"); nl >= 0; nl = buf.indexOf("\n")) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      try {
        queue.push(JSON.parse(line) as Record<string, unknown>);
      } catch {
        queue.push({ op: "invalid" });
      }
    }
    wake?.();
  });
  const end = () => {
    ended = true;
    wake?.();
  };
  sock.on("end", end);
  sock.on("close", end);
  sock.on("error", end);
  return {
    async next() {
      while (queue.length === 0 && !ended) await new Promise<void>((r) => (wake = r));
      return queue.shift();
    },
  };
}

function send(sock: net.Socket, msg: unknown): void {
  if (!sock.destroyed) sock.write(`${JSON.stringify(msg)}\n`);
}

/** The container process: the chain's first process, or its only child when the chain forks once. */
async function containerPid(child: ChildProcess, forks: boolean): Promise<number> {
  const pid = child.pid as number;
  if (!forks) return pid;
  const deadline = Date.now() + 10_000;
  for (let i = 0; ; i++) {
    let text = "";
    try {
      text = readFileSync(`/proc/${pid}/task/${pid}/children`, "utf8").trim();
    } catch {
      throw new Error("the container's launcher exited before forking");
    }
    if (text !== "") return Number(text.split(" ")[0]);
    if (child.exitCode !== null || child.signalCode !== null) throw new Error("the container's launcher exited before forking");
    if (Date.now() > deadline) throw new Error("timed out waiting for the container process to be forked");
    await new Promise((r) => (i < 200 ? setImmediate(r) : setTimeout(r, 2)));
  }
}

function finish(dir: string, entry: Live, code: number | null, signal: NodeJS.Signals | null): void {
  const r = entry.record;
  r.state = "exited";
  r.finishedAt = nowRfc3339();
  r.exitCode = code ?? 128 + (signal ? (constants.signals[signal] ?? 0) : 0);
  if (signal) r.signal = signal;
  if (entry.setupFailed) entry.startError = `container setup failed: ${entry.stderrTail.trim() || "no output"}`;
  if (entry.startError !== undefined) {
    r.reason = "StartError";
    r.message = entry.startError;
  } else if (existsSync(join(dir, "oomKilled"))) r.reason = "OOMKilled";
  else r.reason = r.exitCode === 0 ? "Completed" : "Error";
  try {
    writeJsonAtomic(join(dir, "state.json"), r);
  } catch (err) {
    log(`recording exit of ${r.id}: ${(err as Error).message}`);
  }
  live.delete(dir);
  for (const w of entry.waiters) w(r);
  if (shuttingDown && live.size === 0) process.exit(0);
}

async function start(sock: net.Socket, next: () => Promise<Record<string, unknown> | undefined>, dir: string): Promise<void> {
  const statePath = join(dir, "state.json");
  const record = JSON.parse(readFileSync(statePath, "utf8")) as ContainerRecord;
  if (record.state !== "created" || live.has(dir)) throw new Error(`container ${record.id} is ${record.state}, not created`);
  const logFile = record.logPath ? new RotatingLogFile(record.logPath, record.logRotation) : undefined;
  const child = spawn(record.exec[0] as string, record.exec.slice(1), {
    stdio: ["ignore", "pipe", "pipe", "pipe"],
    env: { PATH: "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" },
  });
  const entry: Live = { child, record, waiters: [], stderrTail: "" };
  live.set(dir, entry);
  const clock = nanoClock();
  const write = (lines: Buffer[]) => {
    if (!logFile) return;
    try {
      for (const l of lines) logFile.write(l);
    } catch (e) {
      log(`writing the log of ${record.id}: ${(e as Error).message}`);
    }
  };
  const out = new CriLineSplitter("stdout", clock);
  const err = new CriLineSplitter("stderr", clock);
  child.stdout?.on("data", (c: Buffer) => write(out.push(c)));
  child.stderr?.on("data", (c: Buffer) => {
    entry.stderrTail = (entry.stderrTail + c.toString("utf8")).slice(-2000);
    write(err.push(c));
  });
  let closed = false;
  child.on("close", () => (closed = true));
  const spawnError = new Promise<Error>((resolve) => child.on("error", resolve));
  child.on("exit", (code, signal) => {
    // Give the pipes a moment to drain (a daemonized grandchild may keep them open forever).
    const done = () => {
      write(out.end());
      write(err.end());
      logFile?.close();
      finish(dir, entry, code, signal);
    };
    if (closed) done();
    else {
      const t = setTimeout(done, 200);
      child.once("close", () => {
        clearTimeout(t);
        done();
      });
    }
  });
  const pid = await Promise.race([containerPid(child, record.forks), spawnError.then((e) => Promise.reject(e))]);
  send(sock, { pid });
  const msg = await next();
  if (msg?.op !== "go") {
    entry.startError = `start aborted: ${typeof msg?.reason === "string" ? msg.reason : "runtime went away"}`;
    try {
      process.kill(pid, "SIGKILL");
    } catch {}
    child.kill("SIGKILL");
    send(sock, { error: entry.startError });
    return;
  }
  record.state = "running";
  record.process = processRef(pid);
  record.startedAt = nowRfc3339();
  writeJsonAtomic(statePath, record);
  const sync = child.stdio[3] as net.Socket;
  const answer = await new Promise<string>((resolve) => {
    let got = "";
    sync.setEncoding("utf8");
    sync.on("data", (d: string) => {
      got += d;
      if (got.includes("\n")) resolve(got.trim());
    });
    sync.on("close", () => resolve(got.trim()));
    sync.on("error", () => resolve(got.trim()));
    sync.write("go\n");
  });
  sync.destroy();
  if (answer === "ok") send(sock, { ok: true });
  else {
    // Wait for the exit so the stderr tail (the failing setup step's message) is complete.
    entry.setupFailed = true;
    const r = live.has(dir) ? await new Promise<ContainerRecord>((res) => entry.waiters.push(res)) : entry.record;
    send(sock, { error: r.message ?? "container setup failed" });
  }
}

async function serve(sock: net.Socket): Promise<void> {
  const { next } = messages(sock);
  for (let msg = await next(); msg !== undefined; msg = await next()) {
    try {
      if (msg.op === "start" && typeof msg.dir === "string") await start(sock, next, msg.dir);
      else if (msg.op === "wait" && typeof msg.dir === "string") {
        const entry = live.get(msg.dir);
        if (entry) entry.waiters.push((r) => send(sock, { record: r }));
        else {
          const path = join(msg.dir, "state.json");
          send(sock, existsSync(path) ? { record: JSON.parse(readFileSync(path, "utf8")), orphan: true } : { error: "no such container" });
        }
      } else if (msg.op === "shutdown") {
        shuttingDown = true;
        send(sock, { ok: true });
        server.close();
        try {
          unlinkSync(socketPath);
        } catch {}
        if (live.size === 0) setImmediate(() => process.exit(0));
      } else send(sock, { error: `bad request ${JSON.stringify(msg)}` });
    } catch (err) {
      send(sock, { error: (err as Error).message });
    }
  }
}

const sandboxDir = process.argv[2];
if (!sandboxDir || !existsSync(sandboxDir)) {
  log(`usage: shim.ts <existing sandbox state dir>, got ${JSON.stringify(sandboxDir)}`);
  process.exit(2);
}
const socketPath = join(sandboxDir, "shim.sock");
try {
  unlinkSync(socketPath);
} catch {}
const server = net.createServer((sock) => {
  sock.on("error", () => {});
  serve(sock).catch((err) => log(`connection: ${(err as Error).message}`));
});
server.listen(socketPath, () => {
  process.stdout.write("ready\n");
  process.stdout.end();
});
process.on("SIGTERM", () => {
  shuttingDown = true;
  if (live.size === 0) process.exit(0);
});
