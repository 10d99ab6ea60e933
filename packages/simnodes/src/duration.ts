// Book 2.3.2: Go-style durations ("300ms", "1.5s", "2m", "1h30m"), as Kubernetes tools write them,
// used by the simulated kubelet's run-duration annotation and the simulated-nodes flags.

const UNIT_MS: Record<string, number> = {
  ns: 1e-6,
  us: 1e-3,
  "µs": 1e-3,
  "μs": 1e-3,
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
};

/**
 * Parses a Go duration into milliseconds: a sequence of decimal numbers each with a unit (ns, us,
 * ms, s, m, h), e.g. "1.5s" or "1h2m3s"; "0" alone is allowed. Negative durations are refused.
 * Throws on anything else.
 */
export function parseGoDuration(text: string): number {
  const s = text.trim();
  if (s === "0") return 0;
  if (s === "") throw new Error("empty duration");
  const re = /(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)/y;
  let total = 0;
  let at = 0;
  while (at < s.length) {
    re.lastIndex = at;
    const m = re.exec(s);
    if (!m) throw new Error(`invalid duration "${text}" (expected e.g. 500ms, 1.5s, 2m or 1h30m)`);
    total += Number(m[1]) * UNIT_MS[m[2]!]!;
    at = re.lastIndex;
  }
  return total;
}
