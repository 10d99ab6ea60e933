// Book 12.3: writing HTTP responses the way etcd 3.4 does: its CORS headers on everything, JSON
// bodies with etcd's error shape, and Go's plain-text 404/405 pages.
import { type ServerResponse, STATUS_CODES } from "node:http";
import { EtcdError, GrpcCode, httpStatusOf } from "../types.js";
import { encodeError, encodeStreamError } from "./wire-encode.js";

/** etcd 3.4 answers every request with these (its default --cors is "*"). */
export const CORS: readonly string[] = [
  "Access-Control-Allow-Headers", "accept, content-type, authorization",
  "Access-Control-Allow-Methods", "POST, GET, OPTIONS, PUT, DELETE",
  "Access-Control-Allow-Origin", "*",
];

const TEXT = ["Content-Type", "text/plain; charset=utf-8", "X-Content-Type-Options", "nosniff"];

export function writeJson(res: ServerResponse, status: number, json: string): void {
  res.writeHead(status, [...CORS, "Content-Type", "application/json", "Content-Length", String(Buffer.byteLength(json))]);
  res.end(json);
}

/** Go's http.Error: text/plain, nosniff, the message and a newline. */
export function writeText(res: ServerResponse, status: number, text: string, extra: string[] = []): void {
  const body = text + "\n";
  res.writeHead(status, [...CORS, ...extra, ...TEXT, "Content-Length", String(Buffer.byteLength(body))]);
  res.end(body);
}

/** An error as an EtcdError: service errors keep their code; anything else is gRPC Unknown. */
export function asEtcdError(err: unknown): EtcdError {
  if (err instanceof EtcdError) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new EtcdError(GrpcCode.Unknown, message || "unknown error");
}

/** {"error","message","code"} with the gateway's HTTP status for the code. */
export function writeError(res: ServerResponse, err: unknown, status?: number): void {
  const e = asEtcdError(err);
  if (res.headersSent) {
    res.destroy();
    return;
  }
  writeJson(res, status ?? httpStatusOf(e.code), encodeError(e.code, e.message));
}

/** Headers of a streaming (chunked NDJSON) response, sent at once. */
export function startStream(res: ServerResponse): void {
  res.writeHead(200, [...CORS, "Content-Type", "application/json"]);
  res.flushHeaders();
}

/** Ends a started stream with grpc-gateway's error chunk. */
export function endWithStreamError(res: ServerResponse, err: unknown): void {
  const e = asEtcdError(err);
  const status = httpStatusOf(e.code);
  if (!res.writableEnded) res.end(encodeStreamError(e, status, STATUS_CODES[status] ?? ""));
}
