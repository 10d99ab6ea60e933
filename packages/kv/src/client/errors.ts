// Book 12.5: which failures a client may retry on another endpoint, and how transport and HTTP
// failures become EtcdError with a gRPC code, so callers handle one error type.
import { EtcdError, GrpcCode } from "../types.js";
import { num, obj, str } from "./wire-base.js";

/** Network errors that prove the request never reached a server: always safe to send elsewhere. */
const NOT_SENT = new Set([
  "ECONNREFUSED", "UND_ERR_CONNECT_TIMEOUT", "ENOTFOUND", "EHOSTUNREACH", "ENETUNREACH", "EAI_AGAIN",
  "EADDRNOTAVAIL",
]);

/** Why an attempt failed; `sent` false means the server surely never saw it. */
export class AttemptError extends EtcdError {
  constructor(code: number, message: string, readonly sent: boolean) {
    super(code, message);
  }
}

function errCode(e: unknown): string {
  const o = e as { code?: unknown; cause?: { code?: unknown } };
  return String(o?.code ?? o?.cause?.code ?? "");
}

/** A thrown network/undici error → EtcdError (Unavailable, or DeadlineExceeded for timeouts). */
export function fromNetworkError(e: unknown, endpoint: string): EtcdError {
  if (e instanceof EtcdError) return e;
  const code = errCode(e);
  const msg = (e as Error)?.message ?? String(e);
  if (code === "UND_ERR_HEADERS_TIMEOUT" || code === "UND_ERR_BODY_TIMEOUT") {
    return new AttemptError(GrpcCode.DeadlineExceeded, `context deadline exceeded (${endpoint})`, true);
  }
  if ((e as Error)?.name === "AbortError" || code === "ABORT_ERR" || code === "UND_ERR_ABORTED") {
    return new AttemptError(GrpcCode.Canceled, `context canceled (${endpoint})`, true);
  }
  // Any other failure (reset, closed socket) may have come after the server applied the request.
  return new AttemptError(GrpcCode.Unavailable, `connection error: ${code || msg} (${endpoint})`, !NOT_SENT.has(code));
}

/** An HTTP error body {"error","message","code"} (or a stream's {"error":{grpc_code,message}}) → EtcdError. */
export function fromErrorBody(status: number, text: string): EtcdError {
  let j: unknown;
  try {
    j = JSON.parse(text);
  } catch {
    return new EtcdError(status === 503 ? GrpcCode.Unavailable : GrpcCode.Unknown, `HTTP ${status}: ${text.slice(0, 200)}`);
  }
  const o = obj(j);
  const inner = obj(o.error);
  const message = str(o.message) || str(o.error) || str(inner.message) || `HTTP ${status}`;
  const code = o.code !== undefined ? num(o.code) : inner.grpc_code !== undefined ? num(inner.grpc_code) : status === 503 ? GrpcCode.Unavailable : GrpcCode.Unknown;
  return new EtcdError(code, message);
}

/** etcd 3.4's "request timed out" (and "leader changed") may have been applied: not safe to repeat a write. */
const INDETERMINATE = ["etcdserver: request timed out", "etcdserver: leader changed"];

/** May this failure be retried on the next endpoint? Writes only when surely not applied. */
export function retriable(e: EtcdError, idempotent: boolean): boolean {
  if (e.code !== GrpcCode.Unavailable && e.code !== GrpcCode.DeadlineExceeded) return false;
  if (idempotent) return true;
  if (e instanceof AttemptError) return !e.sent;
  return e.code === GrpcCode.Unavailable && !INDETERMINATE.some((m) => e.message.startsWith(m));
}
