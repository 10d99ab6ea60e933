// Book 12.2: POST /v3/watch: messages create/cancel watches or ask for progress as they arrive; replies
// go out as {"result":...} lines with backpressure; the stream lasts until the connection closes.
import type { IncomingMessage, ServerResponse } from "node:http";
import type { KvService } from "../service.js";
import type { WatchResponse, WatchStream } from "../watch/types.js";
import { decodeWatchMessage, encodeWatchResponse, type WatchMessage } from "./codec.js";
import { endWithStreamError } from "./wire-respond.js";
import { readJsonStream } from "./wire-stream.js";

export function serveWatch(service: KvService, req: IncomingMessage, res: ServerResponse, maxBuffered: number): void {
  let stream: WatchStream | undefined;
  let closed = false;

  const send = (r: WatchResponse): boolean => {
    if (closed) return false;
    return res.write('{"result":' + encodeWatchResponse(r) + "}\n");
  };
  const close = () => {
    if (closed) return;
    closed = true;
    input.stop();
    stream?.close();
  };
  const fail = (e: unknown) => {
    if (closed) return;
    endWithStreamError(res, e);
    close();
  };
  res.on("close", close);
  res.on("drain", () => {
    if (closed || !stream) return;
    try {
      stream.drained();
    } catch (e) {
      fail(e);
    }
  });

  const input = readJsonStream<WatchMessage>(req, res, maxBuffered, {
    decode: decodeWatchMessage,
    start() {
      try {
        stream = service.openWatchStream(send);
      } catch (e) {
        fail(e);
      }
    },
    message(m) {
      if (closed || !stream) return;
      try {
        if ("create" in m) stream.create(m.create);
        else if ("cancel" in m) stream.cancel(m.cancel);
        else if ("progress" in m) stream.progress();
        // A message with none of the three is ignored, as etcd does.
      } catch (e) {
        fail(e);
      }
    },
    inputEnded() {
      // The watches stay: the client ends the stream by closing the connection.
    },
  });
}
