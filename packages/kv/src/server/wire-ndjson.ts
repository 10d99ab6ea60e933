// Book 12.2: the request side of etcd's streams (/v3/watch, /v3/lease/keepalive): JSON messages one
// after another in the body (newlines optional), read as they arrive, like Go's json.Decoder.
import { GoJsonError, JNum, type JValue, parseGoJson } from "./wire-gojson.js";

const TOO_LARGE = "etcdserver: request is too large";

export type StreamItem =
  | { value: JValue }
  | { error: string }
  /** The body ended between messages. */
  | { eof: true }
  /** Wait for more data. */
  | undefined;

export class JsonStreamReader {
  private buf = "";
  private pos = 0;
  private ended = false;
  /** The buffer holds the start of a message and no '}' or ']' came since: parsing again is moot. */
  private waiting = false;

  /** @param maxBuffered bytes one message may take before the stream is refused. */
  constructor(private readonly maxBuffered: number) {}

  /** Add body bytes (as a latin1 string). */
  push(text: string): void {
    this.buf = this.pos >= this.buf.length ? text : this.buf.slice(this.pos) + text;
    this.pos = 0;
    if (this.waiting && (text.includes("}") || text.includes("]"))) this.waiting = false;
  }

  end(): void {
    this.ended = true;
  }

  /** The next complete message, an error, the end, or undefined to wait for more bytes. */
  next(): StreamItem {
    if (this.waiting && !this.ended) return this.buf.length - this.pos > this.maxBuffered ? { error: TOO_LARGE } : undefined;
    try {
      const r = parseGoJson(this.buf, this.pos, "decoder");
      if (r === undefined) {
        if (this.ended) return { eof: true };
        this.buf = "";
        this.pos = 0;
        return undefined;
      }
      // A number at the very end may still be growing.
      if (r.value instanceof JNum && r.end === this.buf.length && !this.ended) return undefined;
      this.pos = r.end;
      return { value: r.value };
    } catch (e) {
      if (!(e instanceof GoJsonError)) throw e;
      if (e.eof && !this.ended) {
        if (this.buf.length - this.pos > this.maxBuffered) return { error: TOO_LARGE };
        this.waiting = true;
        return undefined;
      }
      return { error: e.message };
    }
  }
}
