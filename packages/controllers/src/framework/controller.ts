// Book 11.3: the controller loop: informer events become keys in a rate-limited work queue; workers
// take a key, call the pure reconcile, and perform the writes it returned. A failed write puts the
// key back with backoff; a quiet success forgets its failures.
import { type KubeObject, isAlreadyExists, isConflict, isNotFound } from "@corekube/api";
import { type EventRecorder, RateLimitingQueue, type RestClient, metaKey } from "@corekube/client";
import type { Action, ReconcileResult } from "./types.js";

/** Performs one action; NotFound on delete/patch and AlreadyExists on create are not failures. */
export async function performAction(client: RestClient, recorder: EventRecorder | undefined, a: Action): Promise<void> {
  try {
    switch (a.verb) {
      case "create":
        await client.resource(a.resource).create(a.object, { namespace: a.object.metadata.namespace });
        return;
      case "update":
        if (a.subresource) {
          const rc = client.resource(a.resource);
          await client.request("PUT", rc.path(a.object.metadata.namespace, a.object.metadata.name, a.subresource), { body: a.object });
        } else await client.resource(a.resource).update(a.object);
        return;
      case "updateStatus":
        await client.resource(a.resource).updateStatus(a.object);
        return;
      case "patch":
        await client.resource(a.resource).patch(a.name, a.patch, a.patchType, { namespace: a.namespace, subresource: a.subresource });
        return;
      case "delete":
        await client.resource(a.resource).delete(a.name, {
          namespace: a.namespace,
          preconditions: a.uid ? { uid: a.uid } : undefined,
          propagationPolicy: a.propagationPolicy,
          gracePeriodSeconds: a.gracePeriodSeconds,
        });
        return;
      case "event":
        recorder?.eventf(a.object, a.type, a.reason, a.message);
        return;
    }
  } catch (e) {
    if ((a.verb === "delete" || a.verb === "patch") && isNotFound(e)) return;
    if (a.verb === "create" && isAlreadyExists(e)) return;
    throw e;
  }
}

const isPodBatchable = (a: Action): boolean => (a.verb === "create" || a.verb === "delete") && a.resource.resource === "pods" && a.resource.group === "";

export interface ControllerOptions {
  name: string;
  client: RestClient;
  recorder?: EventRecorder;
  /** Usually pure and synchronous; a wiring may make it async to check the API server first. */
  reconcile: (key: string) => ReconcileResult | Promise<ReconcileResult>;
  /** Told about an action that failed (e.g. to lower a ReplicaSet's expectations). */
  onActionFailed?: (key: string, action: Action) => void;
  workers?: number;
  log?: (line: string) => void;
}

/** A named controller: enqueue keys from handlers; run() processes them until stopped. */
/** Counters behind the controller-manager's /metrics (upstream's workqueue_* and sync metrics). */
export interface ControllerStats {
  adds: number;
  reconciles: number;
  errors: number;
  actions: number;
  /** Seconds spent in reconcile plus writes, summed. */
  busySeconds: number;
}

export class Controller {
  readonly queue = new RateLimitingQueue<string>();
  readonly stats: ControllerStats = { adds: 0, reconciles: 0, errors: 0, actions: 0, busySeconds: 0 };
  private readonly log: (line: string) => void;

  constructor(private readonly opts: ControllerOptions) {
    this.log = opts.log ?? (() => undefined);
  }

  /** The usual handler: queue the object's "namespace/name" key. */
  enqueue = (obj: KubeObject): void => this.add(metaKey(obj));

  /** Queue a key (counted for /metrics). */
  add = (key: string): void => {
    this.stats.adds++;
    this.queue.add(key);
  };

  get name(): string {
    return this.opts.name;
  }

  async run(): Promise<void> {
    const workers = Array.from({ length: this.opts.workers ?? 2 }, () => this.worker());
    await Promise.all(workers);
  }

  async stop(): Promise<void> {
    await this.queue.shutDownWithDrain();
  }

  /**
   * Writes of one reconcile go in order, since a later one may depend on an earlier one; a run of pod
   * creations (or deletions) is the exception: those are independent, and go out in batches of 1, 2,
   * 4, ... at once (upstream's slow start), so a failing batch costs one request, not hundreds.
   */
  private async perform(key: string, actions: Action[]): Promise<void> {
    const failed = (a: Action) => this.opts.onActionFailed?.(key, a);
    let i = 0;
    while (i < actions.length) {
      const first = actions[i]!;
      if (!isPodBatchable(first)) {
        try {
          this.stats.actions++;
          await performAction(this.opts.client, this.opts.recorder, first);
        } catch (e) {
          // This action and the ones not tried yet will not happen.
          for (const a of actions.slice(i)) failed(a);
          throw e;
        }
        i++;
        continue;
      }
      let end = i;
      while (end < actions.length && isPodBatchable(actions[end]!) && actions[end]!.verb === first.verb) end++;
      let size = 1;
      while (i < end) {
        const batch = actions.slice(i, Math.min(end, i + size));
        this.stats.actions += batch.length;
        const results = await Promise.allSettled(batch.map((a) => performAction(this.opts.client, this.opts.recorder, a)));
        i += batch.length;
        size *= 2;
        const errors = results.flatMap((r, j) => (r.status === "rejected" ? [[batch[j]!, r.reason as unknown] as const] : []));
        if (errors.length > 0) {
          for (const [a, e] of errors) {
            failed(a);
            this.reportFailedCreate(a, e);
          }
          for (const a of actions.slice(i)) failed(a);
          throw errors[0]![1];
        }
      }
    }
  }

  /** A refused pod creation shows up on the owner as upstream's FailedCreate event (quota, admission). */
  private reportFailedCreate(a: Action, e: unknown): void {
    if (a.verb !== "create" || !this.opts.recorder) return;
    const ref = a.object.metadata.ownerReferences?.find((r) => r.controller);
    if (!ref) return;
    const owner = { apiVersion: ref.apiVersion, kind: ref.kind, metadata: { name: ref.name, namespace: a.object.metadata.namespace, uid: ref.uid } };
    this.opts.recorder.eventf(owner, "Warning", "FailedCreate", `Error creating: ${(e as Error).message}`);
  }

  private async worker(): Promise<void> {
    for (;;) {
      const r = await this.queue.get();
      if (r.shutdown) return;
      const key = r.item;
      const started = performance.now();
      this.stats.reconciles++;
      try {
        const result = await this.opts.reconcile(key);
        await this.perform(key, result.actions);
        this.queue.forget(key);
        if (result.requeueAfterMs !== undefined) this.queue.addAfter(key, result.requeueAfterMs);
      } catch (e) {
        this.stats.errors++;
        // A conflict means our cache was behind: a quick retry with the newer state.
        if (!isConflict(e)) this.log(`${this.opts.name}: ${key}: ${(e as Error).message}`);
        this.queue.addRateLimited(key);
      } finally {
        this.stats.busySeconds += (performance.now() - started) / 1000;
        this.queue.done(key);
      }
    }
  }
}
