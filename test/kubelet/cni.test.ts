// Book 5.3-5.4 and 6.2: the kubelet's CNI client driving real plugins as root in real network namespaces:
// our corekube-bridge and Debian's reference bridge + host-local. Traffic stays on the node: pings go only
// to addresses in namespaces this test made, and a tripwire drops pod-range packets on the uplink.
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CniClient, type PodNetworkRequest } from "../../packages/kubelet/src/cni/client.js";
import { nodeNetworkConfig, writeNodeConflist } from "../../packages/kubelet/src/cni/conf.js";
import { ensureEgressGuard, removePodNat } from "../../packages/kubelet/src/cni/bridge/netfilter.js";
import { cmdAdd, cmdDel, parseBridgeConfig, removeBridgeNetwork } from "../../packages/kubelet/src/cni/bridge/plugin.js";
import { CniError, type NetworkConfigList, type Result } from "../../packages/kubelet/src/cni/spec.js";

const sh = promisify(execFile);
async function run(cmd: string, ...args: string[]): Promise<string> {
  return (await sh(cmd, args)).stdout;
}
async function tryRun(cmd: string, ...args: string[]): Promise<boolean> {
  try {
    await sh(cmd, args);
    return true;
  } catch {
    return false;
  }
}
function which(cmd: string): boolean {
  return ["/usr/sbin", "/usr/bin", "/sbin", "/bin"].some((d) => existsSync(join(d, cmd)));
}

const REF_DIR = "/usr/lib/cni";
const missing = [
  process.getuid?.() !== 0 ? "root" : "",
  ...["ip", "iptables", "busybox", "nsenter"].filter((c) => !which(c)),
  existsSync(join(REF_DIR, "bridge")) ? "" : `${REF_DIR}/bridge (containernetworking-plugins)`,
].filter(Boolean);
if (missing.length) console.warn(`skipping CNI integration tests; missing: ${missing.join(", ")}`);

const r = randomBytes(3).toString("hex");
const oct = Number.parseInt(r.slice(0, 2), 16);
const ns = (s: string) => `ck-test-${r}-${s}`;
const nsPath = (s: string) => `/var/run/netns/${ns(s)}`;
const OUR = { net: `ck-test-${r}`, bridge: `ckb${r}`, cidr: `10.213.${oct}.0/24`, gw: `10.213.${oct}.1` };
const REF = { net: `ck-ref-${r}`, bridge: `ckr${r}`, cidr: `10.214.${oct}.0/24`, gw: `10.214.${oct}.1` };
// An "outside" namespace reachable from the node, standing in for a destination beyond the pod range.
const EXT = { hostIf: `ckx${r}`, hostIp: `10.215.${oct}.1`, allowed: `10.215.${oct}.2`, denied: `10.215.${oct}.3` };
const BIN_DIRS = [resolve("packages/kubelet/bin"), REF_DIR];
const TRIPWIRE = ["-m", "comment", "--comment", `ck-test-${r} tripwire`, "-j", "DROP"];

let work: string;
let uplink: string | undefined;
let ipForwardBefore = "0";
let tablesBefore = "";
const created = { netns: [] as string[] };

function pod(s: string, id = `ck-${r}-${s}`): PodNetworkRequest {
  return { containerId: id, netns: nsPath(s), podNamespace: "default", podName: `pod-${s}`, podUid: `uid-${r}-${s}` };
}
async function addNetns(s: string): Promise<void> {
  await run("ip", "netns", "add", ns(s));
  created.netns.push(ns(s));
}
async function ping(from: string | null, to: string): Promise<boolean> {
  const argv = ["busybox", "ping", "-c", "1", "-W", "2", to];
  return from ? tryRun("ip", "netns", "exec", ns(from), ...argv) : tryRun(argv[0] as string, ...argv.slice(1));
}
function podIp(res: Result): string {
  const a = res.ips?.[0]?.address;
  if (!a) throw new Error(`no IP in result ${JSON.stringify(res)}`);
  return a.split("/")[0] as string;
}
function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return (s[(s.length - 1) >> 1]! + s[s.length >> 1]!) / 2;
}
function linkGone(name: string): boolean {
  return !existsSync(`/sys/class/net/${name}`);
}
async function guardDrops(): Promise<number> {
  const out = await run("iptables", "-w", "5", "-t", "mangle", "-L", "CORE-EGRESS-GUARD", "-v", "-n", "-x");
  const line = out.split("\n").find((l) => l.includes("DROP") && l.includes(OUR.cidr));
  return Number(line?.trim().split(/\s+/)[0] ?? 0);
}

describe.skipIf(missing.length > 0)("CNI on a real node", () => {
  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), `ck-cni-${r}-`));
    ipForwardBefore = (await readFile("/proc/sys/net/ipv4/ip_forward", "utf8")).trim();
    tablesBefore = which("nft") ? await run("nft", "list", "tables") : "";
    // Tripwire: whatever a plugin does, pod-range packets never leave through the uplink.
    uplink = /dev (\S+)/.exec(await run("ip", "-o", "route", "show", "default"))?.[1];
    if (uplink) {
      for (const cidr of ["10.213.0.0/16", "10.214.0.0/16"]) {
        await run("iptables", "-w", "5", "-t", "mangle", "-I", "POSTROUTING", "-o", uplink, "-s", cidr, ...TRIPWIRE);
      }
    }
    for (const s of ["a", "b", "c", "d", "e", "x"]) await addNetns(s);
    await run("ip", "link", "add", EXT.hostIf, "type", "veth", "peer", "name", "eth0", "netns", nsPath("x"));
    await run("ip", "addr", "add", `${EXT.hostIp}/29`, "dev", EXT.hostIf);
    await run("ip", "link", "set", EXT.hostIf, "up");
    await run("ip", "-n", ns("x"), "addr", "add", `${EXT.allowed}/29`, "dev", "eth0");
    await run("ip", "-n", ns("x"), "addr", "add", `${EXT.denied}/29`, "dev", "eth0");
    await run("ip", "-n", ns("x"), "link", "set", "eth0", "up");
    await run("ip", "-n", ns("x"), "link", "set", "lo", "up");
    // ns x has no route back to the pod ranges: a reply reaches a pod only if its traffic was masqueraded.
  });

  afterAll(async () => {
    const errors: string[] = [];
    const step = async (what: string, fn: () => Promise<unknown>) => {
      try {
        await fn();
      } catch (e) {
        errors.push(`${what}: ${(e as Error).message}`);
      }
    };
    for (const n of created.netns) await step(`netns ${n}`, () => run("ip", "netns", "del", n));
    // Deleting netns x destroys the ext veth pair too (asynchronously), so a missing link is fine here.
    await step("ext link", async () => (linkGone(EXT.hostIf) ? undefined : run("ip", "link", "del", EXT.hostIf).catch(() => undefined)));
    await step("our network", () =>
      removeBridgeNetwork({ ...nodeNetworkConfig(ourOptions()).plugins[0], name: OUR.net, cniVersion: "1.0.0" }),
    );
    for (const br of [REF.bridge, `ckz${r}`]) await step(`bridge ${br}`, async () => (linkGone(br) ? undefined : run("ip", "link", "del", br)));
    await step("ref guard", () => removePodNat({ network: REF.net, podCIDR: REF.cidr, ipMasq: false }));
    if (uplink) {
      for (const cidr of ["10.213.0.0/16", "10.214.0.0/16"]) {
        await step("tripwire", () => run("iptables", "-w", "5", "-t", "mangle", "-D", "POSTROUTING", "-o", uplink as string, "-s", cidr, ...TRIPWIRE));
      }
    }
    // iptables-nft leaves the tables it created; drop those that did not exist before and are now empty.
    if (which("nft")) {
      for (const table of ["mangle", "nat"]) {
        await step(`table ${table}`, async () => {
          if (tablesBefore.includes(`table ip ${table}\n`)) return;
          const rules = await run("iptables-save", "-t", table);
          if (/^-A |^:(?!PREROUTING|INPUT|FORWARD|OUTPUT|POSTROUTING)/m.test(rules)) return;
          await run("nft", "delete", "table", "ip", table);
        });
      }
    }
    await step("ip_forward", () => writeFile("/proc/sys/net/ipv4/ip_forward", ipForwardBefore));
    if (work) await step("work dir", () => rm(work, { recursive: true, force: true }));
    if (errors.length) throw new Error(`cleanup failed: ${errors.join("; ")}`);
  });

  function ourOptions() {
    return {
      podCIDR: OUR.cidr,
      networkName: OUR.net,
      bridge: OUR.bridge,
      ipamDataDir: join(work, "leases"),
      egressAllow: [`${EXT.allowed}/32`],
    };
  }

  it("corekube-bridge: ADD gives each pod eth0, an IP and a default route; pods and host reach each other; DEL cleans up", async () => {
    const confDir = join(work, "net.d");
    await writeNodeConflist(confDir, ourOptions());
    const client = new CniClient({ confDir, binDirs: BIN_DIRS, cacheDir: join(work, "cache") });

    const resA = await client.add(pod("a"));
    const resB = await client.add(pod("b"));
    const ipA = podIp(resA);
    const ipB = podIp(resB);
    expect(ipA).not.toBe(ipB);
    for (const [s, res, ipX] of [["a", resA, ipA], ["b", resB, ipB]] as const) {
      expect(ipX.startsWith(`10.213.${oct}.`)).toBe(true);
      expect(res.ips?.[0]?.gateway).toBe(OUR.gw);
      expect(res.interfaces?.[res.ips?.[0]?.interface ?? -1]).toMatchObject({ name: "eth0", sandbox: nsPath(s) });
      expect(await run("ip", "-n", ns(s), "-o", "-4", "addr", "show", "dev", "eth0")).toContain(`${ipX}/24`);
      expect(await run("ip", "-n", ns(s), "route", "show", "default")).toContain(`via ${OUR.gw} dev eth0`);
      expect(await run("ip", "-n", ns(s), "link", "show", "lo")).toMatch(/state UNKNOWN|,UP/);
      const hostVeth = res.interfaces?.[1]?.name as string;
      expect((await readFile(`/sys/class/net/${hostVeth}/brport/hairpin_mode`, "utf8")).trim()).toBe("1");
      expect(await readFile(join(work, "leases", OUR.net, ipX), "utf8")).toContain(`ck-${r}-${s}`);
    }
    expect(await run("ip", "-o", "-4", "addr", "show", "dev", OUR.bridge)).toContain(`${OUR.gw}/24`);
    expect((await readFile("/proc/sys/net/ipv4/ip_forward", "utf8")).trim()).toBe("1");

    expect(await ping("a", ipB)).toBe(true);
    expect(await ping("b", ipA)).toBe(true);
    expect(await ping(null, ipA)).toBe(true);
    expect(await ping(null, ipB)).toBe(true);

    // Masquerade to an allowed destination outside the pod range; the guard drops the rest.
    expect(await ping("a", EXT.allowed)).toBe(true);
    const dropsBefore = await guardDrops();
    expect(await ping("a", EXT.denied)).toBe(false);
    expect(await guardDrops()).toBeGreaterThan(dropsBefore);

    await client.check(pod("a"));
    await run("ip", "-n", ns("b"), "route", "del", "default");
    await expect(client.check(pod("b"))).rejects.toMatchObject({ code: 101, msg: expect.stringMatching(/no default route/) });

    const vethA = resA.interfaces?.[1]?.name as string;
    const vethB = resB.interfaces?.[1]?.name as string;
    await client.del(pod("a"));
    await client.del(pod("b"));
    expect(linkGone(vethA) && linkGone(vethB)).toBe(true);
    expect((await readdir(join(work, "leases", OUR.net))).filter((f) => /^\d/.test(f))).toEqual([]);
    expect(await client.cachedResult(pod("a").containerId)).toBeUndefined();
    await client.del(pod("a")); // idempotent
    expect(await ping(null, ipA)).toBe(false);
  });

  it("Debian's reference bridge + host-local through the same client", async () => {
    // Reference bridge with isGateway turns on forwarding; install the egress guard for its range first.
    await ensureEgressGuard({ network: REF.net, podCIDR: REF.cidr });
    const confDir = join(work, "net.d-ref");
    const dataDir = join(work, "host-local");
    await writeNodeConflist(confDir, { podCIDR: REF.cidr, plugins: "reference", networkName: REF.net, bridge: REF.bridge, ipamDataDir: dataDir });
    const client = new CniClient({ confDir, binDirs: BIN_DIRS, cacheDir: join(work, "cache-ref") });
    const resC = await client.add(pod("c"));
    const resD = await client.add(pod("d"));
    const ipC = podIp(resC);
    const ipD = podIp(resD);
    expect(ipC.startsWith(`10.214.${oct}.`) && ipD.startsWith(`10.214.${oct}.`)).toBe(true);
    expect(await run("ip", "-n", ns("c"), "route", "show", "default")).toContain(`via ${REF.gw}`);
    expect(await run("ip", "-n", ns("c"), "link", "show", "lo")).toMatch(/UP/);
    expect(await ping("c", ipD)).toBe(true);
    expect(await ping(null, ipC)).toBe(true);
    expect(await ping(null, ipD)).toBe(true);
    await client.check(pod("c"));
    const vethC = resC.interfaces?.[1]?.name as string;
    await client.del(pod("c"));
    await client.del(pod("d"));
    expect(linkGone(vethC)).toBe(true);
    expect((await readdir(join(dataDir, REF.net))).filter((f) => /^\d/.test(f))).toEqual([]);
  });

  it("a bad config comes back as a CniError carrying the plugin's message", async () => {
    const bad = (plugin: Record<string, unknown>): NetworkConfigList => ({ cniVersion: "1.0.0", name: `ck-bad-${r}`, plugins: [plugin as { type: string }] });
    const ours = new CniClient({ networkConfig: bad({ type: "corekube-bridge", bridge: "this-name-is-too-long", podCIDR: "10.213.0.0/24" }), binDirs: BIN_DIRS, cacheDir: join(work, "cache-bad") });
    const e1 = await ours.add(pod("e", `ck-${r}-bad1`)).catch((e: unknown) => e);
    expect(e1).toBeInstanceOf(CniError);
    expect(e1).toMatchObject({ code: 7, plugin: "corekube-bridge", msg: expect.stringMatching(/"bridge" must be an interface name/) });
    const theirs = new CniClient({ networkConfig: bad({ type: "bridge", bridge: `ckz${r}`, ipam: { type: "host-local", subnet: "not-a-cidr" } }), binDirs: BIN_DIRS, cacheDir: join(work, "cache-bad") });
    // (Debian's bridge creates its bridge and veth before IPAM fails; teardown removes them.)
    const e2 = await theirs.add(pod("e", `ck-${r}-bad2`)).catch((e: unknown) => e);
    expect(e2).toBeInstanceOf(CniError);
    expect((e2 as CniError).plugin).toBe("bridge");
    expect((e2 as CniError).msg).toMatch(/not-a-cidr|invalid CIDR/i);
  });

  it("measures ADD and DEL (median of 10) for corekube-bridge and Debian's bridge", async () => {
    const one = (plugin: Record<string, unknown>, name: string): NetworkConfigList => ({ cniVersion: "1.0.0", name, plugins: [plugin as { type: string }] });
    const ourList = nodeNetworkConfig(ourOptions());
    const refList = nodeNetworkConfig({ podCIDR: REF.cidr, plugins: "reference", networkName: REF.net, bridge: REF.bridge, ipamDataDir: join(work, "host-local") });
    const rows: string[] = [];
    for (const [label, list] of [
      ["corekube-bridge", one(ourList.plugins[0] as Record<string, unknown>, OUR.net)],
      ["debian bridge+host-local", one(refList.plugins[0] as Record<string, unknown>, REF.net)],
    ] as const) {
      const client = new CniClient({ networkConfig: list, binDirs: BIN_DIRS, cacheDir: join(work, "cache-bench") });
      const adds: number[] = [];
      const dels: number[] = [];
      for (let i = 0; i < 12; i++) {
        const req = pod("a", `ck-${r}-bench${i}`);
        let t = performance.now();
        await client.add(req);
        const add = performance.now() - t;
        t = performance.now();
        await client.del(req);
        const del = performance.now() - t;
        if (i >= 2) {
          adds.push(add);
          dels.push(del);
        }
      }
      expect(await run("ip", "-n", ns("a"), "link", "show")).not.toContain("eth0");
      rows.push(`${label}: ADD median ${median(adds).toFixed(1)} ms, DEL median ${median(dels).toFixed(1)} ms (n=10 after 2 warm-up)`);
    }
    // Where corekube-bridge's time goes: the same ADD/DEL in this process (no plugin start), and a bare
    // `node -e 0` start, which every exec of a TypeScript plugin pays.
    const cfg = parseBridgeConfig({ ...ourList.plugins[0], name: OUR.net, cniVersion: "1.0.0" });
    const inAdd: number[] = [];
    const inDel: number[] = [];
    const nodeStart: number[] = [];
    for (let i = 0; i < 12; i++) {
      const env = { command: "ADD", containerId: `ck-${r}-inproc${i}`, netns: nsPath("a"), ifName: "eth0" };
      let t = performance.now();
      await cmdAdd(cfg, env);
      const add = performance.now() - t;
      t = performance.now();
      await cmdDel(cfg, { ...env, command: "DEL" });
      const del = performance.now() - t;
      t = performance.now();
      await run("node", "-e", "0");
      const start = performance.now() - t;
      if (i >= 2) {
        inAdd.push(add);
        inDel.push(del);
        nodeStart.push(start);
      }
    }
    rows.push(`corekube-bridge in-process (no exec): ADD median ${median(inAdd).toFixed(1)} ms, DEL median ${median(inDel).toFixed(1)} ms`);
    rows.push(`bare \`node -e 0\` start: median ${median(nodeStart).toFixed(1)} ms; load average ${(await readFile("/proc/loadavg", "utf8")).split(" ").slice(0, 3).join(" ")}`);
    console.log(`CNI timings (anchors: Debian bridge ADD 10.3 ms, DEL 41.8 ms)\n  ${rows.join("\n  ")}`);
  });
});
