// Book 9.2: the server half of WebSocket (RFC 6455) that `kubectl exec` streams ride on — the
// upgrade handshake with subprotocol choice, and masked client frames in, plain frames out.
import { createHash } from "node:crypto";
import { EventEmitter } from "node:events";
import type { IncomingMessage } from "node:http";
import { STATUS_CODES } from "node:http";
import type { Duplex } from "node:stream";

const GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
const OP_CONTINUATION = 0x0;
const OP_TEXT = 0x1;
const OP_BINARY = 0x2;
const OP_CLOSE = 0x8;
const OP_PING = 0x9;
const OP_PONG = 0xa;

/** The Sec-WebSocket-Accept value for a client's Sec-WebSocket-Key. */
export function websocketAccept(key: string): string {
  return createHash("sha1").update(key + GUID).digest("base64");
}

/** Answers an upgrade request with a plain HTTP response and closes the socket. */
export function refuseUpgrade(socket: Duplex, code: number, body: string, contentType = "application/json", extra: Record<string, string> = {}): void {
  if (socket.destroyed) return;
  const headers = Object.entries({ "Content-Type": contentType, "Content-Length": String(Buffer.byteLength(body)), Connection: "close", ...extra })
    .map(([k, v]) => `${k}: ${v}\r\n`)
    .join("");
  socket.end(`HTTP/1.1 ${code} ${STATUS_CODES[code] ?? "Error"}\r\n${headers}\r\n${body}`);
}

/** Why a request cannot be upgraded to a WebSocket, or undefined when it can. */
export function handshakeProblem(req: IncomingMessage): string | undefined {
  if (req.method !== "GET") return `a WebSocket upgrade must use GET, not ${req.method}`;
  if (String(req.headers.upgrade ?? "").toLowerCase() !== "websocket") return "missing Upgrade: websocket";
  if (req.headers["sec-websocket-version"] !== "13") return "unsupported Sec-WebSocket-Version (want 13)";
  const key = req.headers["sec-websocket-key"];
  if (typeof key !== "string" || Buffer.from(key, "base64").length !== 16) return "missing or malformed Sec-WebSocket-Key";
  return undefined;
}

export interface WsOptions {
  /** Largest message accepted from the client (default 16 MiB); larger closes with 1009. */
  maxPayload?: number;
}

/**
 * One accepted WebSocket. Events: "message" (data: Buffer, binary: boolean), "drain" (the socket
 * can take more), "close" (code: number) once the connection is gone.
 */
export class WsConnection extends EventEmitter {
  private buf: Buffer = Buffer.alloc(0);
  private fragments: Buffer[] = [];
  private fragmentOpcode = -1;
  private fragmentBytes = 0;
  private closeSent = false;
  private closeCode = 1006;
  private gone = false;
  private closeTimer: NodeJS.Timeout | undefined;
  private readonly maxPayload: number;

  constructor(
    private readonly socket: Duplex,
    readonly protocol: string,
    opts: WsOptions = {},
    head: Buffer = Buffer.alloc(0),
  ) {
    super();
    this.maxPayload = opts.maxPayload ?? 16 * 1024 * 1024;
    socket.on("data", (chunk: Buffer) => this.onData(chunk));
    socket.on("drain", () => this.emit("drain"));
    socket.on("error", () => socket.destroy());
    socket.on("end", () => socket.end());
    socket.on("close", () => this.onSocketClose());
    // Bytes that came with the upgrade request: parse them once the caller has its listeners on.
    if (head.length > 0) process.nextTick(() => this.onData(Buffer.from(head)));
  }

  get open(): boolean {
    return !this.gone && !this.closeSent;
  }

  /** Bytes queued on the socket but not yet written. */
  get bufferedAmount(): number {
    return (this.socket as { writableLength?: number }).writableLength ?? 0;
  }

  /** Sends one message; false when the socket's buffer is full (wait for "drain"). */
  send(data: Buffer, binary = true): boolean {
    if (!this.open) return false;
    return this.writeFrame(binary ? OP_BINARY : OP_TEXT, data);
  }

  /** Starts the closing handshake; the socket ends when the peer answers (or after 5 s). */
  close(code = 1000, reason = ""): void {
    if (this.gone || this.closeSent) return;
    this.closeSent = true;
    const r = Buffer.from(reason, "utf8").subarray(0, 123);
    const payload = Buffer.alloc(2 + r.length);
    payload.writeUInt16BE(code, 0);
    r.copy(payload, 2);
    this.writeFrame(OP_CLOSE, payload);
    this.closeTimer = setTimeout(() => this.socket.destroy(), 5000);
    this.closeTimer.unref();
  }

  /** Drops the connection without a closing handshake. */
  terminate(): void {
    this.socket.destroy();
  }

  /** Stops reading client frames (backpressure towards the client). */
  pause(): void {
    this.socket.pause();
  }

  resume(): void {
    this.socket.resume();
  }

  private writeFrame(opcode: number, payload: Buffer): boolean {
    const len = payload.length;
    let header: Buffer;
    if (len < 126) {
      header = Buffer.from([0x80 | opcode, len]);
    } else if (len < 0x10000) {
      header = Buffer.alloc(4);
      header[0] = 0x80 | opcode;
      header[1] = 126;
      header.writeUInt16BE(len, 2);
    } else {
      header = Buffer.alloc(10);
      header[0] = 0x80 | opcode;
      header[1] = 127;
      header.writeBigUInt64BE(BigInt(len), 2);
    }
    if (this.socket.destroyed || !this.socket.writable) return false;
    return this.socket.write(Buffer.concat([header, payload]));
  }

  private fail(code: number, reason: string): void {
    this.buf = Buffer.alloc(0);
    this.close(code, reason);
    this.socket.end();
  }

  private onData(chunk: Buffer): void {
    this.buf = this.buf.length > 0 ? Buffer.concat([this.buf, chunk]) : chunk;
    while (!this.gone && this.parseOne()) {
      // keep parsing complete frames
    }
  }

  /** Takes one complete frame off the buffer; false when more bytes are needed. */
  private parseOne(): boolean {
    const b = this.buf;
    if (b.length < 2) return false;
    const fin = (b[0]! & 0x80) !== 0;
    const opcode = b[0]! & 0x0f;
    const masked = (b[1]! & 0x80) !== 0;
    let len = b[1]! & 0x7f;
    let off = 2;
    if (len === 126) {
      if (b.length < 4) return false;
      len = b.readUInt16BE(2);
      off = 4;
    } else if (len === 127) {
      if (b.length < 10) return false;
      const big = b.readBigUInt64BE(2);
      if (big > BigInt(this.maxPayload)) {
        this.fail(1009, "message too big");
        return false;
      }
      len = Number(big);
      off = 10;
    }
    if ((b[0]! & 0x70) !== 0) {
      this.fail(1002, "reserved bits set");
      return false;
    }
    if (!masked) {
      this.fail(1002, "client frames must be masked");
      return false;
    }
    if (len > this.maxPayload) {
      this.fail(1009, "message too big");
      return false;
    }
    if (b.length < off + 4 + len) return false;
    const mask = b.subarray(off, off + 4);
    const payload = Buffer.from(b.subarray(off + 4, off + 4 + len));
    for (let i = 0; i < payload.length; i++) payload[i]! ^= mask[i & 3]!;
    this.buf = b.subarray(off + 4 + len);

    if (opcode >= 0x8) {
      if (!fin || len > 125) {
        this.fail(1002, "bad control frame");
        return false;
      }
      if (opcode === OP_CLOSE) {
        const code = payload.length >= 2 ? payload.readUInt16BE(0) : 1005;
        this.closeCode = code;
        if (!this.closeSent) {
          const echo = code === 1005 || code === 1006 || code === 1015 ? 1000 : code;
          this.close(echo);
        }
        this.socket.end();
        return false;
      }
      if (opcode === OP_PING) this.writeFrame(OP_PONG, payload);
      else if (opcode !== OP_PONG) {
        this.fail(1002, `unknown opcode ${opcode}`);
        return false;
      }
      return true;
    }
    if (opcode === OP_CONTINUATION) {
      if (this.fragmentOpcode < 0) {
        this.fail(1002, "continuation without a message");
        return false;
      }
    } else if (opcode === OP_TEXT || opcode === OP_BINARY) {
      if (this.fragmentOpcode >= 0) {
        this.fail(1002, "new message inside a fragmented one");
        return false;
      }
      this.fragmentOpcode = opcode;
    } else {
      this.fail(1002, `unknown opcode ${opcode}`);
      return false;
    }
    this.fragmentBytes += payload.length;
    if (this.fragmentBytes > this.maxPayload) {
      this.fail(1009, "message too big");
      return false;
    }
    this.fragments.push(payload);
    if (fin) {
      const data = this.fragments.length === 1 ? this.fragments[0]! : Buffer.concat(this.fragments);
      const binary = this.fragmentOpcode === OP_BINARY;
      this.fragments = [];
      this.fragmentOpcode = -1;
      this.fragmentBytes = 0;
      this.emit("message", data, binary);
    }
    return true;
  }

  private onSocketClose(): void {
    if (this.gone) return;
    this.gone = true;
    if (this.closeTimer) clearTimeout(this.closeTimer);
    this.emit("close", this.closeCode);
  }
}

/**
 * Completes the WebSocket handshake on an upgrade request (check handshakeProblem first) and
 * returns the connection. `protocol` is the subprotocol to confirm.
 */
export function acceptWebSocket(req: IncomingMessage, socket: Duplex, head: Buffer, protocol: string, opts: WsOptions = {}): WsConnection {
  const key = String(req.headers["sec-websocket-key"]);
  socket.write(
    "HTTP/1.1 101 Switching Protocols\r\n" +
      "Upgrade: websocket\r\n" +
      "Connection: Upgrade\r\n" +
      `Sec-WebSocket-Accept: ${websocketAccept(key)}\r\n` +
      `Sec-WebSocket-Protocol: ${protocol}\r\n\r\n`,
  );
  (socket as { setNoDelay?: (v: boolean) => void }).setNoDelay?.(true);
  return new WsConnection(socket, protocol, opts, head);
}
