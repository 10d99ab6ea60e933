// throwaway: start a cluster (kv or etcd), run bench modes against leader, stop.
import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { promisify } from "node:util";
import { startKv } from "./test/support/kv-process.ts";
import { startEtcdCluster } from "./test/support/etcd-cluster.ts";
const run = promisify(execFile);
const [kind, nStr, ...modes] = process.argv.slice(2);
const n = Number(nStr);
const c: any = kind === "etcd" ? await startEtcdCluster({ members: n as 1 | 3 }) : await startKv({ members: n });
const cpu = (pid: number) => { const f = readFileSync(`/proc/${pid}/stat`, "utf8"); const p = f.slice(f.lastIndexOf(")") + 2).split(" "); return (Number(p[11]) + Number(p[12])) / 100; };
try {
  let ep = c.endpoints[0];
  let li = 0;
  for (let t = 0; t < 50; t++) {
    const st = await (await fetch(c.endpoints[0] + "/v3/maintenance/status", { method: "POST", body: "{}" })).json() as any;
    if (st.leader && st.leader !== "0") {
      for (let i = 0; i < c.endpoints.length; i++) {
        const s2 = await (await fetch(c.endpoints[i] + "/v3/maintenance/status", { method: "POST", body: "{}" })).json() as any;
        if (s2.header.member_id === st.leader) { ep = c.endpoints[i]; li = i; }
      }
      break;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  await run("node", [".tmpbench.mjs", "put", "16", "1"], { env: { ...process.env, TRANSPORT: "undici", EP: ep } });
  for (const m of modes) {
    const [mode, a, b] = m.split(":");
    const args = mode === "watch" ? ["watch", a ?? "500"] : [mode, a!, b ?? "5"];
    const c0 = c.pids.map(cpu); const t0 = performance.now();
    const out = (await run("node", [".tmpbench.mjs", ...args], { env: { ...process.env, TRANSPORT: "undici", EP: ep } })).stdout.trim();
    const el = (performance.now() - t0) / 1000;
    const cores = c.pids.map((p: number, i: number) => ((cpu(p) - c0[i]) / el).toFixed(2) + (i === li ? "L" : ""));
    const j = JSON.parse(out);
    if (mode === "watch") console.log(kind, n, "watch", j.putstart_to_event_p50_ms, j.putstart_to_event_p99_ms, "ack->ev p50", j.putack_to_event_p50_ms, "p99", j.putack_to_event_p99_ms, "before", j.events_before_put_ack, "recv", j.received);
    else console.log(kind, n, mode, a, "ops/s", j.ops_per_s, "p50", j.p50_ms, "p99", j.p99_ms, "err", j.errors, "client", j.client_cpu_cores, "srv", cores.join(" "));
  }
} finally {
  await c.stop();
}
