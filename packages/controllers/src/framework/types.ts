// Book 11.3 and 2.3.3: the controller pattern as data: a reconcile reads the informers' cached state
// and returns the writes that would bring the world closer to the spec; the wiring performs them.
// Keeping reconcile pure makes every controller readable and testable without an API server.
import type { KubeObject, Selector } from "@corekube/api";
import type { PatchType, ResourceType } from "@corekube/client";

/** Read access to one informer's cache (the client's Lister satisfies it). */
export interface ObjectReader<T extends KubeObject = KubeObject> {
  get(name: string, namespace?: string): T | undefined;
  list(opts?: { namespace?: string; selector?: Selector }): T[];
}

/** One write a reconcile asks for. */
export type Action =
  | { verb: "create"; resource: ResourceType; object: KubeObject }
  | {
      verb: "update";
      resource: ResourceType;
      object: KubeObject;
      /** A PUT to a subresource instead (e.g. "finalize" for namespaces). */
      subresource?: string;
    }
  | { verb: "updateStatus"; resource: ResourceType; object: KubeObject }
  | { verb: "patch"; resource: ResourceType; namespace?: string; name: string; patchType: PatchType; patch: unknown; subresource?: string }
  | {
      verb: "delete";
      resource: ResourceType;
      namespace?: string;
      name: string;
      /** Precondition: only this incarnation of the object. */
      uid?: string;
      propagationPolicy?: "Orphan" | "Background" | "Foreground";
      gracePeriodSeconds?: number;
    }
  | { verb: "event"; object: KubeObject; type: "Normal" | "Warning"; reason: string; message: string };

export interface ReconcileResult {
  actions: Action[];
  /** Look at this key again after this long even if nothing changes (deadlines, delays). */
  requeueAfterMs?: number;
}

export const nothingToDo = (): ReconcileResult => ({ actions: [] });

/** Time as reconciles see it: injectable, so tests (and CronJob) control it. */
export interface Clock {
  now(): Date;
}

export const realClock: Clock = { now: () => new Date() };

/** A fixed or advanceable clock for tests. */
export class FakeClock implements Clock {
  constructor(private t: Date) {}
  now(): Date {
    return new Date(this.t.getTime());
  }
  advance(ms: number): void {
    this.t = new Date(this.t.getTime() + ms);
  }
  set(d: Date): void {
    this.t = new Date(d.getTime());
  }
}
