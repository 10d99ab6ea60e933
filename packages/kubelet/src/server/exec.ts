// Book 9.2: one `kubectl exec` session on the kubelet — the command's stdin, stdout and stderr
// carried as channel-tagged WebSocket frames, the exit code reported as a Status on channel 3.
import type { Readable } from "node:stream";
import { Channel, exitStatus, failureStatus, frame, type ExecOptions } from "@corekube/api";
import type { ExecProcess } from "./types.js";
import type { WsConnection } from "./websocket.js";

/** Resolves when a readable stream has ended, errored or closed. */
function ended(stream: Readable | null): Promise<void> {
  if (!stream || stream.readableEnded || stream.destroyed) return Promise.resolve();
  return new Promise((resolve) => {
    const done = (): void => resolve();
    stream.once("end", done);
    stream.once("close", done);
    stream.once("error", done);
  });
}

/**
 * Runs the session until the command has exited and its output is sent (then channel 3 carries
 * the Status and the socket closes with 1000), or until the client goes away (then the command is
 * killed). Never rejects.
 */
export async function runExecSession(conn: WsConnection, proc: ExecProcess, opts: ExecOptions): Promise<void> {
  const v5 = conn.protocol.startsWith("v5.");
  let stdinOpen = proc.stdin !== null;
  let finished = false;
  const closeStdin = (): void => {
    if (stdinOpen && proc.stdin) {
      stdinOpen = false;
      proc.stdin.end();
    }
  };
  proc.stdin?.on("error", () => {
    stdinOpen = false;
  });
  proc.stdin?.on("drain", () => conn.resume());

  conn.on("message", (data: Buffer, binary: boolean) => {
    if (!binary || data.length === 0) return;
    const channel = data[0];
    if (channel === Channel.stdin) {
      if (stdinOpen && proc.stdin && data.length > 1) {
        // Too much queued for the command: stop reading from the client until it drains.
        if (!proc.stdin.write(data.subarray(1))) conn.pause();
      }
    } else if (channel === Channel.resize) {
      try {
        const size = JSON.parse(data.subarray(1).toString("utf8")) as { Width?: unknown; Height?: unknown };
        if (typeof size.Width === "number" && typeof size.Height === "number") proc.resize?.(size.Width, size.Height);
      } catch {
        // a malformed resize is ignored
      }
    } else if (channel === Channel.close && v5 && data[1] === Channel.stdin) {
      closeStdin();
    }
  });

  // Output: frames in order; a full socket pauses the command's streams until it drains.
  const outputs: [Readable | null, number, boolean][] = [
    [proc.stdout, Channel.stdout, opts.stdout],
    [proc.stderr, Channel.stderr, opts.stderr],
  ];
  const paused: Readable[] = [];
  conn.on("drain", () => {
    for (const s of paused.splice(0)) s.resume();
  });
  for (const [stream, channel, wanted] of outputs) {
    if (!stream) continue;
    stream.on("error", () => undefined);
    if (!wanted) {
      stream.resume(); // not attached: discard
      continue;
    }
    stream.on("data", (chunk: Buffer | string) => {
      const body = typeof chunk === "string" ? Buffer.from(chunk, "utf8") : chunk;
      if (!conn.send(frame(channel, body)) && conn.open) {
        stream.pause();
        paused.push(stream);
      }
    });
  }

  // Tell the client the streams are up: an empty frame on the first output channel (as upstream).
  conn.send(frame(opts.stdout ? Channel.stdout : opts.stderr ? Channel.stderr : Channel.error));
  // The command may now start: resize messages reach it from here on.
  proc.start?.();

  const clientGone = new Promise<void>((resolve) => conn.once("close", () => resolve()));
  void clientGone.then(() => {
    closeStdin();
    if (!finished) proc.kill?.();
  });

  const outcome = Promise.all([proc.exit, ended(proc.stdout), ended(proc.stderr)]).then(
    ([code]) => exitStatus(code, opts.command),
    (err: unknown) => failureStatus(`error executing command ${JSON.stringify(opts.command)}: ${(err as Error)?.message ?? String(err)}`),
  );
  const status = await Promise.race([outcome, clientGone.then(() => undefined)]);
  finished = true;
  if (status === undefined || !conn.open) return;
  conn.send(frame(Channel.error, JSON.stringify(status)));
  conn.close(1000);
  await clientGone;
}
