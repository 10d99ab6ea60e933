// Book 12.2: what etcd's gateway streams share: the response starts with the first request message; a
// bad first message is a plain 500 (gRPC code 2), a bad later one just ends the input.
import type { IncomingMessage, ServerResponse } from "node:http";
import { EtcdError, GrpcCode } from "../types.js";
import type { JValue } from "./wire-gojson.js";
import { WireDecodeError } from "./wire-jsonpb.js";
import { JsonStreamReader } from "./wire-ndjson.js";
import { startStream, writeError } from "./wire-respond.js";

export interface StreamHandlers<T> {
  decode(v: JValue): T;
  /** The first message (or an empty body) arrived and the 200 headers are out. */
  start(): void;
  message(m: T): void;
  /** No more messages will come: the body ended, or a later message was bad. */
  inputEnded(): void;
}

/** Reads a stream request body message by message. `stop()` ignores the rest of the input. */
export function readJsonStream<T>(req: IncomingMessage, res: ServerResponse, maxBuffered: number, h: StreamHandlers<T>): { stop(): void } {
  const reader = new JsonStreamReader(maxBuffered);
  let started = false;
  let done = false;

  const finish = () => {
    done = true;
    req.removeListener("data", onData);
  };
  const pump = () => {
    while (!done) {
      const item = reader.next();
      if (item === undefined) return;
      if ("eof" in item) {
        finish();
        if (!started) {
          started = true;
          startStream(res);
          h.start();
        }
        h.inputEnded();
        return;
      }
      let msg: T | undefined;
      let error = "error" in item ? item.error : undefined;
      if (error === undefined) {
        try {
          msg = h.decode((item as { value: JValue }).value);
        } catch (e) {
          if (!(e instanceof WireDecodeError || e instanceof EtcdError)) throw e;
          error = e.message;
        }
      }
      if (error !== undefined) {
        finish();
        if (!started) {
          writeError(res, new EtcdError(GrpcCode.Unknown, error), 500);
          return;
        }
        h.inputEnded();
        return;
      }
      if (!started) {
        started = true;
        startStream(res);
        h.start();
      }
      h.message(msg as T);
    }
  };
  const onData = (chunk: Buffer) => {
    reader.push(chunk.toString("latin1"));
    pump();
  };
  req.on("data", onData);
  req.on("end", () => {
    if (done) return;
    reader.end();
    pump();
  });
  return { stop: finish };
}
