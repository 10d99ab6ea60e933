#!/usr/bin/env -S node --import tsx
// Book 1.6: the `corekube` command — one binary that starts each component of the cluster (like
// kube-apiserver, etcd, ...) or the whole single-node cluster, and the tools to poke at them.
import { kvctlMain } from "@corekube/kv/kvctl/main";
import { downCommand, statusCommand, upCommand } from "./commands/cluster.js";
import { kvCommand } from "./commands/kv.js";
import { apiserverCommand } from "./commands/apiserver.js";
import { controllerManagerCommand } from "./commands/controller-manager.js";
import { dnsCommand } from "./commands/dns.js";
import { doctorCommand } from "./commands/doctor.js";
import { imagesCommand } from "./commands/images.js";
import { kubeletCommand } from "./commands/kubelet.js";
import { proxyCommand } from "./commands/proxy.js";
import { schedulerCommand } from "./commands/scheduler.js";
import { simulatedNodesCommand } from "./commands/simulated-nodes.js";
import { UsageError } from "./flags.js";

const COMMANDS: Record<string, { summary: string; run: (argv: string[]) => Promise<number> }> = {
  up: { summary: "start a single-node cluster in the background", run: upCommand },
  down: { summary: "stop everything `up` started (--purge also deletes data)", run: downCommand },
  status: { summary: "show which components run", run: statusCommand },
  doctor: { summary: "check what the kubelet needs on this machine (root, namespaces, cgroups, tools, the first image)", run: doctorCommand },
  kv: { summary: "run a member of the Raft-replicated key-value store (etcd's flags and API)", run: kvCommand },
  apiserver: { summary: "run the Kubernetes API server (kube-apiserver's flags)", run: apiserverCommand },
  images: { summary: "the node's image store: import an OCI layout, list, rm, pull", run: imagesCommand },
  "controller-manager": { summary: "run the controllers (kube-controller-manager's flags): Deployments, ReplicaSets, Jobs, ...", run: controllerManagerCommand },
  kubelet: { summary: "run the node agent (the kubelet's flags): pods from namespaces, overlayfs, cgroups and CNI (Linux, root)", run: kubeletCommand },
  scheduler: { summary: "run the scheduler (kube-scheduler's flags): assigns pending pods to nodes", run: schedulerCommand },
  "simulated-nodes": { summary: "register N fake nodes and play their kubelet (like kwok), to explore and load-test", run: simulatedNodesCommand },
  proxy: { summary: "run the Service proxy (kube-proxy's flags, iptables mode): ClusterIP and NodePort rules on this node", run: proxyCommand },
  dns: { summary: "run the cluster DNS server (like CoreDNS with its kubernetes plugin): Service and pod names", run: dnsCommand },
  kvctl: { summary: "an etcdctl-like client for corekube kv or a real etcd", run: (argv) => kvctlMain(argv) },
};

function help(): string {
  const rows = Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(19)} ${c.summary}`);
  return `corekube: a small, real Kubernetes to read beside the book Core Kubernetes.\n\nUsage: corekube <command> [flags]   (corekube <command> --help for its flags)\n\nCommands:\n${rows.join("\n")}\n`;
}

async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  if (!cmd || cmd === "--help" || cmd === "-h" || cmd === "help") {
    process.stdout.write(help());
    return 0;
  }
  const c = COMMANDS[cmd];
  if (!c) {
    process.stderr.write(`corekube: unknown command "${cmd}"\n\n${help()}`);
    return 2;
  }
  try {
    return await c.run(rest);
  } catch (e) {
    if (e instanceof UsageError) {
      process.stderr.write(`corekube ${cmd}: ${e.message}\nRun "corekube ${cmd} --help" for the flags.\n`);
      return 2;
    }
    process.stderr.write(`corekube ${cmd}: ${(e as Error).message}\n`);
    return 1;
  }
}

process.exitCode = await main(process.argv.slice(2));
