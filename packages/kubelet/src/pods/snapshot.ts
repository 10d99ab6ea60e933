// Book 9.3 (pod lifecycle) and 9.4: what the kubelet knows about one pod from its runtime: its
// sandboxes and, per container name, the attempts made so far. Runtime-neutral, so the decisions
// that read it (what to start, kill, report) are pure functions.
import { createHash } from "node:crypto";
import type { Pod } from "@corekube/api";

export type ContainerState = "created" | "running" | "exited" | "unknown";

export interface ContainerAttempt {
  /** The runtime's id of this attempt. */
  id: string;
  name: string;
  /** Which restart this is (0 for the first run). */
  attempt: number;
  state: ContainerState;
  /** Hash of the container's spec when it was created: a changed spec means restart. */
  hash: string;
  image: string;
  imageID?: string;
  createdAt?: string;
  startedAt?: string;
  finishedAt?: string;
  exitCode?: number;
  /** Completed, Error, OOMKilled, ContainerCannotRun... */
  reason?: string;
  message?: string;
}

export interface SandboxAttempt {
  id: string;
  attempt: number;
  ready: boolean;
  ip?: string;
  createdAt: string;
}

export interface PodSnapshot {
  /** Newest first. */
  sandboxes: SandboxAttempt[];
  /** Every attempt of every container, newest first within a name. */
  containers: ContainerAttempt[];
}

export const emptySnapshot = (): PodSnapshot => ({ sandboxes: [], containers: [] });

/** The newest attempt of each container name. */
export function latestAttempts(s: PodSnapshot): Map<string, ContainerAttempt> {
  const out = new Map<string, ContainerAttempt>();
  for (const c of s.containers) {
    const cur = out.get(c.name);
    if (!cur || c.attempt > cur.attempt) out.set(c.name, c);
  }
  return out;
}

/** The attempt before the newest one (lastState in the API). */
export function previousAttempt(s: PodSnapshot, name: string): ContainerAttempt | undefined {
  return s.containers.filter((c) => c.name === name).sort((a, b) => b.attempt - a.attempt)[1];
}

/**
 * Container garbage collection within a pod (upstream keeps one dead container per container name
 * beside the live one): every exited attempt older than the newest two of its name, so a
 * crash-looping container keeps its current and previous runs (`kubectl logs --previous`) and no more.
 */
export function attemptsToRemove(s: PodSnapshot): ContainerAttempt[] {
  const byName = new Map<string, ContainerAttempt[]>();
  for (const c of s.containers) byName.set(c.name, [...(byName.get(c.name) ?? []), c]);
  const out: ContainerAttempt[] = [];
  for (const list of byName.values()) {
    list.sort((a, b) => b.attempt - a.attempt);
    for (const c of list.slice(2)) if (c.state === "exited") out.push(c);
  }
  return out;
}

type ContainerSpec = Pod["spec"]["containers"][number];

/** A stable hash of a container's spec: the kubelet restarts a container whose spec hash changed. */
export function containerHash(c: ContainerSpec): string {
  const canonical = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(canonical);
    if (v && typeof v === "object") return Object.fromEntries(Object.keys(v).sort().map((k) => [k, canonical((v as Record<string, unknown>)[k])]));
    return v;
  };
  // Only what defines the process: resources may change in place upstream; probes do not restart.
  const { resources: _r, livenessProbe: _l, readinessProbe: _rp, startupProbe: _s, ...rest } = c as Record<string, unknown>;
  return createHash("sha256").update(JSON.stringify(canonical(rest))).digest("hex").slice(0, 16);
}
