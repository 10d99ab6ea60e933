// Book 5.2, 6.3 and 10.1: the proxy's rules on a real kernel, inside a network namespace made for the test
// (so the host's tables are never touched): full sync, partial sync, cleanup, and a ClusterIP that really
// DNATs a connection to a listener. Linux, as root; skipped otherwise.
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Iptables } from "../../packages/proxy/src/iptables.js";
import { fullRestoreText, partialRestoreText, render } from "../../packages/proxy/src/render.js";
import { endpoint, service, slice } from "../../packages/proxy/src/testing.js";

const run = promisify(execFile);
const isRoot = process.platform === "linux" && process.getuid?.() === 0;

async function works(cmd: string, args: string[]): Promise<boolean> {
  try {
    await run(cmd, args);
    return true;
  } catch {
    return false;
  }
}

const ns = `ck-px-${randomBytes(4).toString("hex")}`;
const wrap = ["ip", "netns", "exec", ns];
const inNs = (cmd: string, ...args: string[]) => run("ip", ["netns", "exec", ns, cmd, ...args]);
let haveNs = false;
let legacyWorks = false;
const servers: ChildProcess[] = [];

const node = { nodeName: "node-a", clusterCIDR: "10.244.0.0/16" };
const web = service("default", "web", { clusterIP: "10.96.0.10", ports: [{ name: "http", port: 80, protocol: "TCP" }] });
const webSlice = (...ips: string[]) => slice("default", "web", "web-1", [{ name: "http", port: 8080, protocol: "TCP" }], ips.map((ip) => endpoint(ip)));
const three = service("default", "three", { clusterIP: "10.96.0.11", ports: [{ port: 80, protocol: "TCP" }] });
const threeSlice = slice("default", "three", "three-1", [{ port: 8080, protocol: "TCP" }], [endpoint("10.244.0.2"), endpoint("10.244.0.3"), endpoint("10.244.0.4")]);
const none = service("default", "none", { type: "NodePort", clusterIP: "10.96.0.12", ports: [{ port: 80, protocol: "TCP", nodePort: 30012 }] });

beforeAll(async () => {
  if (!isRoot || !(await works("ip", ["-V"]))) return;
  await run("ip", ["netns", "add", ns]);
  haveNs = true;
  legacyWorks = await works("ip", ["netns", "exec", ns, "iptables-legacy", "-t", "nat", "-S"]);
});

afterAll(async () => {
  for (const s of servers) s.kill("SIGKILL");
  if (haveNs) await run("ip", ["netns", "del", ns]).catch(() => undefined);
});

/** KUBE-* lines of iptables-save for one table (chain declarations with their counters stripped). */
async function kubeLines(ipt: Iptables, table: "nat" | "filter"): Promise<string[]> {
  return (await ipt.save(table))
    .split("\n")
    .filter((l) => l.includes("KUBE-"))
    .map((l) => l.replace(/ \[\d+:\d+\]$/, ""));
}

for (const backend of ["nft", "legacy"] as const) {
  describe.skipIf(!isRoot)(`iptables-${backend} in a private network namespace`, () => {
    it("full sync, partial sync and cleanup", async (ctx) => {
      if (!haveNs || (backend === "legacy" && !legacyWorks)) ctx.skip();
      const ipt = await Iptables.create({ backend, wrap });
      const first = render([web, three, none], [webSlice("10.244.0.2", "10.244.0.3"), threeSlice], node).rendering;
      await ipt.ensureJumps();
      await ipt.ensureJumps(); // idempotent
      await ipt.restore(fullRestoreText(first, { nat: await ipt.chains("nat"), filter: await ipt.chains("filter") }));

      const nat = await kubeLines(ipt, "nat");
      for (const c of first.nat.keys()) expect(nat).toContain(`:${c} -`);
      expect(nat.filter((l) => l === '-A PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES')).toHaveLength(1);
      expect(nat).toContain('-A OUTPUT -m comment --comment "kubernetes service portals" -j KUBE-SERVICES');
      expect(nat).toContain('-A POSTROUTING -m comment --comment "kubernetes postrouting rules" -j KUBE-POSTROUTING');
      // iptables reads 1/3 back as the nearest value it can store.
      expect(nat.join("\n")).toContain("--probability 0.33333333349");
      const filter = await kubeLines(ipt, "filter");
      expect(filter.join("\n")).toMatch(/-A KUBE-SERVICES -d 10\.96\.0\.12\/32 -p tcp -m comment --comment "default\/none has no endpoints" -m tcp --dport 80 -j REJECT/);
      expect(filter.join("\n")).toMatch(/-A KUBE-EXTERNAL-SERVICES .*--dport 30012 -j REJECT/);
      expect(filter.join("\n")).toMatch(/-A FORWARD .*-j KUBE-FORWARD/);

      // Partial: web loses 10.244.0.3 and gains 10.244.0.4. "three" must stay exactly as it was.
      const second = render([web, three, none], [webSlice("10.244.0.2", "10.244.0.4"), threeSlice], node).rendering;
      const threeBefore = nat.filter((l) => l.includes("default/three"));
      await ipt.restore(partialRestoreText(first, second));
      const nat2 = await kubeLines(ipt, "nat");
      const text2 = nat2.join("\n");
      expect(text2).toContain("--to-destination 10.244.0.4:8080");
      expect(text2).not.toMatch(/default\/web:http.*10\.244\.0\.3:8080/);
      expect(nat2.filter((l) => l.includes("default/three"))).toEqual(threeBefore);
      const gone = [...first.nat.keys()].filter((c) => !second.nat.has(c));
      expect(gone).toHaveLength(1);
      expect(nat2.some((l) => l.includes(gone[0]!))).toBe(false);

      const { removed } = await ipt.cleanup();
      expect(removed.nat.length).toBe(second.nat.size);
      expect(await kubeLines(ipt, "nat")).toEqual([]);
      expect(await kubeLines(ipt, "filter")).toEqual([]);
      // A second cleanup finds nothing and does not fail.
      expect((await ipt.cleanup()).removed).toEqual({ nat: [], filter: [] });
    });
  });
}

describe.skipIf(!isRoot)("a ClusterIP reaching listeners in the namespace (iptables-nft)", () => {
  async function curl(url: string, maxTime = 5): Promise<{ code: number; body: string }> {
    try {
      const { stdout } = await inNs("curl", "-s", "--noproxy", "*", "--max-time", String(maxTime), url);
      return { code: 0, body: stdout };
    } catch (e) {
      return { code: (e as { code?: number }).code ?? -1, body: "" };
    }
  }

  it("DNATs to the endpoints, follows a partial sync, rejects a Service with no endpoints, serves external and load-balancer IPs", async (ctx) => {
    if (!haveNs || !(await works("curl", ["--version"]))) ctx.skip();
    // A veth pair (both ends in the namespace) holds the "pod" addresses; the service range is routed to it
    // so connect() finds a route before nat OUTPUT rewrites the destination.
    await inNs("ip", "link", "set", "lo", "up");
    await inNs("ip", "link", "add", "ckd0", "type", "veth", "peer", "name", "ckd1");
    await inNs("ip", "link", "set", "ckd1", "up");
    await inNs("ip", "addr", "add", "10.244.0.2/24", "dev", "ckd0");
    await inNs("ip", "addr", "add", "10.244.0.3/24", "dev", "ckd0");
    await inNs("ip", "link", "set", "ckd0", "up");
    await inNs("ip", "route", "add", "10.96.0.0/12", "dev", "ckd0");
    for (const ip of ["10.244.0.2", "10.244.0.3"]) {
      const code = `require("http").createServer((q,s)=>s.end("hello-${ip}")).listen(8080,"${ip}",()=>console.log("up"))`;
      const p = spawn("ip", ["netns", "exec", ns, process.execPath, "-e", code], { stdio: ["ignore", "pipe", "inherit"] });
      servers.push(p);
      await new Promise<void>((resolve, reject) => {
        p.stdout!.once("data", () => resolve());
        p.once("exit", (c) => reject(new Error(`listener on ${ip} exited with ${c}`)));
      });
    }

    const ipt = await Iptables.create({ backend: "nft", wrap });
    const first = render([web, none], [webSlice("10.244.0.2", "10.244.0.3")], node).rendering;
    await ipt.ensureJumps();
    await ipt.restore(fullRestoreText(first, { nat: await ipt.chains("nat"), filter: await ipt.chains("filter") }));

    const seen = new Set<string>();
    for (let i = 0; i < 40; i++) {
      const r = await curl("http://10.96.0.10/");
      expect(r.code).toBe(0);
      seen.add(r.body);
    }
    // Both endpoints answer (each is picked with probability 1/2, so 40 tries all but certainly hit both).
    expect([...seen].sort()).toEqual(["hello-10.244.0.2", "hello-10.244.0.3"]);

    const second = render([web, none], [webSlice("10.244.0.3")], node).rendering;
    await ipt.restore(partialRestoreText(first, second));
    for (let i = 0; i < 10; i++) expect((await curl("http://10.96.0.10/")).body).toBe("hello-10.244.0.3");

    // No endpoints: REJECT answers at once (curl exit 7, "couldn't connect"), no timeout (28).
    expect((await curl("http://10.96.0.12/")).code).toBe(7);

    // External and load-balancer IPs (TEST-NET addresses, routed only inside this namespace) reach the
    // endpoints through KUBE-EXT. loadBalancerSourceRanges: lb-open admits our source (10.244.0.2, the
    // route's source address); lb-shut does not, so its packets stay un-NATed and KUBE-PROXY-FIREWALL
    // drops them (its counter shows it; a timeout alone would not tell a DROP from a dead address).
    await inNs("ip", "route", "add", "192.0.2.0/24", "dev", "ckd0");
    const lb = (name: string, ip: string, clusterIP: string, nodePort: number, range: string) => {
      const s = service("default", name, { type: "LoadBalancer", clusterIP, loadBalancerSourceRanges: [range], ports: [{ name: "http", port: 80, protocol: "TCP", nodePort }] });
      s.status = { loadBalancer: { ingress: [{ ip }] } };
      return s;
    };
    const lbSlice = (name: string) => slice("default", name, `${name}-1`, [{ name: "http", port: 8080, protocol: "TCP" }], [endpoint("10.244.0.3")]);
    const webExt = service("default", "web", { ...web.spec, externalIPs: ["192.0.2.10"] });
    const third = render(
      [webExt, none, lb("lb-open", "192.0.2.20", "10.96.0.13", 30013, "10.244.0.0/24"), lb("lb-shut", "192.0.2.21", "10.96.0.14", 30014, "203.0.113.0/24")],
      [webSlice("10.244.0.3"), lbSlice("lb-open"), lbSlice("lb-shut")],
      node,
    ).rendering;
    await ipt.restore(partialRestoreText(second, third));
    expect((await curl("http://192.0.2.10/")).body).toBe("hello-10.244.0.3");
    expect((await curl("http://192.0.2.20/")).body).toBe("hello-10.244.0.3");
    const drops = async () => {
      const { stdout } = await inNs("iptables", "-t", "filter", "-L", "KUBE-PROXY-FIREWALL", "-v", "-x", "-n");
      const line = stdout.split("\n").find((l) => l.includes("192.0.2.21"));
      return Number(line?.trim().split(/\s+/)[0] ?? Number.NaN);
    };
    expect(await drops()).toBe(0);
    expect((await curl("http://192.0.2.21/", 1)).body).toBe("");
    expect(await drops()).toBeGreaterThan(0);

    await ipt.cleanup();
    expect(await kubeLines(ipt, "nat")).toEqual([]);
  });
});

describe.skipIf(!isRoot)("jump rules (iptables-nft)", () => {
  it("are found in iptables-save output exactly as jumpLine writes them, so a full sync skips iptables -C", async (ctx) => {
    if (!haveNs) ctx.skip();
    const { jumpLine } = await import("../../packages/proxy/src/iptables.js");
    const { JUMP_RULES } = await import("../../packages/proxy/src/render.js");
    const ipt = await Iptables.create({ backend: "nft", wrap });
    await ipt.ensureJumps();
    const saved = { nat: await ipt.save("nat"), filter: await ipt.save("filter") };
    for (const j of JUMP_RULES) expect(saved[j.table].split("\n")).toContain(jumpLine(j));
    // With the saved text, nothing is run (an exec that throws proves it).
    const strict = await Iptables.create({
      backend: "nft",
      exec: async () => {
        throw new Error("no command expected");
      },
    });
    await strict.ensureJumps(saved);
    await ipt.cleanup();
  });
});
