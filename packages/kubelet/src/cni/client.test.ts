// Book 5.3-5.4: tests for the kubelet's CNI client with fake shell plugins: config discovery and order,
// the CNI_* environment and CNI_ARGS, stdin and prevResult chaining, DEL order and cache, and errors.
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { CniClient, listConfFiles, loadFirstNetwork } from "./client.js";
import { nodeNetworkConfig, writeNodeConflist } from "./conf.js";
import { CniError, formatCniArgs, parseCniArgs, parseErrorOutput, parseNetworkConfig } from "./spec.js";

let dir: string;
let confDir: string;
let binDir: string;
let logFile: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "ck-cni-client-"));
  confDir = join(dir, "net.d");
  binDir = join(dir, "bin");
  logFile = join(dir, "calls.log");
  await mkdir(confDir);
  await mkdir(binDir);
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** A fake plugin: logs command, env and stdin (one tab-separated line), prints a result naming itself. */
async function fakePlugin(name: string, body?: string): Promise<void> {
  const script = `#!/bin/sh
in=$(cat)
printf '%s\\t%s\\t%s\\t%s\\t%s\\t%s\\t%s\\t%s\\n' "${name}" "$CNI_COMMAND" "$CNI_CONTAINERID" "$CNI_NETNS" "$CNI_IFNAME" "$CNI_PATH" "$CNI_ARGS" "$in" >> "${logFile}"
${body ?? `[ "$CNI_COMMAND" = ADD ] && printf '{"cniVersion":"1.0.0","interfaces":[{"name":"${name}-if"}],"ips":[{"address":"10.1.0.5/24","interface":0}]}'
exit 0`}
`;
  await writeFile(join(binDir, name), script);
  await chmod(join(binDir, name), 0o755);
}

interface Call {
  plugin: string;
  command: string;
  containerId: string;
  netns: string;
  ifName: string;
  path: string;
  args: string;
  stdin: Record<string, unknown>;
}

async function calls(): Promise<Call[]> {
  const text = await readFile(logFile, "utf8").catch(() => "");
  return text
    .split("\n")
    .filter(Boolean)
    .map((l) => {
      const [plugin, command, containerId, netns, ifName, path, args, stdin] = l.split("\t") as string[];
      return { plugin, command, containerId, netns, ifName, path, args, stdin: JSON.parse(stdin as string) } as Call;
    });
}

const pod = { containerId: "sandbox123", netns: "/var/run/netns/x", podNamespace: "default", podName: "web-0", podUid: "uid-1" };

describe("config discovery", () => {
  it("uses the lexically first .conf/.conflist/.json, skipping files that do not parse", async () => {
    await writeFile(join(confDir, "00-notes.txt"), "ignored");
    await writeFile(join(confDir, "05-broken.json"), "{not json");
    await writeFile(join(confDir, "10-single.conf"), JSON.stringify({ cniVersion: "1.0.0", name: "single", type: "p1", mtu: 9000 }));
    await writeFile(join(confDir, "20-list.conflist"), JSON.stringify({ cniVersion: "1.0.0", name: "list", plugins: [{ type: "p1" }] }));
    expect((await listConfFiles(confDir)).map((f) => f.slice(confDir.length + 1))).toEqual([
      "05-broken.json",
      "10-single.conf",
      "20-list.conflist",
    ]);
    const { file, config, skipped } = await loadFirstNetwork(confDir);
    expect(file).toBe(join(confDir, "10-single.conf"));
    // a single-plugin .conf becomes a list of one
    expect(config).toEqual({ cniVersion: "1.0.0", name: "single", plugins: [{ type: "p1", mtu: 9000 }] });
    expect(skipped[0]).toMatch(/05-broken.json: not valid JSON/);
  });

  it("fails clearly when no usable config exists", async () => {
    await expect(loadFirstNetwork(join(dir, "missing"))).rejects.toThrow(/no valid CNI network config found/);
    await writeFile(join(confDir, "10-old.conflist"), JSON.stringify({ cniVersion: "0.1.0", name: "old", plugins: [{ type: "x" }] }));
    await expect(loadFirstNetwork(confDir)).rejects.toThrow(/cniVersion "0.1.0" is not supported/);
  });

  it("rejects plugin types that are paths and lists without plugins", () => {
    expect(() => parseNetworkConfig('{"cniVersion":"1.0.0","name":"n","plugins":[{"type":"../evil"}]}', "f")).toThrow(/plain binary name/);
    expect(() => parseNetworkConfig('{"cniVersion":"1.0.0","name":"n","plugins":[]}', "f")).toThrow(/empty/);
    expect(() => parseNetworkConfig('{"cniVersion":"1.0.0","plugins":[{"type":"a"}]}', "f")).toThrow(/missing network "name"/);
  });

  it("writes a conflist the loader reads back, for either plugin set", async () => {
    const path = await writeNodeConflist(confDir, { podCIDR: "10.244.7.0/24" });
    expect(path).toBe(join(confDir, "10-corekube.conflist"));
    const { config } = await loadFirstNetwork(confDir);
    expect(config.plugins.map((p) => p.type)).toEqual(["corekube-bridge"]);
    expect(config.plugins[0]).toMatchObject({ bridge: "corekube0", ipam: { subnet: "10.244.7.0/24" }, ipMasq: true });
    const ref = nodeNetworkConfig({ podCIDR: "10.244.7.0/24", plugins: "reference" });
    expect(ref.plugins.map((p) => p.type)).toEqual(["bridge", "loopback"]);
    expect(ref.plugins[0]).toMatchObject({ isGateway: true, ipMasq: false, ipam: { type: "host-local", ranges: [[{ gateway: "10.244.7.1" }]] } });
    expect(() => nodeNetworkConfig({ podCIDR: "10.244.7.5/24" })).toThrow(/host bits/);
  });
});

describe("CNI_ARGS", () => {
  it("formats the kubelet's keys and parses them back", () => {
    const s = formatCniArgs({ K8S_POD_NAMESPACE: "ns", K8S_POD_NAME: "p", K8S_POD_INFRA_CONTAINER_ID: "c", K8S_POD_UID: "u" });
    expect(s).toBe("IgnoreUnknown=1;K8S_POD_NAMESPACE=ns;K8S_POD_NAME=p;K8S_POD_INFRA_CONTAINER_ID=c;K8S_POD_UID=u");
    expect(parseCniArgs(s)).toMatchObject({ IgnoreUnknown: "1", K8S_POD_NAME: "p" });
    expect(() => formatCniArgs({ K8S_POD_NAME: "a;b" })).toThrow(CniError);
    expect(() => parseCniArgs("A=1;garbage")).toThrow(/invalid pair "garbage"/);
  });
});

describe("plugin errors", () => {
  it("reads the error object from stdout, then stderr, else wraps the raw output", () => {
    const e1 = parseErrorOutput('{"code":7,"msg":"bad bridge","details":"name too long"}', "", 1, "p");
    expect(e1).toMatchObject({ code: 7, msg: "bad bridge", details: "name too long", plugin: "p" });
    expect(e1.message).toBe("CNI error 7: plugin p: bad bridge (name too long)");
    expect(parseErrorOutput("", '{"code":11,"msg":"busy"}', 1, "p")).toMatchObject({ code: 11, msg: "busy" });
    const e3 = parseErrorOutput("", "panic: oops", 2, "p");
    expect(e3).toMatchObject({ code: 102 });
    expect(e3.msg).toMatch(/exited with status 2: panic: oops/);
  });
});

describe("CniClient with fake plugins", () => {
  async function writeList(plugins: unknown[]): Promise<void> {
    await writeFile(join(confDir, "10-net.conflist"), JSON.stringify({ cniVersion: "1.0.0", name: "testnet", plugins }));
  }

  it("runs ADD through the chain with env, CNI_ARGS, runtimeConfig and prevResult; DEL in reverse", async () => {
    await fakePlugin("first");
    await fakePlugin("second");
    await writeList([
      { type: "first", some: "setting" },
      { type: "second", capabilities: { portMappings: true } },
    ]);
    const client = new CniClient({ confDir, binDirs: [join(dir, "nowhere"), binDir], cacheDir: join(dir, "cache") });
    const ports = [{ hostPort: 8080, containerPort: 80, protocol: "tcp" }];
    const result = await client.add({ ...pod, capabilityArgs: { portMappings: ports, bandwidth: { rate: 1 } } });
    expect(result.interfaces?.[0]?.name).toBe("second-if");

    const adds = await calls();
    expect(adds.map((c) => `${c.plugin}:${c.command}`)).toEqual(["first:ADD", "second:ADD"]);
    const [a, b] = adds as [Call, Call];
    expect(a).toMatchObject({ containerId: "sandbox123", netns: "/var/run/netns/x", ifName: "eth0", path: `${join(dir, "nowhere")}:${binDir}` });
    expect(a.args).toBe("IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME=web-0;K8S_POD_INFRA_CONTAINER_ID=sandbox123;K8S_POD_UID=uid-1");
    expect(a.stdin).toEqual({ type: "first", some: "setting", name: "testnet", cniVersion: "1.0.0" });
    // only the capability the plugin declared, and the previous plugin's result
    expect(b.stdin.runtimeConfig).toEqual({ portMappings: ports });
    expect((b.stdin.prevResult as { interfaces: { name: string }[] }).interfaces[0]?.name).toBe("first-if");

    // A new client (a restarted kubelet) with the config gone still deletes using the cache.
    await rm(join(confDir, "10-net.conflist"));
    const restarted = new CniClient({ confDir, binDirs: [binDir], cacheDir: join(dir, "cache") });
    expect((await restarted.cachedResult("sandbox123"))?.interfaces?.[0]?.name).toBe("second-if");
    await restarted.check(pod);
    await restarted.del({ ...pod, netns: "" });
    const rest = (await calls()).slice(2);
    expect(rest.map((c) => `${c.plugin}:${c.command}`)).toEqual(["first:CHECK", "second:CHECK", "second:DEL", "first:DEL"]);
    expect(rest[2]?.stdin.runtimeConfig).toEqual({ portMappings: ports });
    expect((rest[2]?.stdin.prevResult as { interfaces: { name: string }[] }).interfaces[0]?.name).toBe("second-if");
    expect(await restarted.cachedResult("sandbox123")).toBeUndefined();
    await expect(restarted.check(pod)).rejects.toThrow(/no cached ADD result/);
  });

  it("DEL without any cached state still calls the plugins (they must tolerate it)", async () => {
    await fakePlugin("only");
    await writeList([{ type: "only" }]);
    const client = new CniClient({ confDir, binDirs: [binDir], cacheDir: join(dir, "cache") });
    await client.del({ ...pod, containerId: "never-added", netns: "" });
    const [c] = await calls();
    expect(c).toMatchObject({ command: "DEL", containerId: "never-added", netns: "" });
    expect(c?.stdin.prevResult).toBeUndefined();
  });

  it("turns a plugin's error output into a CniError with its msg, and does not cache a failed ADD", async () => {
    await fakePlugin("broken", `printf '{"cniVersion":"1.0.0","code":7,"msg":"bridge name is bogus","details":"x"}'; exit 1`);
    await writeList([{ type: "broken" }]);
    const client = new CniClient({ confDir, binDirs: [binDir], cacheDir: join(dir, "cache") });
    const err = await client.add(pod).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CniError);
    expect(err).toMatchObject({ code: 7, msg: "bridge name is bogus", plugin: "broken" });
    expect(await client.cachedResult(pod.containerId)).toBeUndefined();
  });

  it("reports a missing plugin binary and bad requests clearly", async () => {
    await writeList([{ type: "absent" }]);
    const client = new CniClient({ confDir, binDirs: [binDir], cacheDir: join(dir, "cache") });
    await expect(client.add(pod)).rejects.toThrow(/failed to find plugin "absent"/);
    await expect(client.add({ ...pod, containerId: "../../etc" })).rejects.toThrow(/invalid container id/);
    await expect(client.add({ ...pod, netns: "" })).rejects.toThrow(/netns path is required/);
    await expect(client.add({ ...pod, ifName: "a-very-long-interface-name" })).rejects.toThrow(/invalid interface name/);
  });
});
