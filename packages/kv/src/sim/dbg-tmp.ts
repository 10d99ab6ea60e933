import { runSeed, realMember } from "./run.js";
import type { MemberFactory } from "./cluster.js";
const f: MemberFactory = (cfg, deps) => {
  const log = deps.log;
  const save = log.save.bind(log);
  log.save = (b, sync) => {
    if (b.snapshot) console.log(`${cfg.name} save snapshot@${b.snapshot.meta.index} with ${b.entries.length} entries [${b.entries.map((e) => e.index).join(",")}] hs=${JSON.stringify(b.hardState)}`);
    return save(b, sync);
  };
  return realMember(cfg, deps);
};
const r = await runSeed({ seed: Number(process.argv[2]), members: Number(process.argv[3]), factory: f, memberLogs: false });
console.log(r.failure?.kind, r.failure?.message.split("\n")[0]);
