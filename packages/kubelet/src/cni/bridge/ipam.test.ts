// Book 5.4: tests for corekube-bridge's host-local-like IPAM: order, reuse, exhaustion, and concurrency
// both inside one process and across plugin processes (the lock file).
import { execFile } from "node:child_process";
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { CniError } from "../spec.js";
import { IpamStore, parseCidr } from "./ipam.js";

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "ck-ipam-"));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("IpamStore", () => {
  it("hands out addresses in order after the gateway, and writes one lease file per IP", async () => {
    const s = new IpamStore(dir, "net1", "10.20.0.0/24");
    expect(s.gatewayIp).toBe("10.20.0.1");
    const a = await s.allocate("c1", "eth0");
    const b = await s.allocate("c2", "eth0");
    expect(a).toEqual({ ip: "10.20.0.2", address: "10.20.0.2/24", gateway: "10.20.0.1" });
    expect(b.ip).toBe("10.20.0.3");
    expect(await readFile(join(dir, "net1", "10.20.0.2"), "utf8")).toBe("c1\neth0");
    // the same container and interface asking again keeps its address
    expect((await s.allocate("c1", "eth0")).ip).toBe("10.20.0.2");
  });

  it("reuses a released address once the rest of the range is used, and errors when full", async () => {
    const s = new IpamStore(dir, "small", "10.20.1.0/29"); // .2-.6 usable: 5 pods
    expect(s.capacity).toBe(5);
    const ips = [];
    for (let i = 0; i < 5; i++) ips.push((await s.allocate(`c${i}`, "eth0")).ip);
    expect(ips).toEqual(["10.20.1.2", "10.20.1.3", "10.20.1.4", "10.20.1.5", "10.20.1.6"]);
    await expect(s.allocate("c9", "eth0")).rejects.toMatchObject({ name: "CniError", code: 100 });
    await expect(s.allocate("c9", "eth0")).rejects.toThrow(/no free IP address in 10.20.1.0\/29/);
    expect(await s.release("c1", "eth0")).toEqual(["10.20.1.3"]);
    expect(await s.release("c1", "eth0")).toEqual([]); // idempotent
    expect((await s.allocate("c9", "eth0")).ip).toBe("10.20.1.3");
    expect(await s.find("c9", "eth0")).toMatchObject({ ip: "10.20.1.3" });
    expect(await s.find("c1", "eth0")).toBeUndefined();
  });

  it("continues after the last reserved address instead of reusing a just-freed one", async () => {
    const s = new IpamStore(dir, "n", "10.20.2.0/24");
    await s.allocate("a", "eth0"); // .2
    await s.allocate("b", "eth0"); // .3
    await s.release("a", "eth0");
    expect((await s.allocate("c", "eth0")).ip).toBe("10.20.2.4");
  });

  it("never gives two concurrent callers the same IP (one process)", async () => {
    const s = new IpamStore(dir, "conc", "10.20.3.0/24");
    const got = await Promise.all(Array.from({ length: 40 }, (_, i) => s.allocate(`c${i}`, "eth0")));
    const ips = got.map((l) => l.ip);
    expect(new Set(ips).size).toBe(40);
    const files = (await readdir(join(dir, "conc"))).filter((n) => /^\d/.test(n));
    expect(files).toHaveLength(40);
  });

  it("never gives two plugin processes the same IP", async () => {
    const tsx = resolve("node_modules/tsx/dist/esm/index.mjs");
    const mod = resolve("packages/kubelet/src/cni/bridge/ipam.ts");
    const run = promisify(execFile);
    const worker = (w: number) =>
      run("node", [
        "--import",
        tsx,
        "--input-type=module",
        "-e",
        `const { IpamStore } = await import(${JSON.stringify(mod)});
         const s = new IpamStore(${JSON.stringify(dir)}, "procs", "10.20.4.0/24");
         const out = [];
         for (let i = 0; i < 6; i++) out.push((await s.allocate("w${w}-" + i, "eth0")).ip);
         console.log(JSON.stringify(out));`,
      ]);
    const outs = await Promise.all([0, 1, 2, 3].map(worker));
    const ips = outs.flatMap((o) => JSON.parse(o.stdout) as string[]);
    expect(ips).toHaveLength(24);
    expect(new Set(ips).size).toBe(24);
  });

  it("rejects bad subnets and names with a CniError", () => {
    expect(() => new IpamStore(dir, "n", "10.0.0.1/24")).toThrow(/host bits/);
    expect(() => new IpamStore(dir, "n", "banana")).toThrow(CniError);
    expect(() => new IpamStore(dir, "n", "10.0.0.0/31")).toThrow(/too small/);
    expect(() => new IpamStore(dir, "../x", "10.0.0.0/24")).toThrow(/not usable/);
    expect(parseCidr("10.244.0.0/16")).toEqual({ base: (10 << 24) + (244 << 16), prefix: 16 });
  });
});
