// Book 11.3: a StatefulSet's history: each pod template it has had is saved as a ControllerRevision
// named `<set>-<hash>`; the current and update revisions say which pods are old and which are new.
import type { KubeObject } from "@corekube/api";
import { CONTROLLER_REVISIONS } from "@corekube/client";
import { canonicalJSON, podTemplateHash } from "../deployment/hash.js";
import { newControllerRef } from "../framework/owners.js";
import type { PodTemplateSpec } from "../framework/pods.js";
import type { Action, ObjectReader } from "../framework/types.js";

/** The label on a ControllerRevision with the hash part of its name. */
export const REVISION_HASH_KEY = "controller.kubernetes.io/hash";

export interface ControllerRevision extends KubeObject {
  data?: unknown;
  revision?: number;
}

/** What a revision stores: the pod template, under the path it has in the set's spec. */
export function revisionData(template: PodTemplateSpec | undefined): { spec: { template: PodTemplateSpec } } {
  return { spec: { template: structuredClone(template ?? { spec: { containers: [] } }) } };
}

/** The pod template a revision recorded, or undefined when its data is not of that shape. */
export function templateOfRevision(rev: ControllerRevision): PodTemplateSpec | undefined {
  const t = (rev.data as { spec?: { template?: unknown } } | undefined)?.spec?.template;
  if (!t || typeof t !== "object") return undefined;
  const spec = (t as { spec?: unknown }).spec;
  return spec && typeof spec === "object" ? (t as PodTemplateSpec) : undefined;
}

function revisionNumber(r: ControllerRevision): number {
  return typeof r.revision === "number" && Number.isFinite(r.revision) ? r.revision : 0;
}

function createdMs(r: KubeObject): number {
  const t = r.metadata.creationTimestamp ? Date.parse(r.metadata.creationTimestamp) : NaN;
  return Number.isFinite(t) ? t : 0;
}

/** Oldest first: by revision number, then creation time, then name. */
export function sortRevisions(revs: ControllerRevision[]): ControllerRevision[] {
  return [...revs].sort((a, b) => revisionNumber(a) - revisionNumber(b) || createdMs(a) - createdMs(b) || (a.metadata.name ?? "").localeCompare(b.metadata.name ?? ""));
}

function sameData(a: ControllerRevision, data: unknown): boolean {
  return canonicalJSON(a.data) === canonicalJSON(data);
}

export interface RevisionPlan {
  /** The revision the set is rolling from (status.currentRevision), or the update revision at first. */
  current: ControllerRevision;
  /** The revision of the set's template now: pods should end up here. */
  update: ControllerRevision;
  collisionCount: number;
  /** A create (new template) or update (rollback: an old revision becomes the newest) of a revision. */
  actions: Action[];
}

export interface RevisionSet extends KubeObject {
  spec: { template?: PodTemplateSpec; [k: string]: unknown };
  status?: { currentRevision?: string; collisionCount?: number; [k: string]: unknown };
}

/**
 * Finds or makes the update revision for the set's template. `owned` are the set's revisions,
 * sorted oldest first. The same template as the newest revision reuses it; the same as an older one
 * is a rollback and that revision gets the next number; a new template gets a new revision, whose
 * name is hashed again with a higher collisionCount while it clashes with a different object.
 * Undefined only if no free name is found (a pathological namespace).
 */
export function planRevisions(set: RevisionSet, owned: ControllerRevision[], all: ObjectReader): RevisionPlan | undefined {
  const data = revisionData(set.spec.template);
  const next = owned.reduce((m, r) => Math.max(m, revisionNumber(r)), 0) + 1;
  let collisionCount = set.status?.collisionCount ?? 0;
  const actions: Action[] = [];
  const equal = owned.filter((r) => sameData(r, data));
  const newest = owned[owned.length - 1];
  let update: ControllerRevision;

  if (equal.length > 0 && equal[equal.length - 1] === newest) {
    update = newest!;
  } else if (equal.length > 0) {
    update = { ...structuredClone(equal[equal.length - 1]!), revision: next };
    actions.push({ verb: "update", resource: CONTROLLER_REVISIONS, object: update });
  } else {
    const ns = set.metadata.namespace;
    const tries = all.list({ namespace: ns }).length + 2;
    let found: ControllerRevision | undefined;
    for (let i = 0; i < tries && !found; i++) {
      const hash = podTemplateHash(data.spec.template, collisionCount);
      const name = `${set.metadata.name ?? ""}-${hash}`;
      if (!all.get(name, ns)) {
        found = {
          apiVersion: "apps/v1",
          kind: "ControllerRevision",
          metadata: {
            name,
            namespace: ns,
            labels: { ...(set.spec.template?.metadata?.labels ?? {}), [REVISION_HASH_KEY]: hash },
            ownerReferences: [newControllerRef(set, "apps/v1", "StatefulSet")],
          },
          data,
          revision: next,
        };
      } else {
        // The name is taken by another template or another owner: move on to a new name.
        collisionCount++;
      }
    }
    if (!found) return undefined;
    update = found;
    actions.push({ verb: "create", resource: CONTROLLER_REVISIONS, object: update });
  }

  const wanted = set.status?.currentRevision;
  const current = (wanted && owned.find((r) => r.metadata.name === wanted)) || update;
  return { current, update, collisionCount, actions };
}

/**
 * The revisions to delete so that at most `limit` non-live ones remain (oldest go first). Live:
 * the current and update revisions and any revision a pod still runs. `owned` is sorted oldest first.
 */
export function revisionsToPrune(owned: ControllerRevision[], live: ReadonlySet<string>, limit: number): ControllerRevision[] {
  const history = owned.filter((r) => !live.has(r.metadata.name ?? ""));
  if (limit < 0 || history.length <= limit) return [];
  return history.slice(0, history.length - limit);
}
