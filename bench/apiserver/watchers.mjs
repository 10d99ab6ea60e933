// Book 11.2 and 12.3: one worker thread of the watch fan-out benchmark — it opens its share of the
// watch streams and, for every event, notes when it arrived against the time the writer put in the
// pod's annotation. Plain JavaScript: worker threads do not inherit tsx's loader.
import { parentPort, workerData } from "node:worker_threads";
import { Agent, request } from "undici";

/** Epoch milliseconds with sub-millisecond precision, comparable between threads. */
const nowMs = () => performance.timeOrigin + performance.now();
const SENT = /"bench\/sent":"([0-9.]+)"/;

async function main(cfg) {
  // TLS handshakes with client certificates cost the server milliseconds each: be patient with them.
  const agent = new Agent({ connect: { ...cfg.tls, timeout: 120_000 }, connections: cfg.count + 4, keepAliveTimeout: 600_000 });
  const latencies = [];
  let events = 0;
  const aborts = [];
  const openOne = async () => {
    const ac = new AbortController();
    aborts.push(ac);
    const r = await request(cfg.url + cfg.path, { dispatcher: agent, signal: ac.signal, headersTimeout: 60_000, bodyTimeout: 0 });
    if (r.statusCode !== 200) throw new Error(`watch: HTTP ${r.statusCode}: ${(await r.body.text()).slice(0, 200)}`);
    let buf = "";
    r.body.setEncoding("utf8");
    r.body.on("data", (chunk) => {
      const at = nowMs();
      buf += chunk;
      let nl;
      while ((nl = buf.indexOf("\n")) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        events++;
        const m = SENT.exec(line);
        if (m) latencies.push(at - Number(m[1]));
      }
    });
    r.body.on("error", () => undefined);
  };
  // At most 25 handshakes in flight per thread, so that none waits past its timeout in the backlog.
  const failed = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: 25 }, async () => {
      while (next < cfg.count) {
        next++;
        await openOne().catch((e) => failed.push({ reason: e }));
      }
    }),
  );
  parentPort.postMessage({ type: "ready", errors: failed.length, firstError: failed[0]?.reason?.message });
  parentPort.once("message", async () => {
    for (const ac of aborts) ac.abort();
    await agent.destroy().catch(() => undefined);
    parentPort.postMessage({ type: "done", latencies, events });
  });
}

if (parentPort && workerData) void main(workerData);
