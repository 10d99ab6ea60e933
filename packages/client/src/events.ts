// Book 2.3.1 and 11.2: the event recorder components use to leave Events on objects (client-go's
// tools/record): fire-and-forget, written by a few background writers, repeats counted on one Event.
import { format } from "node:util";
import { type CoreEvent, type EventType, type KubeObject, eventKey, isNotFound, isStatusError, newEvent, referenceTo } from "@corekube/api";
import type { RestClient, ResourceClient } from "./rest.js";
import { EVENTS } from "./resources.js";

/** A repeat within this long of the last one patches the existing Event; later ones start a new Event. */
export const REPEAT_WINDOW_MS = 10 * 60 * 1000;
/** How many distinct events the recorder remembers for counting repeats (client-go's LRU size). */
export const CORRELATION_CACHE_SIZE = 4096;

export interface EventRecorderOptions {
  client: RestClient;
  /** Shown as the event's source, e.g. "default-scheduler". */
  component: string;
  /** The node or host the component runs on (source.host). */
  host?: string;
  /** Events waiting to be written; more are dropped (and counted). Default 1000. */
  maxQueued?: number;
  now?: () => Date;
  /** Tries per write when the server fails or cannot be reached. Default 3. */
  maxAttempts?: number;
  /** Wait before the second try; doubled for each further one. Default 200 ms. */
  retryBaseMs?: number;
  /**
   * Writers working at once. Events with the same key always go to the same writer, so a repeat is
   * written after the Event it counts on. Default 8 (one writer could not keep up with a scheduler).
   */
  writers?: number;
}

/** What the recorder remembers of an Event it wrote, to count a repeat on it. */
interface Written {
  name: string;
  namespace: string;
  count: number;
  firstTimestamp: string;
  /** When (by the recorder's clock) the event last happened. */
  lastSeenMs: number;
}

interface Pending {
  event: CoreEvent;
  at: Date;
}

/** A stable small hash of an event key, to pick its writer. */
function laneOf(key: string, lanes: number): number {
  let h = 0;
  for (let i = 0; i < key.length; i++) h = (h * 31 + key.charCodeAt(i)) | 0;
  return Math.abs(h) % lanes;
}

/** A Map used as a least-recently-used cache: reads move a key to the back, the front is evicted. */
class Lru<K, V> {
  private readonly map = new Map<K, V>();
  constructor(private readonly capacity: number) {}

  get(k: K): V | undefined {
    const v = this.map.get(k);
    if (v !== undefined) {
      this.map.delete(k);
      this.map.set(k, v);
    }
    return v;
  }

  set(k: K, v: V): void {
    this.map.delete(k);
    this.map.set(k, v);
    if (this.map.size > this.capacity) this.map.delete(this.map.keys().next().value as K);
  }

  delete(k: K): void {
    this.map.delete(k);
  }
}

/**
 * Records Events about objects. eventf() only queues; background writers create the Events (those with
 * the same key in order, by one writer). An event
 * that repeats one written in the last 10 minutes (same object, type, reason, message and source)
 * becomes a merge patch of that Event's count and lastTimestamp, so `kubectl describe` shows
 * "x5 over 3m" instead of five lines. Nothing here throws at the caller; failures are counted.
 */
export class EventRecorder {
  private readonly events: ResourceClient<KubeObject>;
  private readonly component: string;
  private readonly host: string | undefined;
  private readonly maxQueued: number;
  private readonly now: () => Date;
  private readonly maxAttempts: number;
  private readonly retryBaseMs: number;
  private readonly written = new Lru<string, Written>(CORRELATION_CACHE_SIZE);
  private readonly lanes: Pending[][];
  private readonly laneWriters: (Promise<void> | undefined)[];
  private queued = 0;
  private closed = false;
  private droppedCount = 0;
  private failedCount = 0;

  constructor(opts: EventRecorderOptions) {
    if (!opts.component) throw new Error("event recorder: component must not be empty");
    this.events = opts.client.resource(EVENTS);
    this.component = opts.component;
    this.host = opts.host;
    this.maxQueued = opts.maxQueued ?? 1000;
    this.now = opts.now ?? (() => new Date());
    this.maxAttempts = Math.max(1, opts.maxAttempts ?? 3);
    this.retryBaseMs = opts.retryBaseMs ?? 200;
    const writers = Math.max(1, opts.writers ?? 8);
    this.lanes = Array.from({ length: writers }, () => []);
    this.laneWriters = new Array(writers).fill(undefined);
  }

  /** Events not queued because the queue was full or the recorder closed. */
  get dropped(): number {
    return this.droppedCount;
  }

  /** Events the server would not take after every try. */
  get failed(): number {
    return this.failedCount;
  }

  /**
   * Records an Event about `obj`. With `args`, `message` is a format string ("%s", "%d", as
   * util.format reads them). Returns at once; the write happens in the background.
   */
  eventf(obj: KubeObject, type: EventType, reason: string, message: string, ...args: unknown[]): void {
    try {
      if (this.closed || this.queued >= this.maxQueued) {
        this.droppedCount++;
        return;
      }
      const at = this.now();
      const event = newEvent({
        involved: referenceTo(obj),
        type,
        reason,
        message: args.length > 0 ? format(message, ...args) : message,
        component: this.component,
        host: this.host,
        now: at,
      });
      const lane = laneOf(eventKey(event), this.lanes.length);
      this.lanes[lane]!.push({ event, at });
      this.queued++;
      // Start the lane's writer on a later tick, so eventf stays cheap and never waits.
      this.laneWriters[lane] ??= Promise.resolve().then(() => this.drain(lane));
    } catch {
      this.droppedCount++;
    }
  }

  /** Resolves once every event queued so far has been written (or given up on). */
  async flush(): Promise<void> {
    for (;;) {
      const busy = this.laneWriters.filter((w) => w !== undefined);
      if (busy.length === 0) return;
      await Promise.all(busy);
    }
  }

  /** Stops taking events and waits for the queued ones to be written. */
  async close(): Promise<void> {
    this.closed = true;
    await this.flush();
  }

  private async drain(lane: number): Promise<void> {
    const queue = this.lanes[lane]!;
    try {
      for (let p = queue.shift(); p; p = queue.shift()) {
        this.queued--;
        try {
          await this.write(p);
        } catch {
          this.failedCount++;
        }
      }
    } finally {
      this.laneWriters[lane] = undefined;
    }
  }

  private async write(p: Pending): Promise<void> {
    const key = eventKey(p.event);
    const atMs = p.at.getTime();
    const prev = this.written.get(key);
    if (prev && atMs - prev.lastSeenMs <= REPEAT_WINDOW_MS) {
      const count = prev.count + 1;
      try {
        const patched = (await this.withRetries(() =>
          this.events.patch(prev.name, { count, lastTimestamp: p.event.lastTimestamp }, "merge", { namespace: prev.namespace }),
        )) as Partial<CoreEvent>;
        this.written.set(key, { ...prev, count: patched.count ?? count, lastSeenMs: atMs });
        return;
      } catch (e) {
        if (!isNotFound(e)) {
          this.written.delete(key);
          throw e;
        }
        // The Event was deleted (or expired): write it again under its name, keeping the count.
        const again: CoreEvent = {
          ...p.event,
          metadata: { name: prev.name, namespace: prev.namespace },
          firstTimestamp: prev.firstTimestamp,
          count,
        };
        await this.create(key, again, atMs);
        return;
      }
    }
    await this.create(key, p.event, atMs);
  }

  private async create(key: string, event: CoreEvent, atMs: number): Promise<void> {
    try {
      const created = (await this.withRetries(() => this.events.create(event as unknown as KubeObject))) as Partial<CoreEvent>;
      this.written.set(key, {
        name: created.metadata?.name ?? event.metadata.name,
        namespace: created.metadata?.namespace ?? event.metadata.namespace,
        count: created.count ?? event.count,
        firstTimestamp: created.firstTimestamp ?? event.firstTimestamp,
        lastSeenMs: atMs,
      });
    } catch (e) {
      this.written.delete(key);
      throw e;
    }
  }

  /** Retries failures that may pass (no answer, or a 5xx); a 4xx answer will not change. */
  private async withRetries<R>(fn: () => Promise<R>): Promise<R> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await fn();
      } catch (e) {
        const permanent = isStatusError(e) && e.code >= 400 && e.code < 500;
        if (permanent || attempt >= this.maxAttempts) throw e;
        await new Promise((r) => setTimeout(r, this.retryBaseMs * 2 ** (attempt - 1)));
      }
    }
  }
}
