import { kvctlMain } from "./packages/kv/src/kvctl/main.js";
import { startKv } from "./test/support/kv-process.js";
const kv = await startKv({ members: 1 });
const io = { stdout: (s: string | Uint8Array) => void process.stdout.write(s), stderr: (s: string) => void process.stderr.write(s) };
try {
  for (const a of [["member", "list"], ["endpoint", "status"], ["member", "add", "x", "--peer-urls", "http://127.0.0.1:25997", "--learner"], ["member", "list", "-w", "table"]]) {
    console.log("rc", await kvctlMain(["--endpoints", kv.endpoints[0]!, ...a], io));
  }
} finally { await kv.stop(); }
