// Book 10.1 and 5.2: kube-proxy iptables-mode benchmark: full and one-Service partial syncs for 1,000 and
// 10,000 Services × 2 endpoints, on iptables-nft and iptables-legacy, each in a fresh network namespace
// (the host's tables are never touched). Prints figures against our targets and node-anchors.md; no asserts.
//
//   pnpm bench:proxy            (root; sizes with PROXY_BENCH_SIZES=1000,10000; PROXY_BENCH_RESYNC=0 skips
//                                the all-chains full resync, which takes ~45 s at 10k on iptables-nft)
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { Iptables } from "../../packages/proxy/src/iptables.js";
import { Proxier } from "../../packages/proxy/src/proxier.js";
import { partialRestoreText, render } from "../../packages/proxy/src/render.js";
import { endpoint, service, slice } from "../../packages/proxy/src/testing.js";
import type { ProxyEndpointSlice, ProxyService } from "../../packages/proxy/src/types.js";

const TARGET_FULL_1K_MS = 1000;
const TARGET_PARTIAL_MS = 50;
// node-anchors.md §2 (this machine, hand-written restore input, 8 rules and 3 chains per Service).
const ANCHORS: Record<string, { empty: number; resync: number; partial: number }> = {
  "nft/1000": { empty: 272, resync: 408, partial: 29 },
  "legacy/1000": { empty: 79, resync: 103, partial: 50 },
  "nft/10000": { empty: 2619, resync: 45363, partial: 31 },
  "legacy/10000": { empty: 813, resync: 905, partial: 450 },
};

const sizes = (process.env.PROXY_BENCH_SIZES ?? "1000,10000").split(",").map(Number);
const doResync = process.env.PROXY_BENCH_RESYNC !== "0";

if (process.platform !== "linux" || process.getuid?.() !== 0) {
  console.log("bench:proxy needs Linux and root (it makes network namespaces); skipped");
  process.exit(0);
}

function sh(cmd: string, args: string[]): boolean {
  try {
    execFileSync(cmd, args, { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

function objects(n: number): { services: ProxyService[]; slices: ProxyEndpointSlice[] } {
  const services: ProxyService[] = [];
  const slices: ProxyEndpointSlice[] = [];
  for (let i = 0; i < n; i++) {
    const name = `svc-${i}`;
    services.push(service("bench", name, { clusterIP: `10.96.${i >> 8}.${i & 255}`, ports: [{ name: "http", port: 80, protocol: "TCP" }] }));
    slices.push(epSlice(name, i, 0));
  }
  return { services, slices };
}

function epSlice(name: string, i: number, generation: number): ProxyEndpointSlice {
  const base = 2 * i;
  const ip = (k: number) => `10.${128 + generation}.${k >> 8}.${k & 255}`;
  return slice("bench", name, `${name}-1`, [{ name: "http", port: 8080, protocol: "TCP" }], [endpoint(ip(base)), endpoint(ip(base + 1))]);
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const ms = (x: number) => `${x.toFixed(x < 10 ? 1 : 0)} ms`;
const ratio = (x: number, ref: number) => `${(x / ref).toFixed(2)}×`;

async function timed<T>(fn: () => Promise<T>): Promise<[T, number]> {
  const t = performance.now();
  const v = await fn();
  return [v, performance.now() - t];
}

async function benchOne(backend: "nft" | "legacy", n: number): Promise<void> {
  const ns = `ck-pxb-${randomBytes(3).toString("hex")}`;
  execFileSync("ip", ["netns", "add", ns]);
  try {
    const iptables = await Iptables.create({ backend, wrap: ["ip", "netns", "exec", ns] });
    const { services, slices } = objects(n);
    const node = { nodeName: "node-a", clusterCIDR: "10.128.0.0/9" };
    const t0 = performance.now();
    render(services, slices, node);
    const renderMs = performance.now() - t0;

    const make = () => {
      const p = new Proxier({ iptables, node, minSyncPeriodMs: 3_600_000, syncPeriodMs: 3_600_000 });
      for (const s of services) p.upsertService(s);
      for (const s of slices) p.upsertSlice(s);
      return p;
    };
    // 1. The first sync on an empty node (jumps ensured, leftovers listed, everything written).
    const proxier = make();
    const [first, fullMs] = await timed(() => proxier.syncNow());
    if (first.error) throw first.error;

    // 2. One Service's endpoints change: render everything, diff, restore one Service's chains.
    const partial: number[] = [];
    for (let g = 1; g <= 5; g++) {
      const i = Math.floor((g * n) / 7);
      proxier.upsertSlice(epSlice(`svc-${i}`, i, g));
      const [o, t] = await timed(() => proxier.syncNow());
      if (o.error || o.kind !== "partial") throw o.error ?? new Error(`expected a partial sync, got ${o.kind}`);
      partial.push(t);
    }
    const partialMs = median(partial);

    // 2b. The bare iptables-restore of one Service's chains (no render, no diff), to see our own overhead.
    const bare: number[] = [];
    for (let g = 1; g <= 5; g++) {
      const i = Math.floor((g * n) / 7);
      slices[i] = epSlice(`svc-${i}`, i, g);
    }
    let prev = render(services, slices, node).rendering;
    for (let g = 6; g <= 10; g++) {
      const i = Math.floor((g * n) / 11);
      slices[i] = epSlice(`svc-${i}`, i, g);
      const next = render(services, slices, node).rendering;
      const text = partialRestoreText(prev, next);
      bare.push((await timed(() => iptables.restore(text)))[1]);
      prev = next;
      proxier.upsertSlice(slices[i]!); // keeps the proxier's idea of the host right for step 3
    }
    const bareMs = median(bare);

    // 3. A full resync over existing rules (restart, or the periodic full sync): every chain redeclared.
    let resyncMs: number | undefined;
    if (doResync) {
      const again = make();
      for (const sl of slices) again.upsertSlice(sl);
      const [o, t] = await timed(() => again.syncNow());
      if (o.error || o.kind !== "full") throw o.error ?? new Error("expected a full sync");
      resyncMs = t;
    }

    const a = ANCHORS[`${backend}/${n}`];
    console.log(`\niptables-${backend}, ${n} Services × 2 endpoints (${n * 8 + 5} nat rules, ${n * 3 + 4} nat chains)`);
    console.log(`  render (pure, all Services)          ${ms(renderMs)}`);
    console.log(
      `  first full sync (empty netns)        ${ms(fullMs)}` +
        (a ? `   anchor ${ms(a.empty)} (${ratio(fullMs, a.empty)})` : "") +
        (n === 1000 ? `   target ≤ ${TARGET_FULL_1K_MS} ms (${ratio(fullMs, TARGET_FULL_1K_MS)})` : ""),
    );
    console.log(
      `  one-Service update (median of 5)     ${ms(partialMs)}` +
        (a ? `   anchor ${ms(a.partial)} (${ratio(partialMs, a.partial)})` : "") +
        `   target ≤ ${TARGET_PARTIAL_MS} ms (${ratio(partialMs, TARGET_PARTIAL_MS)})   [all: ${partial.map((x) => x.toFixed(0)).join(", ")}]`,
    );
    console.log(`  bare restore of one Service's chains  ${ms(bareMs)}   (so render + diff + spawn cost ${ms(partialMs - bareMs)})`);
    if (resyncMs !== undefined)
      console.log(`  full resync over existing rules      ${ms(resyncMs)}` + (a ? `   anchor ${ms(a.resync)} (${ratio(resyncMs, a.resync)})` : ""));
  } finally {
    execFileSync("ip", ["netns", "del", ns]);
  }
}

async function main(): Promise<void> {
  const backends: ("nft" | "legacy")[] = ["nft"];
  const probe = `ck-pxb-probe-${randomBytes(2).toString("hex")}`;
  execFileSync("ip", ["netns", "add", probe]);
  const legacy = sh("ip", ["netns", "exec", probe, "iptables-legacy", "-t", "nat", "-S"]);
  execFileSync("ip", ["netns", "del", probe]);
  if (legacy) backends.push("legacy");
  else console.log("iptables-legacy unavailable: legacy skipped");
  console.log(`bench:proxy on ${process.version}; sizes ${sizes.join(", ")}; full resync ${doResync ? "on" : "off"}`);
  for (const n of sizes) for (const b of backends) await benchOne(b, n);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
