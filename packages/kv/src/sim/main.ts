// Book 12.9: the simulator's command line. `pnpm -F @corekube/kv sim --seeds 100 [--members 3|5]
// [--start S]` runs many seeds; `--seed S` replays one (add --verbose for its whole trace).
// One line per seed; a failure prints the seed, the broken invariant and the trace's tail.
import { report, summary } from "./main-format.js";
import { runSeed } from "./run.js";

interface Args {
  seeds: number;
  start: number;
  seed?: number;
  members?: number;
  durationMs?: number;
  verbose: boolean;
  faults: boolean;
  buggify: boolean;
}

function parse(argv: string[]): Args {
  const a: Args = { seeds: 20, start: 1, verbose: false, faults: true, buggify: true };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const [flag, inline] = arg.includes("=") ? [arg.slice(0, arg.indexOf("=")), arg.slice(arg.indexOf("=") + 1)] : [arg, undefined];
    const value = (): number => {
      const v = inline ?? argv[++i];
      const n = Number(v);
      if (v === undefined || !Number.isFinite(n)) throw new Error(`${flag} needs a number`);
      return n;
    };
    switch (flag) {
      case "--seeds": a.seeds = value(); break;
      case "--start": a.start = value(); break;
      case "--seed": a.seed = value(); break;
      case "--members": a.members = value(); break;
      case "--duration": a.durationMs = value() * 1000; break;
      case "--verbose": case "-v": a.verbose = true; break;
      case "--no-faults": a.faults = false; break;
      case "--no-buggify": a.buggify = false; break;
      case "--help": case "-h":
        console.log("usage: sim [--seeds N] [--start S] [--seed S] [--members 3|5] [--duration SECONDS] [--verbose] [--no-faults] [--no-buggify]");
        process.exit(0);
        break;
      default:
        throw new Error(`unknown flag ${arg}`);
    }
  }
  if (a.members !== undefined && a.members !== 3 && a.members !== 5) throw new Error("--members must be 3 or 5");
  return a;
}

async function main(): Promise<void> {
  const a = parse(process.argv.slice(2));
  const seeds = a.seed !== undefined ? [a.seed] : Array.from({ length: a.seeds }, (_, i) => a.start + i);
  let failed = 0;
  const t0 = performance.now();
  for (const seed of seeds) {
    const members = a.members ?? (seed % 2 === 0 ? 5 : 3);
    const r = await runSeed({ seed, members, verbose: a.verbose, faults: a.faults, buggify: a.buggify, ...(a.durationMs ? { durationMs: a.durationMs } : {}) });
    console.log(summary(r));
    if (!r.ok) {
      failed++;
      console.log(report(r));
    }
  }
  console.log(`${seeds.length} seeds, ${failed} failed, ${((performance.now() - t0) / 1000).toFixed(1)}s`);
  process.exit(failed > 0 ? 1 : 0);
}

void main().catch((err: unknown) => {
  console.error(err);
  process.exit(2);
});
