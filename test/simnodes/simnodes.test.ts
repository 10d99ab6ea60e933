// Book 2.3.2, 9.3 and 11.2.3: simulated nodes against a real `corekube apiserver` process — nodes
// register with Leases, bound pods run, finish, restart and are deleted, and a failed node goes quiet.
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { Lease, Node, Pod } from "@corekube/api";
import { LEASES, NODES, PODS, RestClient } from "@corekube/client";
import { parseSimulatedNodesFlags } from "../../packages/cli/src/commands/simulated-nodes.js";
import { UsageError } from "../../packages/cli/src/flags.js";
import { IPAllocator, RESULT_ANNOTATION, RUN_DURATION_ANNOTATION, SimulatedNodes, type SimulatedNodesOptions } from "@corekube/simnodes";
import { type ControlPlane, startControlPlane } from "../support/apiserver-process.js";
import { eventually as eventuallyWithin } from "../support/eventually.js";

const eventually = <T>(what: string, fn: () => Promise<T | undefined | false>, ms = 8000) => eventuallyWithin(what, fn, ms);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("simulated nodes against an API server", () => {
  let cp: ControlPlane;
  let client: RestClient;
  let sim: SimulatedNodes | undefined;
  const logs: string[] = [];
  const nodes = () => client.resource<Node>(NODES);
  const leases = () => client.resource<Lease>(LEASES);
  const pods = () => client.resource<Pod>(PODS);

  beforeAll(async () => {
    cp = await startControlPlane();
    client = await RestClient.fromKubeconfig({ path: cp.kubeconfig, qps: 0 });
  });

  afterEach(async () => {
    await sim?.stop();
    sim = undefined;
  });

  afterAll(async () => {
    if (process.env.SIMNODES_LOG) console.log(logs.join("\n"));
    await client?.close();
    await cp?.stop();
  });

  async function startSim(o: Partial<SimulatedNodesOptions> & { namePrefix: string }): Promise<SimulatedNodes> {
    sim = new SimulatedNodes({
      client,
      count: 2,
      heartbeatIntervalMs: 200,
      statusIntervalMs: 500,
      startDelayMs: 50,
      completeAfterMs: 300,
      maxGraceMs: 300,
      log: (m) => logs.push(m),
      ...o,
    });
    await sim.start();
    return sim;
  }

  function podOn(node: string, name: string, extra: { restartPolicy?: Pod["spec"]["restartPolicy"]; annotations?: Record<string, string>; grace?: number } = {}): Pod {
    return {
      metadata: { name, namespace: "default", annotations: extra.annotations },
      spec: {
        nodeName: node,
        restartPolicy: extra.restartPolicy ?? "Always",
        terminationGracePeriodSeconds: extra.grace ?? 30,
        containers: [{ name: "app", image: "registry.example/app:1" }],
      },
    };
  }

  const getPod = (name: string) => pods().get(name, "default");

  it("registers nodes with capacity, allocatable, Ready and renewed Leases", async () => {
    await startSim({ namePrefix: "reg-", count: 3, cpu: "4", memory: "16Gi", pods: 50, labels: { pool: "sim" }, perNode: (i) => ({ labels: { "topology.kubernetes.io/zone": `zone-${i % 2}` }, taints: i === 2 ? [{ key: "dedicated", value: "gpu", effect: "NoSchedule" }] : [] }) });
    expect(sim!.nodeNames()).toEqual(["reg-0", "reg-1", "reg-2"]);
    const list = (await nodes().list({ labelSelector: "corekube.io/simulated=true,pool=sim" })).items.sort((a, b) => a.metadata.name!.localeCompare(b.metadata.name!));
    expect(list.map((n) => n.metadata.name)).toEqual(["reg-0", "reg-1", "reg-2"]);
    for (const [i, n] of list.entries()) {
      expect(n.status!.capacity).toMatchObject({ cpu: "4", memory: "16Gi", pods: "50", "ephemeral-storage": "100Gi" });
      expect(n.status!.allocatable).toEqual(n.status!.capacity);
      expect(n.status!.conditions!.find((c) => c.type === "Ready")).toMatchObject({ status: "True", reason: "KubeletReady" });
      expect(n.metadata.labels).toMatchObject({ "kubernetes.io/hostname": `reg-${i}`, "topology.kubernetes.io/zone": `zone-${i % 2}`, "node.kubernetes.io/instance-type": "simulated" });
      expect(n.spec!.podCIDR).toBe(`10.244.${i}.0/24`);
      expect(n.status!.nodeInfo!.kubeletVersion).toBe("v1.33.0-corekube-sim");
    }
    expect(list[2]!.spec!.taints).toEqual([{ key: "dedicated", value: "gpu", effect: "NoSchedule" }]);
    expect(list[0]!.spec!.taints ?? []).toEqual([]);

    const lease = await leases().get("reg-1", "kube-node-lease");
    expect(lease.spec).toMatchObject({ holderIdentity: "reg-1", leaseDurationSeconds: 40 });
    expect(lease.metadata.ownerReferences).toEqual([expect.objectContaining({ kind: "Node", name: "reg-1", uid: list[1]!.metadata.uid })]);
    const first = lease.spec.renewTime;
    await eventually("the lease to be renewed", async () => (await leases().get("reg-1", "kube-node-lease")).spec.renewTime !== first);
  });

  it("runs a pod bound to a simulated node: Running, Ready, with an IP from the node's range", async () => {
    await startSim({ namePrefix: "run-" });
    const range = sim!.nodeAddresses("run-1")!;
    await pods().create(podOn("run-1", "runs"));
    const pod = await eventually("the pod to run", async () => {
      const p = await getPod("runs");
      return p.status?.phase === "Running" ? p : undefined;
    });
    expect(new IPAllocator(range.podCIDR).contains(pod.status!.podIP!)).toBe(true);
    expect(pod.status!.podIPs).toEqual([{ ip: pod.status!.podIP }]);
    expect(pod.status!.hostIP).toBe(range.internalIP);
    expect(pod.status!.conditions!.find((c) => c.type === "Ready")!.status).toBe("True");
    expect(pod.status!.qosClass).toBe("BestEffort");
    expect(pod.status!.containerStatuses![0]).toMatchObject({ name: "app", ready: true, restartCount: 0, imageID: "simulated://registry.example/app:1", state: { running: {} } });
    // A second pod on the same node gets another address.
    await pods().create(podOn("run-1", "runs-too"));
    const other = await eventually("the second pod to run", async () => (await getPod("runs-too")).status?.podIP);
    expect(other).not.toBe(pod.status!.podIP);
    // Pods bound to nodes that are not ours are left alone.
    await pods().create(podOn("someone-elses-node", "not-ours"));
    await sleep(300);
    expect((await getPod("not-ours")).status?.phase).toBe("Pending");
  });

  it("completes restartPolicy Never pods: Succeeded, or Failed with the failure annotation; OnFailure restarts", async () => {
    await startSim({ namePrefix: "job-" });
    await pods().create(podOn("job-0", "ok", { restartPolicy: "Never" }));
    await pods().create(podOn("job-0", "bad", { restartPolicy: "Never", annotations: { [RESULT_ANNOTATION]: "failure", [RUN_DURATION_ANNOTATION]: "200ms" } }));
    await pods().create(podOn("job-1", "flaky", { restartPolicy: "OnFailure", annotations: { [RESULT_ANNOTATION]: "failure", [RUN_DURATION_ANNOTATION]: "150ms" } }));
    const ok = await eventually("ok to succeed", async () => ((await getPod("ok")).status?.phase === "Succeeded" ? getPod("ok") : undefined));
    expect(ok.status!.containerStatuses![0]!.state!.terminated).toMatchObject({ exitCode: 0, reason: "Completed" });
    const bad = await eventually("bad to fail", async () => ((await getPod("bad")).status?.phase === "Failed" ? getPod("bad") : undefined));
    expect(bad.status!.containerStatuses![0]!.state!.terminated).toMatchObject({ exitCode: 1, reason: "Error" });
    const flaky = await eventually("flaky to restart twice", async () => {
      const p = await getPod("flaky");
      return (p.status?.containerStatuses?.[0]?.restartCount ?? 0) >= 2 ? p : undefined;
    });
    expect(flaky.status!.phase).toBe("Running");
    expect(flaky.status!.containerStatuses![0]!.lastState).toMatchObject({ terminated: { exitCode: 1, reason: "Error" } });
  });

  it("removes a deleted running pod once the (capped) grace period is over", async () => {
    await startSim({ namePrefix: "del-" });
    await pods().create(podOn("del-0", "doomed", { grace: 30 }));
    await eventually("doomed to run", async () => (await getPod("doomed")).status?.phase === "Running");
    const t0 = Date.now();
    await pods().delete("doomed", { namespace: "default" });
    // Graceful: the pod is still there, marked for deletion...
    const marked = await getPod("doomed");
    expect(marked.metadata.deletionTimestamp).toBeTruthy();
    // ...until the simulated kubelet confirms it (maxGraceMs 300 instead of 30 s).
    await eventually("doomed to go", async () => {
      try {
        await getPod("doomed");
        return false;
      } catch (e) {
        return (e as { status?: { code?: number } }).status?.code === 404;
      }
    });
    expect(Date.now() - t0).toBeGreaterThanOrEqual(250);
  });

  it("failNode stops one node's lease renewals while the others go on", async () => {
    await startSim({ namePrefix: "fail-" });
    const renewTime = async (n: string) => (await leases().get(n, "kube-node-lease")).spec.renewTime;
    await sim!.failNode("fail-0");
    const frozen = await renewTime("fail-0");
    const other = await renewTime("fail-1");
    await eventually("fail-1 to renew", async () => (await renewTime("fail-1")) !== other);
    await sleep(500);
    expect(await renewTime("fail-0")).toBe(frozen);
    // A pod bound to the failed node is not started.
    await pods().create(podOn("fail-0", "on-dead-node"));
    await sleep(300);
    expect((await getPod("on-dead-node")).status?.phase).toBe("Pending");
    sim!.recoverNode("fail-0");
    await eventually("fail-0 to renew again", async () => (await renewTime("fail-0")) !== frozen);
    await eventually("the pod to start after recovery", async () => (await getPod("on-dead-node")).status?.phase === "Running");
  });

  it("adopts its nodes after a failure, keeping running pods' IPs, and deletes them on a clean stop", async () => {
    const first = await startSim({ namePrefix: "adopt-", count: 1 });
    await pods().create(podOn("adopt-0", "survivor"));
    const ip = await eventually("survivor to run", async () => (await getPod("survivor")).status?.podIP);
    await first.stop({ failed: true });
    expect((await nodes().get("adopt-0")).metadata.name).toBe("adopt-0");
    await startSim({ namePrefix: "adopt-", count: 1, deleteNodesOnStop: true });
    await pods().create(podOn("adopt-0", "newcomer"));
    const ip2 = await eventually("newcomer to run", async () => (await getPod("newcomer")).status?.podIP);
    expect(ip2).not.toBe(ip);
    expect((await getPod("survivor")).status).toMatchObject({ phase: "Running", podIP: ip });
    await sim!.stop();
    await expect(nodes().get("adopt-0")).rejects.toMatchObject({ status: { code: 404 } });
    await expect(leases().get("adopt-0", "kube-node-lease")).rejects.toMatchObject({ status: { code: 404 } });
  });

  it("refuses to take over a node that is not simulated", async () => {
    await nodes().create({ metadata: { name: "real-0" } });
    const s = new SimulatedNodes({ client, count: 1, namePrefix: "real-", log: () => {} });
    await expect(s.start()).rejects.toThrow(/not a simulated node/);
    await s.stop();
  });
});

describe("corekube simulated-nodes flags", () => {
  it("turns flags into options", () => {
    const cfg = parseSimulatedNodesFlags(["--kubeconfig", "/k", "--count", "5000", "--labels", "a=1,b=2", "--taints", "x=y:NoSchedule,z:NoExecute", "--heartbeat-interval", "30s", "--start-delay", "1s", "--delete-on-exit"]);
    expect(cfg.kubeconfig).toBe("/k");
    expect(cfg.deleteOnExit).toBe(true);
    expect(cfg.options).toMatchObject({
      count: 5000,
      namePrefix: "sim-",
      labels: { a: "1", b: "2" },
      taints: [
        { key: "x", value: "y", effect: "NoSchedule" },
        { key: "z", effect: "NoExecute" },
      ],
      heartbeatIntervalMs: 30_000,
      startDelayMs: 1000,
    });
    // Enough client rate for 5000 nodes' heartbeats.
    expect(cfg.qps).toBeGreaterThan(5000 / 30);
  });

  it("rejects bad flags with a usage error", () => {
    for (const [argv, msg] of [
      [["--count", "many"], /--count must be a whole number/],
      [["--labels", "novalue"], /--labels: "novalue" must look like key=value/],
      [["--taints", "k=v:Whenever"], /effect must be NoSchedule/],
      [["--heartbeat-interval", "0s"], /--heartbeat-interval must be longer than 0/],
      [["--memory", "lots"], /--memory must be a quantity/],
      [["--name-prefix", "Sim_"], /--name-prefix/],
      [["--bogus"], /unknown flag --bogus/],
    ] as const) {
      expect(() => parseSimulatedNodesFlags([...argv]), argv.join(" ")).toThrow(UsageError);
      expect(() => parseSimulatedNodesFlags([...argv])).toThrow(msg);
    }
  });
});
