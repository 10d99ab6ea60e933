// throwaway A/B: interleave configs; each: start cluster, run modes against the leader, stop.
import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { promisify } from "node:util";
import { loadavg } from "node:os";
const run = promisify(execFile);
const reps = Number(process.env.REPS ?? 3);
const configs = (process.env.CONFIGS ?? "base:3,new:3,etcd:3").split(",");
const modes = (process.env.MODES ?? "put:64:5,put:1:3").split(",");
const results: Record<string, Record<string, number[]>> = {};
for (let r = 0; r < reps; r++) {
  for (const cfg of configs) {
    const [kind, n, env] = cfg.split(":");
    const root = kind === "base" ? "/tmp/kvbase" : "/work/main";
    const mod = kind === "etcd" ? await import("/work/main/test/support/etcd-cluster.ts") : await import(root + "/test/support/kv-process.ts");
    if (env) for (const kv of env.split("+")) { const [k, v] = kv.split("="); process.env[k!] = v; }
    const c: any = kind === "etcd" ? await mod.startEtcdCluster({ members: Number(n) }) : await mod.startKv({ members: Number(n) });
    if (env) for (const kv of env.split("+")) delete process.env[kv.split("=")[0]!];
    try {
      let ep = c.endpoints[0];
      for (let t = 0; t < 50; t++) {
        const st = await (await fetch(c.endpoints[0] + "/v3/maintenance/status", { method: "POST", body: "{}" })).json() as any;
        if (st.leader && st.leader !== "0") {
          for (let i = 0; i < c.endpoints.length; i++) {
            const s2 = await (await fetch(c.endpoints[i] + "/v3/maintenance/status", { method: "POST", body: "{}" })).json() as any;
            if (s2.header.member_id === st.leader) ep = c.endpoints[i];
          }
          break;
        }
        await new Promise((r) => setTimeout(r, 200));
      }
      await run("node", [".tmpbench.mjs", "put", "16", "1"], { env: { ...process.env, TRANSPORT: "undici", EP: ep } });
      const line: string[] = [];
      for (const m of modes) {
        const [mode, a, b] = m.split(":");
        const args = mode === "watch" ? ["watch", a ?? "500"] : [mode, a!, b ?? "5"];
        const j = JSON.parse((await run("node", [".tmpbench.mjs", ...args], { env: { ...process.env, TRANSPORT: "undici", EP: ep } })).stdout.trim());
        const key = cfg + " " + m;
        results[key] ??= {};
        const add = (k: string, v: number) => ((results[key]![k] ??= []).push(v));
        if (mode === "watch") { add("p50", j.putstart_to_event_p50_ms); add("p99", j.putstart_to_event_p99_ms); add("ack_p50", j.putack_to_event_p50_ms); add("before", j.events_before_put_ack); line.push(`watch p50 ${j.putstart_to_event_p50_ms} p99 ${j.putstart_to_event_p99_ms} ack->ev ${j.putack_to_event_p50_ms} before ${j.events_before_put_ack}/${j.received}`); }
        else { add("ops", j.ops_per_s); add("p50", j.p50_ms); add("p99", j.p99_ms); line.push(`${m} ${j.ops_per_s}/s p50 ${j.p50_ms} p99 ${j.p99_ms}${j.errors ? " ERR " + j.errors : ""}`); }
      }
      console.log(`rep ${r} ${cfg.padEnd(12)} load ${loadavg()[0]!.toFixed(1)} | ${line.join(" | ")}`);
    } finally { await c.stop(); }
  }
}
const med = (a: number[]) => { const s = [...a].sort((x, y) => x - y); return s[s.length >> 1]!; };
for (const [k, v] of Object.entries(results)) console.log("MEDIAN", k.padEnd(24), Object.entries(v).map(([m, a]) => `${m} ${med(a)} [${Math.min(...a)}-${Math.max(...a)}]`).join("  "));
