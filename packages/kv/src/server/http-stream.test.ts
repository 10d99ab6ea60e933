// Book 12.2: the gateway's two streams in-process: /v3/watch (messages handled as they arrive,
// {"result":...} lines out, backpressure, close on disconnect) and /v3/lease/keepalive.
import { createServer, request, type IncomingMessage, type Server } from "node:http";
import { connect, type AddressInfo } from "node:net";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { KvService } from "../service.js";
import { EtcdError, GrpcCode, type ResponseHeader } from "../types.js";
import type { WatchCreateRequest, WatchResponse, WatchStream } from "../watch/types.js";
import { createKvHttpHandler } from "./http.js";

const header: ResponseHeader = { clusterId: "100", memberId: "10", revision: 5, raftTerm: 2 };
const H = '{"cluster_id":"100","member_id":"10","revision":"5","raft_term":"2"}';

class FakeWatchStream implements WatchStream {
  log: string[] = [];
  constructor(readonly send: (r: WatchResponse) => boolean) {}
  create(req: WatchCreateRequest) {
    this.log.push(`create ${JSON.stringify(req)}`);
    this.send({ header, watchId: req.watchId ?? 0, created: true, events: [] });
  }
  cancel(id: number) {
    this.log.push(`cancel ${id}`);
    this.send({ header, watchId: id, canceled: true, events: [] });
  }
  progress() {
    this.log.push("progress");
    this.send({ header, watchId: -1, events: [] });
  }
  drained() {
    this.log.push("drained");
  }
  close() {
    this.log.push("close");
  }
}

let streams: FakeWatchStream[] = [];
let keepAlive: (id: string) => Promise<{ header: ResponseHeader; ID: string; TTL: number }>;
const service = {
  header: () => header,
  openWatchStream(send: (r: WatchResponse) => boolean) {
    const s = new FakeWatchStream(send);
    streams.push(s);
    return s;
  },
  leaseKeepAlive: (id: string) => keepAlive(id),
} as unknown as KvService;

let server: Server;
let port: number;
beforeAll(async () => {
  server = createServer(createKvHttpHandler(service, {}));
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  port = (server.address() as AddressInfo).port;
});
afterAll(() => {
  server.closeAllConnections();
  return new Promise<void>((r) => server.close(() => r()));
});
beforeEach(() => {
  streams = [];
  keepAlive = async (id) => ({ header, ID: id, TTL: id === "404" ? 0 : 30 });
});

const until = async (cond: () => boolean, ms = 3_000) => {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error("timed out waiting");
    await new Promise((r) => setTimeout(r, 5));
  }
};

/** A streaming POST: write the body piece by piece, read response lines as they come. */
function open(path: string) {
  const req = request({ host: "127.0.0.1", port, path, method: "POST" });
  const state = { status: 0, text: "", ended: false, res: undefined as IncomingMessage | undefined };
  req.on("response", (res) => {
    state.status = res.statusCode ?? 0;
    state.res = res;
    res.setEncoding("utf8");
    res.on("data", (d: string) => (state.text += d));
    res.on("end", () => (state.ended = true));
  });
  req.on("error", () => {});
  req.flushHeaders();
  return {
    state,
    write: (s: string) => req.write(s),
    end: () => req.end(),
    destroy: () => req.destroy(),
    lines: () => state.text.split("\n").filter((l) => l !== ""),
    waitLines: (n: number) => until(() => state.text.split("\n").filter((l) => l !== "").length >= n),
  };
}

describe("POST /v3/watch", () => {
  it("handles each message as it arrives and writes {result} lines", async () => {
    const c = open("/v3/watch");
    c.write('{"create_request":{"key":"YQ==","range_end":"Yg==","start_revision":"3","prev_kv":true,"progress_notify":true,"filters":["NODELETE"],"watch_id":"7"}}\n');
    await c.waitLines(1);
    expect(c.state.status).toBe(200);
    expect(c.state.res!.headers["content-type"]).toBe("application/json");
    expect(c.lines()[0]).toBe(`{"result":{"header":${H},"watch_id":"7","created":true}}`);
    const s = streams[0]!;
    expect(s.log[0]).toBe('create {"key":"a","rangeEnd":"b","startRevision":3,"progressNotify":true,"filters":["NODELETE"],"prevKv":true,"watchId":7}');

    s.send({
      header: { ...header, revision: 6 }, watchId: 7, events: [
        { type: "PUT", kv: { key: "a", value: "1", createRevision: 6, modRevision: 6, version: 1, lease: "0" } },
        { type: "DELETE", kv: { key: "a", value: "", createRevision: 0, modRevision: 6, version: 0, lease: "0" }, prevKv: { key: "a", value: "1", createRevision: 6, modRevision: 6, version: 1, lease: "0" } },
      ],
    });
    await c.waitLines(2);
    expect(JSON.parse(c.lines()[1]!).result.events).toEqual([
      { kv: { key: "YQ==", create_revision: "6", mod_revision: "6", version: "1", value: "MQ==" } },
      { type: "DELETE", kv: { key: "YQ==", mod_revision: "6" }, prev_kv: { key: "YQ==", create_revision: "6", mod_revision: "6", version: "1", value: "MQ==" } },
    ]);

    c.write('{"progress_request":{}}{"cancel_request":{"watch_id":"7"}}  {"create_request":{"key":"Yw=="}}{"other":1}');
    await c.waitLines(5);
    expect(c.lines().slice(2)).toEqual([
      `{"result":{"header":${H},"watch_id":"-1"}}`,
      `{"result":{"header":${H},"watch_id":"7","canceled":true}}`,
      `{"result":{"header":${H},"created":true}}`,
    ]);

    // The body's end does not end the stream; the connection's does, and closes the watch stream.
    c.end();
    await new Promise((r) => setTimeout(r, 50));
    expect(c.state.ended).toBe(false);
    s.send({ header, watchId: 0, events: [] });
    await c.waitLines(6);
    c.destroy();
    await until(() => s.log.includes("close"));
  });

  it("a bad first message is a plain 500 with gRPC code 2 (as etcd's gateway does)", async () => {
    const c = open("/v3/watch");
    c.write('{"create_request":{"key":"YQ==","start_revision":"abc"}}');
    c.end();
    await until(() => c.state.ended);
    expect(c.state.status).toBe(500);
    expect(JSON.parse(c.state.text)).toEqual({
      error: "invalid character 'a' looking for beginning of value", message: "invalid character 'a' looking for beginning of value", code: 2,
    });
    expect(streams).toHaveLength(0);
  });

  it("a bad later message only ends the input; the watches go on", async () => {
    const c = open("/v3/watch");
    c.write('{"create_request":{"key":"YQ=="}}\ngarbage {"progress_request":{}}');
    await c.waitLines(1);
    await new Promise((r) => setTimeout(r, 30));
    expect(streams[0]!.log).toEqual(['create {"key":"a"}']);
    streams[0]!.send({ header, watchId: 0, events: [] });
    await c.waitLines(2);
    c.destroy();
    await until(() => streams[0]!.log.includes("close"));
  });

  it("an empty body still opens the stream, and /v3beta/watch is the same", async () => {
    const c = open("/v3beta/watch");
    c.end();
    await until(() => streams.length === 1 && c.state.status === 200);
    c.destroy();
    await until(() => streams[0]!.log.includes("close"));
  });

  it("honours backpressure: send() returns false on a full socket, drained() after the client reads", async () => {
    const sock = connect(port, "127.0.0.1");
    await new Promise((r) => sock.once("connect", r));
    sock.pause();
    sock.write("POST /v3/watch HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n");
    const msg = '{"create_request":{"key":"YQ=="}}';
    sock.write(msg.length.toString(16) + "\r\n" + msg + "\r\n");
    await until(() => streams.length === 1);
    const s = streams[0]!;
    const big = "x".repeat(48 * 1024);
    let sent = 0;
    while (s.send({ header, watchId: 0, events: [{ type: "PUT", kv: { key: "a", value: big, createRevision: 1, modRevision: 1, version: 1, lease: "0" } }] })) {
      sent++;
      if (sent > 5000) throw new Error("socket never filled");
    }
    expect(s.log).not.toContain("drained");
    sock.resume();
    sock.on("data", () => {});
    await until(() => s.log.includes("drained"), 10_000);
    sock.destroy();
    await until(() => s.log.includes("close"));
  });
});

describe("POST /v3/lease/keepalive", () => {
  it("replies once per message, in order, and ends after the body ends", async () => {
    let slow = true;
    keepAlive = async (id) => {
      if (slow) {
        slow = false;
        await new Promise((r) => setTimeout(r, 40));
      }
      return { header, ID: id, TTL: id === "404" ? 0 : 30 };
    };
    const c = open("/v3/lease/keepalive");
    c.write('{"ID":"1"}\n{"ID":"404"}{"ID":2}   {}');
    c.end();
    await until(() => c.state.ended);
    expect(c.state.status).toBe(200);
    expect(c.lines()).toEqual([
      `{"result":{"header":${H},"ID":"1","TTL":"30"}}`,
      `{"result":{"header":${H},"ID":"404"}}`,
      `{"result":{"header":${H},"ID":"2","TTL":"30"}}`,
      `{"result":{"header":${H},"TTL":"30"}}`,
    ]);
  });

  it("streams: a reply comes before the next message is sent", async () => {
    const c = open("/v3/lease/keepalive");
    c.write('{"ID":"1"}');
    await c.waitLines(1);
    c.write('{"ID":"2"}');
    await c.waitLines(2);
    expect(c.state.ended).toBe(false);
    c.end();
    await until(() => c.state.ended);
  });

  it("a bad first message is a 500; a bad later one ends the stream after the replies so far", async () => {
    const bad = open("/v3/lease/keepalive");
    bad.write('{"ID":true}');
    bad.end();
    await until(() => bad.state.ended);
    expect([bad.state.status, JSON.parse(bad.state.text)]).toEqual([500, { error: "json: cannot unmarshal bool into Go value of type int64", message: "json: cannot unmarshal bool into Go value of type int64", code: 2 }]);
    const later = open("/v3/lease/keepalive");
    later.write('{"ID":"1"}\nnot json\n{"ID":"2"}');
    await until(() => later.state.ended);
    expect(later.lines()).toEqual([`{"result":{"header":${H},"ID":"1","TTL":"30"}}`]);
  });

  it("a service error ends the stream with grpc-gateway's error chunk", async () => {
    keepAlive = async () => {
      throw new EtcdError(GrpcCode.Unavailable, "etcdserver: no leader");
    };
    const c = open("/v3/lease/keepalive");
    c.write('{"ID":"1"}');
    await until(() => c.state.ended);
    expect([c.state.status, c.state.text]).toEqual([200, '{"error":{"grpc_code":14,"http_code":503,"message":"etcdserver: no leader","http_status":"Service Unavailable"}}']);
  });
});
