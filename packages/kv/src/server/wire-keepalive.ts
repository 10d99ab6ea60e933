// Book 12.2: POST /v3/lease/keepalive: one {"result":...} line per request message, in order; ends
// once the body has ended and every reply is out, or with grpc-gateway's error chunk.
import type { IncomingMessage, ServerResponse } from "node:http";
import type { KvService } from "../service.js";
import type { Id } from "../types.js";
import { decodeKeepAliveMessage, encodeLeaseKeepAliveResponse } from "./codec.js";
import { endWithStreamError } from "./wire-respond.js";
import { readJsonStream } from "./wire-stream.js";

export function serveKeepAlive(service: KvService, req: IncomingMessage, res: ServerResponse, maxBuffered: number): void {
  let closed = false;
  let inputEnded = false;
  let pending = 0;
  let queue: Promise<void> = Promise.resolve();

  const finishIfDone = () => {
    if (closed || !inputEnded || pending > 0) return;
    closed = true;
    res.end();
  };
  const reply = async (id: Id) => {
    if (closed) return;
    try {
      const r = await service.leaseKeepAlive(id);
      if (closed) return;
      if (!res.write('{"result":' + encodeLeaseKeepAliveResponse(r) + "}\n")) {
        // Backpressure: read no more requests until the client takes the replies.
        req.pause();
        res.once("drain", () => req.resume());
      }
    } catch (e) {
      if (closed) return;
      closed = true;
      input.stop();
      endWithStreamError(res, e);
    }
  };
  res.on("close", () => {
    closed = true;
    input.stop();
  });

  const input = readJsonStream<Id>(req, res, maxBuffered, {
    decode: decodeKeepAliveMessage,
    start() {},
    message(id) {
      pending++;
      queue = queue.then(() => reply(id)).finally(() => {
        pending--;
        finishIfDone();
      });
    },
    inputEnded() {
      inputEnded = true;
      finishIfDone();
    },
  });
}
