// Book 9.1-9.2: one kubelet (runKubelet) in a process of its own for the kubelet benchmark, so that its
// CPU time and RSS can be read from /proc. `corekube kubelet` has no flags for the runtime state dir,
// bridge, network or kubepods names, which the benchmark makes unique; a JSON file gives them here.
//
//   node --import tsx bench/kubelet/kubelet-process.ts <options.json>
//
// The file holds KubeletOptions (no `log`). Writes "bench-kubelet: ready" once the node is running;
// SIGTERM or SIGINT stops the kubelet (its pods keep running, as with the real one).
import { readFileSync } from "node:fs";
import { type KubeletOptions, runKubelet } from "@corekube/kubelet/kubelet";

const file = process.argv[2];
if (!file) {
  process.stderr.write("usage: kubelet-process.ts <options.json>\n");
  process.exit(2);
}
let opts: KubeletOptions;
try {
  opts = JSON.parse(readFileSync(file, "utf8")) as KubeletOptions;
  if (typeof opts?.nodeName !== "string" || opts.nodeName === "") throw new Error("it has no nodeName");
} catch (e) {
  process.stderr.write(`kubelet-process: cannot use ${file}: ${(e as Error).message}\n`);
  process.exit(2);
}

let stopping = false;
const stopped = new Promise<string>((resolve) => {
  process.once("SIGTERM", () => resolve("SIGTERM"));
  process.once("SIGINT", () => resolve("SIGINT"));
});
try {
  const kl = await runKubelet({ ...opts, log: (line) => process.stderr.write(`${line}\n`) });
  process.stderr.write("bench-kubelet: ready\n");
  const why = await stopped;
  stopping = true;
  process.stderr.write(`bench-kubelet: stopping (${why})\n`);
  await kl.stop();
  process.exit(0);
} catch (e) {
  process.stderr.write(`bench-kubelet: ${stopping ? "stop" : "start"} failed: ${(e as Error).stack ?? e}\n`);
  process.exit(1);
}
