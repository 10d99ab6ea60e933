// Book 9.2: tests for the kubelet's WebSocket framing — the handshake key, masked and fragmented
// client frames, ping/pong, the closing handshake and protocol errors.
import { Duplex } from "node:stream";
import { describe, expect, it } from "vitest";
import { WsConnection, websocketAccept } from "./websocket.js";

function fakeSocket(): { socket: Duplex; written: Buffer[] } {
  const written: Buffer[] = [];
  const socket = new Duplex({
    read() {},
    write(chunk: Buffer, _enc, cb) {
      written.push(chunk);
      cb();
    },
  });
  return { socket, written };
}

/** A client frame: masked, as RFC 6455 requires of clients. */
function clientFrame(opcode: number, payload: Buffer, fin = true, masked = true): Buffer {
  const mask = Buffer.from([1, 2, 3, 4]);
  const body = Buffer.from(payload);
  if (masked) for (let i = 0; i < body.length; i++) body[i]! ^= mask[i & 3]!;
  const len = body.length;
  const head =
    len < 126
      ? Buffer.from([(fin ? 0x80 : 0) | opcode, (masked ? 0x80 : 0) | len])
      : Buffer.concat([Buffer.from([(fin ? 0x80 : 0) | opcode, (masked ? 0x80 : 0) | 126]), Buffer.from([len >> 8, len & 0xff])]);
  return Buffer.concat([head, masked ? mask : Buffer.alloc(0), body]);
}

const tick = () => new Promise((r) => setImmediate(r));

describe("WebSocket server framing", () => {
  it("computes Sec-WebSocket-Accept as in RFC 6455's example", () => {
    expect(websocketAccept("dGhlIHNhbXBsZSBub25jZQ==")).toBe("s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
  });

  it("unmasks client frames, reassembles fragments even when split across reads, and answers pings", async () => {
    const { socket, written } = fakeSocket();
    const conn = new WsConnection(socket, "v5.channel.k8s.io");
    const got: [string, boolean][] = [];
    conn.on("message", (d: Buffer, binary: boolean) => got.push([d.toString(), binary]));
    const big = Buffer.alloc(300, "a");
    const bytes = Buffer.concat([
      clientFrame(0x2, Buffer.from("\x00hel"), false),
      clientFrame(0x9, Buffer.from("ping!")),
      clientFrame(0x0, Buffer.from("lo")),
      clientFrame(0x2, big),
    ]);
    for (let i = 0; i < bytes.length; i += 7) socket.push(bytes.subarray(i, i + 7));
    await tick();
    expect(got).toEqual([
      ["\x00hello", true],
      ["a".repeat(300), true],
    ]);
    expect(Buffer.concat(written)).toEqual(Buffer.concat([Buffer.from([0x8a, 5]), Buffer.from("ping!")]));
  });

  it("sends unmasked binary frames with 7-, 16- and 64-bit lengths", () => {
    const { socket, written } = fakeSocket();
    const conn = new WsConnection(socket, "v4.channel.k8s.io");
    conn.send(Buffer.from([1, 65]));
    conn.send(Buffer.alloc(200));
    conn.send(Buffer.alloc(70000));
    expect(written[0]).toEqual(Buffer.from([0x82, 2, 1, 65]));
    expect([...written[1]!.subarray(0, 4)]).toEqual([0x82, 126, 0, 200]);
    expect([...written[2]!.subarray(0, 10)]).toEqual([0x82, 127, 0, 0, 0, 0, 0, 1, 0x11, 0x70]);
    expect(written[2]!.length).toBe(70010);
  });

  it("answers the client's close with the same code, and refuses unmasked frames with 1002", async () => {
    const a = fakeSocket();
    const conn = new WsConnection(a.socket, "v5.channel.k8s.io");
    a.socket.push(clientFrame(0x8, Buffer.from([0x03, 0xe8])));
    await tick();
    expect(a.written[0]).toEqual(Buffer.from([0x88, 2, 0x03, 0xe8]));
    expect(conn.open).toBe(false);

    const b = fakeSocket();
    const bad = new WsConnection(b.socket, "v5.channel.k8s.io");
    const got: Buffer[] = [];
    bad.on("message", (d: Buffer) => got.push(d));
    b.socket.push(clientFrame(0x2, Buffer.from("x"), true, false));
    await tick();
    expect(got).toEqual([]);
    expect(b.written[0]!.subarray(0, 4)).toEqual(Buffer.from([0x88, b.written[0]![1]!, 0x03, 0xea]));
  });
});
