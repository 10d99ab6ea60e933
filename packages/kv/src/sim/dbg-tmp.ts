import { runSeed, realMember } from "./run.js";
import type { MemberFactory, SimMember } from "./cluster.js";
import { describeOp } from "./history.js";
let n = 0; const fakes: string[] = [];
const f: MemberFactory = async (cfg, deps) => {
  const m = await realMember(cfg, deps);
  return new Proxy(m, { get(t, p, r) {
    if (p === "put") return async (req: any) => { if (++n % 7 === 0) { fakes.push(req.value); return { header: { ...t.header(), revision: t.header().revision + 1 } }; } return t.put(req); };
    const v = Reflect.get(t, p, r) as any; return typeof v === "function" ? v.bind(t) : v; } }) as SimMember;
};
const seed = Number(process.argv[2]);
const r = await runSeed({ seed, members: 3, durationMs: 5000, factory: f, keepHistory: true, memberLogs: false });
console.log(r.ok, r.failure?.kind, fakes, JSON.stringify(r.stats));
for (const op of r.history!) if (fakes.includes((op.input as any).value)) console.log(describeOp(op));
