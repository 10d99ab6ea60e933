import { execFile, spawn } from "node:child_process";
import { promisify } from "node:util";
import { startKv } from "./test/support/kv-process.ts";
const c = await startKv({ members: Number(process.env.N ?? 3) });
try {
  let ep = c.endpoints[0]!; let li = 0;
  const st = await (await fetch(ep + "/v3/maintenance/status", { method: "POST", body: "{}" })).json() as any;
  for (let i = 0; i < c.endpoints.length; i++) {
    const s2 = await (await fetch(c.endpoints[i] + "/v3/maintenance/status", { method: "POST", body: "{}" })).json() as any;
    if (s2.header.member_id === st.leader) { ep = c.endpoints[i]!; li = i; }
  }
  const tr = c.pids.map((pid, i) => spawn("perf", ["trace", "-e", "fdatasync", "-o", `/tmp/strace-${i === li ? "L" : "F" + i}.txt`, "-p", String(pid)], { stdio: "ignore" }));
  await new Promise((r) => setTimeout(r, 1000));
  const out = (await promisify(execFile)("node", [".tmpbench.mjs", "put", "64", "3"], { env: { ...process.env, TRANSPORT: "undici", EP: ep } })).stdout.trim();
  console.log(out);
  for (const t of tr) t.kill("SIGINT");
  await new Promise((r) => setTimeout(r, 500));
} finally { await c.stop(); }
