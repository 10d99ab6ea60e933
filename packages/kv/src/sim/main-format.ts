// Book 12.9: how the simulator prints a run: one summary line per seed, and for a failure the
// seed, the broken invariant, the replay command and the tail of the trace.
import type { SimResult } from "./run.js";

export function summary(r: SimResult): string {
  const s = r.stats;
  const head = `seed ${r.seed} members=${r.members} ${r.ok ? "ok  " : "FAIL"}`;
  const body = `ops=${s.ops ?? "?"} indet=${s.indeterminate ?? "?"} unresolved=${s.unresolved ?? "?"} rev=${s.revision ?? "?"} terms=${s.terms ?? "?"} crashes=${s.crashes} torn=${s.torn} watches=${s.watches ?? "?"} wevents=${s.watchEvents ?? "?"} steps=${s.events} recovered=${s.recoveredMs ?? "?"}ms lin=${s.linearizable ?? "?"}`;
  return `${head} ${body} virtual=${(r.virtualMs / 1000).toFixed(1)}s wall=${r.wallMs}ms fp=${r.fingerprint}`;
}

export function report(r: SimResult): string {
  if (!r.failure) return "";
  return [
    `  seed ${r.seed} (members ${r.members}) broke: ${r.failure.kind}`,
    ...r.failure.message.split("\n").map((l) => `  ${l}`),
    `  replay: pnpm -F @corekube/kv sim --seed ${r.seed} --members ${r.members} --verbose`,
    "  trace (last lines):",
    ...r.failure.trace.map((l) => `    ${l}`),
  ].join("\n");
}
