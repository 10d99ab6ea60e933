import { execFileSync } from "node:child_process";
import { startKv } from "./test/support/kv-process.ts";
process.env.KV_TRACE = "1";
const c = await startKv({ members: Number(process.env.N ?? 3) });
try {
  let ep = c.endpoints[0]!;
  const st = await (await fetch(ep + "/v3/maintenance/status", { method: "POST", body: "{}" })).json() as any;
  let li = 0;
  for (let i = 0; i < c.endpoints.length; i++) {
    const s2 = await (await fetch(c.endpoints[i] + "/v3/maintenance/status", { method: "POST", body: "{}" })).json() as any;
    if (s2.header.member_id === st.leader) { ep = c.endpoints[i]!; li = i; }
  }
  for (const m of c.members) m.log.length = 0;
  const args = (process.argv[2] ?? "put:1:2").split(":");
  const out = (await (await import("node:util")).promisify((await import("node:child_process")).execFile)("node", [".tmpbench.mjs", ...args], { env: { ...process.env, KV_TRACE: "", TRANSPORT: "undici", EP: ep } })).stdout.trim();
  console.log(out);
  const { writeFileSync } = await import("node:fs");
  c.members.forEach((m, i) => writeFileSync(`/tmp/trace-${i === li ? "L" : "F" + i}.log`, m.log.join("")));
} finally { await c.stop(); }
