// Book 10.1: which iptables binaries the proxy runs for each backend, with a fake exec (no root needed).
import { describe, expect, it } from "vitest";
import { chainsOf, type Exec, Iptables } from "./iptables.js";
import { parseBindAddress } from "./run.js";

function recorder(version = "iptables v1.8.9 (nf_tables)") {
  const calls: string[] = [];
  const exec: Exec = async (cmd, args, input) => {
    calls.push([cmd, ...args].join(" ") + (input ? ` <<${input.length}` : ""));
    if (args.includes("--version")) return { code: 0, stdout: `${version}\n`, stderr: "" };
    if (args.includes("-C")) return { code: 1, stdout: "", stderr: "Bad rule" };
    return { code: 0, stdout: "", stderr: "" };
  };
  return { calls, exec };
}

describe("Iptables", () => {
  it("auto picks the backend plain iptables reports, and runs that backend's restore with --noflush", async () => {
    for (const [version, backend] of [
      ["iptables v1.8.9 (nf_tables)", "nft"],
      ["iptables v1.8.9 (legacy)", "legacy"],
    ] as const) {
      const { calls, exec } = recorder(version);
      const ipt = await Iptables.create({ exec, wrap: ["ip", "netns", "exec", "x"] });
      expect(ipt.backend).toBe(backend);
      await ipt.restore("*nat\nCOMMIT\n");
      expect(calls).toEqual(["ip netns exec x iptables --version", `ip netns exec x iptables-${backend}-restore --noflush --wait <<12`]);
    }
  });

  it("a failed restore is an error carrying iptables' message", async () => {
    const exec: Exec = async () => ({ code: 2, stdout: "", stderr: "iptables-restore: line 3 failed\n" });
    const ipt = await Iptables.create({ backend: "legacy", exec });
    await expect(ipt.restore("*nat\nbad\nCOMMIT\n")).rejects.toThrow(/iptables-legacy-restore --noflush failed \(exit 2\): iptables-restore: line 3 failed/);
  });

  it("refuses an unknown backend", async () => {
    await expect(Iptables.create({ backend: "ipvs" as never })).rejects.toThrow(/want auto, nft or legacy/);
  });

  it("inserts a missing jump after creating its target chain", async () => {
    const { calls, exec } = recorder();
    const ipt = await Iptables.create({ backend: "nft", exec });
    await ipt.ensureJumps();
    expect(calls.slice(0, 3)).toEqual([
      "iptables-nft -w 5 -t nat -N KUBE-SERVICES",
      "iptables-nft -w 5 -t nat -C PREROUTING -m comment --comment kubernetes service portals -j KUBE-SERVICES",
      "iptables-nft -w 5 -t nat -I PREROUTING -m comment --comment kubernetes service portals -j KUBE-SERVICES",
    ]);
  });

  it("reads user chains from iptables-save output", () => {
    expect(chainsOf("*nat\n:PREROUTING ACCEPT [0:0]\n:KUBE-SERVICES - [0:0]\n:KUBE-SVC-X - [3:180]\n-A PREROUTING -j KUBE-SERVICES\nCOMMIT\n")).toEqual([
      "KUBE-SERVICES",
      "KUBE-SVC-X",
    ]);
  });
});

describe("parseBindAddress", () => {
  it("accepts host:port and [v6]:port, refuses the rest", () => {
    expect(parseBindAddress("127.0.0.1:10256")).toEqual({ host: "127.0.0.1", port: 10256 });
    expect(parseBindAddress("0.0.0.0:0")).toEqual({ host: "0.0.0.0", port: 0 });
    expect(parseBindAddress("[::1]:10249")).toEqual({ host: "::1", port: 10249 });
    expect(() => parseBindAddress("10256")).toThrow(/want host:port/);
    expect(() => parseBindAddress("h:99999")).toThrow(/want host:port/);
  });
});
