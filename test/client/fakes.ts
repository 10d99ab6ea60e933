// Test support (Book 12.5): stand-ins for broken members — a port nobody listens on, an HTTP
// server that answers 503 or never answers, and a TCP proxy whose connections can be cut.
import { createServer as createHttp, type Server as HttpServer } from "node:http";
import { connect, createServer, type Server, type Socket } from "node:net";

function listen(s: Server | HttpServer): Promise<string> {
  return new Promise((resolve) => s.listen(0, "127.0.0.1", () => resolve(`http://127.0.0.1:${(s.address() as { port: number }).port}`)));
}

/** An endpoint URL with nothing listening (connection refused). */
export async function deadEndpoint(): Promise<string> {
  const s = createServer();
  const url = await listen(s);
  await new Promise((r) => s.close(r));
  return url;
}

export interface Fake {
  url: string;
  hits: number;
  close(): Promise<void>;
}

/** An HTTP server that answers every request with `status` and `body` ("hang": never answers). */
export async function fakeServer(status: number | "hang", body = ""): Promise<Fake> {
  const sockets = new Set<Socket>();
  const fake: Fake = { url: "", hits: 0, close: async () => undefined };
  const s = createHttp((req, res) => {
    fake.hits++;
    req.resume();
    if (status === "hang") return;
    req.on("end", () => {
      res.writeHead(status, { "content-type": "application/json" });
      res.end(body);
    });
  });
  s.on("connection", (c) => {
    sockets.add(c);
    c.on("close", () => sockets.delete(c));
  });
  fake.url = await listen(s);
  fake.close = async () => {
    for (const c of sockets) c.destroy();
    await new Promise((r) => s.close(r));
  };
  return fake;
}

export interface Proxy {
  url: string;
  /** Destroys every open connection (the listener stays). */
  cut(): void;
  close(): Promise<void>;
}

/** A TCP proxy to `target` (http://host:port). */
export async function tcpProxy(target: string): Promise<Proxy> {
  const u = new URL(target);
  const sockets = new Set<Socket>();
  const track = (c: Socket) => {
    sockets.add(c);
    c.on("close", () => sockets.delete(c));
    c.on("error", () => c.destroy());
  };
  const s = createServer((c) => {
    const up = connect(Number(u.port), u.hostname);
    track(c);
    track(up);
    c.pipe(up);
    up.pipe(c);
    c.on("close", () => up.destroy());
    up.on("close", () => c.destroy());
  });
  const url = await listen(s);
  return {
    url,
    cut: () => {
      for (const c of sockets) c.destroy();
    },
    close: async () => {
      for (const c of sockets) c.destroy();
      await new Promise((r) => s.close(r));
    },
  };
}
