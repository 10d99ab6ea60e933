// Book 9.2 and 4.6: `kubectl exec -t` against a real busybox container, as root: the exec WebSocket with
// tty=1, on the node's own kubelet API, gives the command a terminal from the container's own /dev/pts, sized by the client's resize messages.
import { createRequire } from "node:module";
import { join } from "node:path";
import { Channel, exitCodeOf, frame, type Pod } from "@corekube/api";
import { PODS } from "@corekube/client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ensurePki, type Pki } from "../../packages/apiserver/src/pki/pki.js";
import { eventually } from "../support/eventually.js";
import { type Cluster, isRoot, podOn, prepareNode, startCluster, type TestNode } from "./support.js";

interface WsClient {
  on(event: string, cb: (...args: never[]) => void): void;
  send(data: Buffer): void;
  close(): void;
}
type WsCtor = new (url: string, protocols: string[], opts: object) => WsClient;
const WebSocket = createRequire(new URL("../../packages/apiserver/package.json", import.meta.url))("ws") as WsCtor;

let cluster: Cluster;
let node: TestNode;
let pki: Pki;
let base: string;

// The node's own kubelet API (what the API server's pods/exec proxy dials), with the API server's client certificate.
async function startServer(): Promise<void> {
  pki = await ensurePki(join(cluster.cp.stateDir, "pki"), { hosts: [] });
  base = `https://127.0.0.1:${node.kl?.serverPort ?? node.port}`;
}

beforeAll(async () => {
  if (!isRoot) return;
  cluster = await startCluster();
  node = await prepareNode(cluster, { prefix: "tty" });
  await node.start();
  const pod = podOn(node, "shell", { containers: [{ name: "sh", image: "busybox:1.35", command: ["sleep", "3600"] }] });
  await cluster.client.resource<Pod>(PODS).create(pod, { namespace: "default" });
  await eventually("shell Running", async () => (await node.pod("shell")).status?.phase === "Running", 90_000).catch((e: Error) => {
    throw new Error(`${e.message}\nkubelet log:\n${node.logs.slice(-40).join("\n")}`);
  });
  await startServer();
}, 240_000);

afterAll(async () => {
  await node?.cleanup();
  await cluster?.stop();
}, 120_000);

interface Session {
  /** Everything on stdout so far. */
  out(): string;
  stderr(): string;
  /** Waits until stdout contains `text` (rejects if the session ends first). */
  until(text: string): Promise<void>;
  send(channel: number, payload: string): void;
  resize(width: number, height: number): void;
  /** The exit code from the channel-3 Status, once the session has closed. */
  done: Promise<number | undefined>;
}

function open(command: string[], o: { tty: boolean; stdin?: boolean; size?: { width: number; height: number } }): Session {
  const q = new URLSearchParams();
  for (const c of command) q.append("command", c);
  q.set("output", "1");
  q.set("error", "1");
  if (o.stdin) q.set("input", "1");
  if (o.tty) q.set("tty", "1");
  const tls = { ca: pki.ca.certPem, cert: pki.kubeletClient.certPem, key: pki.kubeletClient.keyPem };
  const ws = new WebSocket(`${base.replace(/^https/, "wss")}/exec/default/shell/sh?${q}`, ["v5.channel.k8s.io"], { ...tls, perMessageDeflate: false });
  let out = "";
  let err = "";
  let status: unknown;
  let closed = false;
  const wake: (() => void)[] = [];
  const notify = (): void => {
    for (const w of wake.splice(0)) w();
  };
  // Frames sent before the socket is open wait for it (the first is the initial size, as kubectl sends it).
  let queued: Buffer[] | undefined = [];
  const send = (b: Buffer): void => (queued ? void queued.push(b) : ws.send(b));
  if (o.size) send(frame(Channel.resize, JSON.stringify({ Width: o.size.width, Height: o.size.height })));
  ws.on("open", () => {
    for (const b of queued ?? []) ws.send(b);
    queued = undefined;
  });
  ws.on("message", (data: Buffer) => {
    const body = data.subarray(1).toString("utf8");
    if (data[0] === Channel.stdout) out += body;
    else if (data[0] === Channel.stderr) err += body;
    else if (data[0] === Channel.error && body !== "") status = JSON.parse(body);
    notify();
  });
  const done = new Promise<number | undefined>((resolve, reject) => {
    ws.on("error", (e: Error) => {
      closed = true;
      notify();
      reject(e);
    });
    ws.on("close", () => {
      closed = true;
      notify();
      resolve(exitCodeOf(status));
    });
  });
  done.catch(() => undefined);
  return {
    out: () => out,
    stderr: () => err,
    async until(text) {
      while (!out.includes(text)) {
        if (closed) throw new Error(`session ended without ${JSON.stringify(text)}; stdout: ${JSON.stringify(out)}`);
        await new Promise<void>((r) => wake.push(r));
      }
    },
    send: (channel, payload) => send(frame(channel, payload)),
    resize: (width, height) => send(frame(Channel.resize, JSON.stringify({ Width: width, Height: height }))),
    done,
  };
}

describe.skipIf(!isRoot)("exec with a tty in a real container", () => {
  it("gives the command a terminal of the container's /dev/pts, at the size the client sent, and its exit code", async () => {
    const s = open(["sh", "-c", "tty; stty size; echo TERM=$TERM; exit 3"], { tty: true, size: { width: 101, height: 33 } });
    expect(await s.done).toBe(3);
    expect(s.out()).toMatch(/^\/dev\/pts\/\d+\r\n33 101\r\nTERM=xterm\r\n$/);
    expect(s.stderr()).toBe("");
  }, 30_000);

  it("reports `exit 3` as 3 and success as 0", async () => {
    expect(await open(["sh", "-c", "exit 3"], { tty: true, size: { width: 80, height: 24 } }).done).toBe(3);
    expect(await open(["true"], { tty: true, size: { width: 80, height: 24 } }).done).toBe(0);
  }, 30_000);

  it("runs an interactive shell on stdin, echoed by the terminal", async () => {
    const s = open(["sh"], { tty: true, stdin: true, size: { width: 90, height: 30 } });
    s.send(Channel.stdin, "echo $((6 * 7))\n");
    await s.until("42\r\n");
    s.send(Channel.stdin, "stty size; exit 5\n");
    expect(await s.done).toBe(5);
    expect(s.out()).toContain("echo $((6 * 7))\r\n");
    expect(s.out()).toContain("30 90\r\n");
  }, 30_000);

  it("applies a later resize to the running command's terminal, which gets SIGWINCH", async () => {
    // Not an interactive shell: with job control its `sleep` would be the foreground group that gets the signal.
    const s = open(["sh", "-c", "trap 'stty size; exit 6' WINCH; echo armed; while :; do sleep 0.2; done"], { tty: true, size: { width: 80, height: 24 } });
    await s.until("armed\r\n");
    s.resize(120, 40);
    expect(await s.done).toBe(6);
    expect(s.out()).toBe("armed\r\n40 120\r\n");
  }, 30_000);

  it("keeps exec without a tty as before: separate stdout and stderr, no terminal", async () => {
    const s = open(["sh", "-c", "tty; echo err >&2; exit 2"], { tty: false });
    expect(await s.done).toBe(2);
    expect(s.out()).toBe("not a tty\n");
    expect(s.stderr()).toBe("err\n");
  }, 30_000);
});
