// Test support (Book 5.2 and 10.3): a fake upstream resolver on loopback that answers every A question
// with 192.0.2.53 and records what it was asked, for the cluster DNS tests (never the real network).
import { createSocket, type Socket } from "node:dgram";
import { dnsPacket } from "../../packages/dns/src/stub.js";

export { dataOf, query } from "../../packages/dns/src/stub.js";

export class FakeUpstream {
  private readonly sock: Socket = createSocket("udp4");
  readonly asked: string[] = [];

  async start(): Promise<number> {
    this.sock.on("message", (msg, rinfo) => {
      const q = dnsPacket.decode(msg);
      const question = q.questions![0]!;
      this.asked.push(question.name);
      const answers = question.type === "A" ? [{ name: question.name, type: "A" as const, ttl: 300, data: "192.0.2.53" }] : [];
      this.sock.send(dnsPacket.encode({ type: "response", id: q.id, flags: dnsPacket.RECURSION_AVAILABLE, questions: q.questions, answers }), rinfo.port, rinfo.address);
    });
    await new Promise<void>((r) => this.sock.bind(0, "127.0.0.1", () => r()));
    return this.sock.address().port;
  }

  close(): void {
    this.sock.close();
  }
}
