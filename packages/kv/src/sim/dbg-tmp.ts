import { runSeed } from "./run.js";
import { report } from "./main-format.js";
const r = await runSeed({ seed: Number(process.argv[2]), members: Number(process.argv[3]), durationMs: Number(process.argv[4]), memberLogs: true });
console.log(report(r));
