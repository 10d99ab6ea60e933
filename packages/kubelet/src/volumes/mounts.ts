// Book 7.1-7.2: from a container's volumeMounts to the runtime's bind mounts: host path, read-only,
// propagation, and subPath / subPathExpr directories made inside the volume (never outside it).
import { chmodSync, lstatSync, mkdirSync, realpathSync, statSync } from "node:fs";
import { isAbsolute, join } from "node:path";
import type { Container, Pod } from "@corekube/api";
import type { Mount, MountPropagation } from "../runtime/cri.js";
import { expandVars, fieldRefValue } from "./downward.js";
import type { MountedVolume } from "./manager.js";
import { type EnvVar, type Volume, type VolumeMount, VolumeError } from "./types.js";

export type { Mount, MountPropagation };

/** A container's resolved environment: a name → value record or the runtime's key/value list. */
export type EnvLike = Record<string, string> | ReadonlyArray<{ key: string; value: string }>;

const configError = (detail: string) => new VolumeError("CreateContainerConfigError", detail);

/**
 * The environment subPathExpr can use when the caller passes none: the container's literal values
 * (with $(VAR) references to earlier ones expanded) and fieldRefs to pod metadata, spec and status.
 */
export function basicContainerEnv(pod: Pod, container: Container): Map<string, string> {
  const env = new Map<string, string>();
  for (const e of (container.env as EnvVar[] | undefined) ?? []) {
    if (!e?.name) continue;
    if (e.value !== undefined) env.set(e.name, expandVars(String(e.value), (n) => env.get(n)));
    else if (e.valueFrom?.fieldRef) {
      try {
        env.set(e.name, fieldRefValue(pod, e.valueFrom.fieldRef.fieldPath, true));
      } catch {
        // not a field this helper knows; the caller can pass the resolved env instead
      }
    } else if (e.valueFrom === undefined) env.set(e.name, "");
  }
  return env;
}

function envMap(env: EnvLike): Map<string, string> {
  if (Array.isArray(env)) return new Map((env as ReadonlyArray<{ key: string; value: string }>).map((kv) => [kv.key, kv.value]));
  return new Map(Object.entries(env as Record<string, string>));
}

const PROPAGATION: Record<string, MountPropagation> = {
  None: "PROPAGATION_PRIVATE",
  HostToContainer: "PROPAGATION_HOST_TO_CONTAINER",
  Bidirectional: "PROPAGATION_BIDIRECTIONAL",
};

const inside = (base: string, p: string) => p === base || p.startsWith(base.endsWith("/") ? base : `${base}/`);

/**
 * Makes `sub` exist inside the volume at `base` (missing directories get the volume directory's mode,
 * as upstream does) and returns its resolved host path. Symlinks are followed only while they stay
 * inside the volume.
 */
export function prepareSubPath(base: string, sub: string, describe: string): string {
  const baseReal = realpathSync(base);
  if (!statSync(baseReal).isDirectory()) throw configError(`${describe}: the volume is not a directory, so it has no subPath`);
  const perm = statSync(baseReal).mode & 0o7777;
  const parts = sub.split("/").filter((s) => s !== "" && s !== ".");
  let cur = baseReal;
  for (const [i, part] of parts.entries()) {
    const next = join(cur, part);
    let st: ReturnType<typeof lstatSync> | undefined;
    try {
      st = lstatSync(next);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "ENOENT") throw configError(`${describe}: ${(e as Error).message}`);
    }
    if (!st) {
      try {
        mkdirSync(next, { mode: perm });
        chmodSync(next, perm);
      } catch (e) {
        throw configError(`${describe}: cannot create the subPath directory: ${(e as Error).message}`);
      }
      cur = next;
      continue;
    }
    if (st.isSymbolicLink()) {
      let resolved: string;
      try {
        resolved = realpathSync(next);
      } catch {
        throw configError(`${describe}: ${parts.slice(0, i + 1).join("/")} is a dangling symlink`);
      }
      if (!inside(baseReal, resolved)) throw configError(`${describe}: ${parts.slice(0, i + 1).join("/")} resolves outside the volume`);
      cur = resolved;
    } else cur = next;
    if (i < parts.length - 1 && !statSync(cur).isDirectory()) {
      throw configError(`${describe}: ${parts.slice(0, i + 1).join("/")} is not a directory`);
    }
  }
  return cur;
}

/** The mounts for `container`'s volumeMounts, given the pod's prepared volumes. */
export function containerMounts(pod: Pod, container: Container, volumes: ReadonlyMap<string, MountedVolume>, env?: EnvLike): Mount[] {
  const cname = container?.name ?? "";
  const specVolumes = new Set(((pod.spec?.volumes ?? []) as Volume[]).map((v) => v?.name));
  const vms = (container?.volumeMounts as VolumeMount[] | undefined) ?? [];
  if (!Array.isArray(vms)) throw configError(`volumeMounts of container "${cname}" is not a list`);
  let envCache: Map<string, string> | undefined;
  const out: Mount[] = [];
  for (const vm of vms) {
    if (!vm?.name) throw configError(`a volumeMount of container "${cname}" has no volume name`);
    const what = `volumeMount "${vm.name}" of container "${cname}"`;
    if (!specVolumes.has(vm.name)) throw configError(`cannot find volume "${vm.name}" to mount into container "${cname}"`);
    const mv = volumes.get(vm.name);
    if (!mv) throw configError(`volume "${vm.name}" of container "${cname}" is not set up yet`);
    if (typeof vm.mountPath !== "string" || !isAbsolute(vm.mountPath)) {
      throw configError(`mountPath ${JSON.stringify(vm.mountPath ?? "")} of ${what} must be an absolute path`);
    }
    if (vm.subPath && vm.subPathExpr) throw configError(`${what} sets both subPath and subPathExpr`);
    let sub = vm.subPath ?? "";
    if (vm.subPathExpr) {
      envCache ??= env ? envMap(env) : basicContainerEnv(pod, container);
      const missing = new Set<string>();
      const lookup = (n: string) => {
        const val = envCache!.get(n);
        if (val === undefined || val === "") missing.add(n);
        return val ?? "";
      };
      sub = expandVars(vm.subPathExpr, lookup);
      if (missing.size > 0) throw configError(`cannot expand subPathExpr ${JSON.stringify(vm.subPathExpr)} of ${what}: missing value for ${[...missing].sort().join(", ")}`);
    }
    let hostPath = mv.path;
    if (sub !== "") {
      if (isAbsolute(sub)) throw configError(`subPath ${JSON.stringify(sub)} of ${what} must not be an absolute path`);
      if (sub.split("/").includes("..")) throw configError(`subPath ${JSON.stringify(sub)} of ${what} must not contain '..'`);
      hostPath = prepareSubPath(mv.path, sub, `subPath ${JSON.stringify(sub)} of ${what}`);
    }
    let propagation: MountPropagation | undefined;
    if (vm.mountPropagation !== undefined) {
      propagation = PROPAGATION[vm.mountPropagation];
      if (!propagation) throw configError(`invalid mountPropagation ${JSON.stringify(vm.mountPropagation)} of ${what} (want None, HostToContainer or Bidirectional)`);
      const privileged = (container.securityContext as { privileged?: boolean } | undefined)?.privileged === true;
      if (propagation === "PROPAGATION_BIDIRECTIONAL" && !privileged) {
        throw configError(`${what}: Bidirectional mount propagation is available only to privileged containers`);
      }
    }
    out.push({ hostPath, containerPath: vm.mountPath, readonly: vm.readOnly === true || mv.readOnly, ...(propagation ? { propagation } : {}) });
  }
  return out;
}
