// Book 11.2 and 12.8: a CPU profiler for benchmark runs — loaded with --import into the apiserver
// and storage processes (NODE_OPTIONS refuses --cpu-prof), it writes <dir>/<pid>-<command>.cpuprofile
// when the process exits. The directory comes from COREKUBE_CPU_PROFILE_DIR.
import { writeFileSync } from "node:fs";
import { Session } from "node:inspector";
import { join } from "node:path";

const dir = process.env.COREKUBE_CPU_PROFILE_DIR;
if (dir) {
  const session = new Session();
  session.connect();
  session.post("Profiler.enable");
  session.post("Profiler.setSamplingInterval", { interval: 200 });
  session.post("Profiler.start");
  process.once("exit", () => {
    // The in-process inspector answers synchronously, so this works inside an exit handler.
    session.post("Profiler.stop", (err, res) => {
      if (err || !res) return;
      const command = process.argv.find((a) => ["apiserver", "kv", "scheduler"].includes(a)) ?? "node";
      writeFileSync(join(dir, `${process.pid}-${command}.cpuprofile`), JSON.stringify(res.profile));
    });
  });
}
