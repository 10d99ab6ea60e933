// Book 10.1: `runProxy` against a real API server: a Service and its EndpointSlice become chains (in a
// network namespace made for the test, never the host's tables), an endpoint change follows, and
// /healthz and /metrics answer. Linux, as root; skipped otherwise.
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { promisify } from "node:util";
import { ENDPOINT_SLICES, RestClient, SERVICES } from "@corekube/client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Iptables } from "../../packages/proxy/src/iptables.js";
import { serviceChain } from "../../packages/proxy/src/render.js";
import { type RunningProxy, runProxy } from "../../packages/proxy/src/run.js";
import { endpoint, service, slice } from "../../packages/proxy/src/testing.js";
import type { ProxyEndpointSlice, ProxyService } from "../../packages/proxy/src/types.js";
import { type ControlPlane, startControlPlane } from "../support/apiserver-process.js";
import { eventually } from "../support/eventually.js";

const run = promisify(execFile);
const isRoot = process.platform === "linux" && process.getuid?.() === 0;
const ns = `ck-px-${randomBytes(4).toString("hex")}`;
const wrap = ["ip", "netns", "exec", ns];
let cp: ControlPlane | undefined;
let client: RestClient | undefined;
let proxy: RunningProxy | undefined;
let haveNs = false;

beforeAll(async () => {
  if (!isRoot) return;
  await run("ip", ["netns", "add", ns]);
  haveNs = true;
  cp = await startControlPlane();
  client = await RestClient.fromKubeconfig({ path: cp.kubeconfig, qps: 0 });
}, 90_000);

afterAll(async () => {
  await proxy?.stop();
  await client?.close();
  await cp?.stop();
  if (haveNs) await run("ip", ["netns", "del", ns]).catch(() => undefined);
});

describe.skipIf(!isRoot)("runProxy", () => {
  it("programs a Service from the API, follows its endpoints, serves /healthz and /metrics", async () => {
    const svcs = client!.resource<ProxyService>(SERVICES);
    const slices = client!.resource<ProxyEndpointSlice>(ENDPOINT_SLICES);
    const name = `px-${randomBytes(3).toString("hex")}`;
    const created = await svcs.create(service("default", name, { ports: [{ name: "http", port: 80, protocol: "TCP" }], selector: { app: name } }));
    const clusterIP = created.spec?.clusterIP;
    expect(clusterIP).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
    const sl = await slices.create(slice("default", name, `${name}-px`, [{ name: "http", port: 8080, protocol: "TCP" }], [endpoint("10.244.0.2", "node-a")]));

    const logs: string[] = [];
    proxy = await runProxy({
      kubeconfig: cp!.kubeconfig,
      nodeName: "node-a",
      clusterCIDR: "10.244.0.0/16",
      backend: "nft",
      iptablesWrap: wrap,
      healthzBindAddress: "127.0.0.1:0",
      metricsBindAddress: "127.0.0.1:0",
      minSyncPeriodMs: 50,
      log: (l) => logs.push(l),
    });
    const ipt = await Iptables.create({ backend: "nft", wrap });
    const chain = serviceChain(`default/${name}:http`, "tcp");
    await eventually("the Service's chain", async () => (await ipt.save("nat")).includes(`-A KUBE-SERVICES -d ${clusterIP}/32`));
    expect(await ipt.save("nat")).toContain(`--to-destination 10.244.0.2:8080`);
    expect(await ipt.save("nat")).toContain(`-j ${chain}`);

    await slices.update({ ...sl, endpoints: [endpoint("10.244.0.3", "node-a")] });
    await eventually("the new endpoint", async () => {
      const nat = await ipt.save("nat");
      return nat.includes("--to-destination 10.244.0.3:8080") && !nat.includes("10.244.0.2:8080");
    });

    const h = await fetch(`http://127.0.0.1:${proxy.healthzPort}/healthz`);
    expect(h.status).toBe(200);
    expect(((await h.json()) as { lastUpdated: string }).lastUpdated).toMatch(/^\d{4}-/);
    const m = await (await fetch(`http://127.0.0.1:${proxy.metricsPort}/metrics`)).text();
    expect(m).toMatch(/kubeproxy_sync_proxy_rules_iptables_total\{table="nat"\} \d+/);
    expect(m).toMatch(/kubeproxy_sync_partial_proxy_rules_duration_seconds_count [1-9]/);

    await svcs.delete(name);
    await eventually("the chain removed", async () => !(await ipt.save("nat")).includes(chain));
    await proxy.stop();
    proxy = undefined;
    await ipt.cleanup();
    expect((await ipt.save("nat")).includes("KUBE-")).toBe(false);
    expect(logs.join("\n")).toContain("iptables mode, nft backend");
  });
});
