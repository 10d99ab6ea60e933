// Book 12.10: etcd's streaming endpoints (/v3/watch, /v3/lease/keepalive) — newline-separated JSON
// requests in one long HTTP/1.1 request body, newline-separated {"result":…} responses back.
//
// Two facts about etcd 3.4's gateway (a Go net/http server) shape this file:
// * With a chunked request body, Go consumes the rest of the body before it writes the response
//   headers, so an open-ended chunked stream never answers. A Content-Length far larger than we
//   will ever send makes Go skip that step; we then close the connection to end the stream.
// * Go's first header write waits for the body reader's lock, which is held by a blocked read
//   until more bytes arrive. Until the headers come we therefore send blank lines ("nudges"),
//   which every NDJSON reader skips.
import { PassThrough } from "node:stream";
import { Client } from "undici";
import { EtcdError, GrpcCode } from "../types.js";
import { fromErrorBody, fromNetworkError } from "./errors.js";
import { type Json, obj } from "./wire-base.js";

const OPEN_ENDED_LENGTH = String(2 ** 40);

export class NdjsonStream {
  private closed = false;

  private constructor(
    readonly endpoint: string,
    private readonly client: Client,
    private readonly body: PassThrough,
    private readonly res: AsyncIterable<string> & { destroy(): void },
    private readonly abort: AbortController,
  ) {}

  /** Opens the stream with its first message; resolves once the server has answered with 200. */
  static async open(endpoint: string, path: string, first: Json, timeoutMs: number, connectTimeoutMs: number): Promise<NdjsonStream> {
    const client = new Client(endpoint, { pipelining: 1, connectTimeout: connectTimeoutMs, bodyTimeout: 0 });
    const body = new PassThrough();
    const abort = new AbortController();
    body.write(JSON.stringify(first) + "\n");
    let answered = false;
    let delay = 1;
    let nudge: NodeJS.Timeout | undefined;
    const tick = () => {
      if (answered) return;
      body.write("\n");
      delay = Math.min(delay * 2, 50);
      nudge = setTimeout(tick, delay);
    };
    nudge = setTimeout(tick, delay);
    const timer = timeoutMs > 0 ? setTimeout(() => abort.abort(), timeoutMs) : undefined;
    try {
      const res = await client.request({
        path, method: "POST", body, signal: abort.signal, headersTimeout: timeoutMs > 0 ? timeoutMs : null, bodyTimeout: 0,
        headers: { "content-type": "application/json", "content-length": OPEN_ENDED_LENGTH },
      });
      answered = true;
      if (res.statusCode !== 200) {
        const text = await res.body.text().catch(() => "");
        throw fromErrorBody(res.statusCode, text);
      }
      res.body.setEncoding("utf8");
      return new NdjsonStream(endpoint, client, body, res.body as unknown as AsyncIterable<string> & { destroy(): void }, abort);
    } catch (e) {
      answered = true;
      abort.abort();
      body.destroy();
      void client.destroy().catch(() => undefined);
      if (e instanceof EtcdError) throw e;
      if (timer && abort.signal.aborted) throw new EtcdError(GrpcCode.DeadlineExceeded, `context deadline exceeded (${endpoint}${path})`);
      throw fromNetworkError(e, endpoint);
    } finally {
      answered = true;
      clearTimeout(nudge);
      clearTimeout(timer);
    }
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** Sends one request message; false if the stream is already closed. */
  send(msg: Json): boolean {
    if (this.closed) return false;
    this.body.write(JSON.stringify(msg) + "\n");
    return true;
  }

  /** The `result` of each response message, in order. Throws EtcdError on an error message or a
   * broken connection; ends quietly after close(). Reading at the consumer's pace is the backpressure. */
  async *messages(): AsyncGenerator<Json, void, undefined> {
    let buf = "";
    try {
      for await (const chunk of this.res) {
        buf += chunk;
        let nl: number;
        while ((nl = buf.indexOf("\n")) >= 0) {
          const line = buf.slice(0, nl).trim();
          buf = buf.slice(nl + 1);
          if (line === "") continue;
          const msg = parseLine(line);
          if (msg.error !== undefined) throw fromErrorBody(200, line);
          yield obj(msg.result);
        }
      }
    } catch (e) {
      if (this.closed) return;
      throw e instanceof EtcdError ? e : fromNetworkError(e, this.endpoint);
    }
    if (!this.closed) throw new EtcdError(GrpcCode.Unavailable, `stream closed by server (${this.endpoint})`);
  }

  /** Ends the stream by closing its connection (the only way to end it on etcd's gateway). */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.abort.abort();
    this.body.destroy();
    this.res.destroy();
    void this.client.destroy().catch(() => undefined);
  }
}

function parseLine(line: string): Json {
  try {
    return obj(JSON.parse(line));
  } catch {
    throw new EtcdError(GrpcCode.Internal, `bad stream message: ${line.slice(0, 200)}`);
  }
}
