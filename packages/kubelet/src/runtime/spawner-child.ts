// Book 3.3 and 9.4: the kubelet's spawn helper, a small process that starts short-lived commands (mount,
// umount, CNI plugins) for it. Forking copies the parent's page tables: about 1 ms from this process,
// 5-10 ms from a kubelet with 150 MiB in use, and the kubelet's event loop stands still meanwhile.
//
// Requests and answers are newline-delimited JSON on stdin and stdout:
//   {id, cmd, args, env?, input?: base64}  ->  {id, code, signal, stdout: base64, stderr: base64} | {id, error}
// It exits when its stdin closes (the kubelet went away).
import { spawn } from "node:child_process";

interface Request {
  id: number;
  cmd: string;
  args: string[];
  env?: Record<string, string>;
  input?: string;
}

function answer(msg: unknown): void {
  process.stdout.write(`${JSON.stringify(msg)}\n`);
}

function handle(req: Request): void {
  let child: ReturnType<typeof spawn>;
  try {
    child = spawn(req.cmd, req.args, { env: req.env ?? process.env, stdio: [req.input !== undefined ? "pipe" : "ignore", "pipe", "pipe"] });
  } catch (e) {
    answer({ id: req.id, error: (e as Error).message });
    return;
  }
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  let failed: string | undefined;
  child.stdout?.on("data", (b: Buffer) => out.push(b));
  child.stderr?.on("data", (b: Buffer) => err.push(b));
  child.on("error", (e) => (failed = e.message));
  child.on("close", (code, signal) => {
    if (failed !== undefined) answer({ id: req.id, error: failed });
    else answer({ id: req.id, code, signal, stdout: Buffer.concat(out).toString("base64"), stderr: Buffer.concat(err).toString("base64") });
  });
  if (req.input !== undefined) {
    child.stdin?.on("error", () => undefined); // a command may exit without reading its input
    child.stdin?.end(Buffer.from(req.input, "base64"));
  }
}

let buf = "";
process.stdin.setEncoding("utf8");
process.stdin.on("data", (d: string) => {
  buf += d;
  for (let nl = buf.indexOf("\n"); nl >= 0; nl = buf.indexOf("\n")) {
    const line = buf.slice(0, nl);
    buf = buf.slice(nl + 1);
    let req: Request;
    try {
      req = JSON.parse(line) as Request;
    } catch {
      continue;
    }
    if (typeof req.id !== "number" || typeof req.cmd !== "string" || !Array.isArray(req.args)) {
      answer({ id: req.id, error: "bad request" });
      continue;
    }
    handle(req);
  }
});
process.stdin.on("end", () => process.exit(0));
answer({ ready: true });
