// Book 11.2: the controller work queue: dedup, one worker per key, delays and retry backoff,
// checked with a fake clock so no test sleeps.
import { describe, expect, it } from "vitest";
import {
  BucketRateLimiter,
  type Clock,
  DelayingQueue,
  defaultControllerRateLimiter,
  ItemExponentialFailureRateLimiter,
  MaxOfRateLimiter,
  RateLimitingQueue,
  WorkQueue,
} from "./workqueue.js";

/** A clock that moves only when told to, firing due timers in time order. */
class FakeClock implements Clock {
  t = 0;
  private timers = new Map<number, { at: number; fn: () => void }>();
  private next = 1;

  now(): number {
    return this.t;
  }
  setTimeout(fn: () => void, ms: number): unknown {
    const id = this.next++;
    this.timers.set(id, { at: this.t + ms, fn });
    return id;
  }
  clearTimeout(handle: unknown): void {
    this.timers.delete(handle as number);
  }
  pending(): number {
    return this.timers.size;
  }
  advance(ms: number): void {
    const end = this.t + ms;
    for (;;) {
      let first: [number, { at: number; fn: () => void }] | undefined;
      for (const e of this.timers) if (e[1].at <= end && (!first || e[1].at < first[1].at)) first = e;
      if (!first) break;
      this.timers.delete(first[0]);
      this.t = Math.max(this.t, first[1].at);
      first[1].fn();
    }
    this.t = end;
  }
}

/** Everything ready right now, without waiting. */
async function drain<T>(q: WorkQueue<T>): Promise<T[]> {
  const out: T[] = [];
  while (q.len() > 0) {
    const r = await q.get();
    if (r.shutdown) break;
    out.push(r.item);
  }
  return out;
}

const settled = () => new Promise((r) => setImmediate(r));

describe("WorkQueue", () => {
  it("hands items out in order and adds a waiting item only once", async () => {
    const q = new WorkQueue();
    q.add("a");
    q.add("b");
    q.add("a");
    expect(q.len()).toBe(2);
    expect(await q.get()).toEqual({ item: "a", shutdown: false });
    expect(await q.get()).toEqual({ item: "b", shutdown: false });
    expect(q.len()).toBe(0);
  });

  it("get() waits for an add", async () => {
    const q = new WorkQueue();
    let got: unknown;
    const p = q.get().then((r) => (got = r));
    await settled();
    expect(got).toBeUndefined();
    q.add("x");
    await p;
    expect(got).toEqual({ item: "x", shutdown: false });
  });

  it("an item added while processing is not handed out again until done(), then comes back once", async () => {
    const q = new WorkQueue();
    q.add("k");
    const first = await q.get();
    expect(first).toEqual({ item: "k", shutdown: false });
    q.add("k");
    q.add("k");
    expect(q.len()).toBe(0); // not queued while a worker holds it

    let second: unknown;
    void q.get().then((r) => (second = r));
    await settled();
    expect(second).toBeUndefined();

    q.done("k");
    await settled();
    expect(second).toEqual({ item: "k", shutdown: false });
    q.done("k");
    expect(q.len()).toBe(0);
  });

  it("done() of an item not re-added leaves the queue empty", async () => {
    const q = new WorkQueue();
    q.add("k");
    await q.get();
    q.done("k");
    expect(q.len()).toBe(0);
    q.add("k");
    expect(q.len()).toBe(1);
  });

  it("after shutDown: adds are ignored, queued items still come out, then shutdown", async () => {
    const q = new WorkQueue();
    q.add("a");
    q.shutDown();
    expect(q.shuttingDown()).toBe(true);
    q.add("b");
    expect(await q.get()).toEqual({ item: "a", shutdown: false });
    expect(await q.get()).toEqual({ shutdown: true });
  });

  it("shutDown wakes every waiting get()", async () => {
    const q = new WorkQueue();
    const waits = [q.get(), q.get()];
    q.shutDown();
    expect(await Promise.all(waits)).toEqual([{ shutdown: true }, { shutdown: true }]);
  });

  it("shutDownWithDrain waits for items in flight", async () => {
    const q = new WorkQueue();
    q.add("a");
    q.add("b");
    await q.get();
    await q.get();
    let drained = false;
    const p = q.shutDownWithDrain().then(() => (drained = true));
    q.done("a");
    await settled();
    expect(drained).toBe(false);
    q.done("b");
    await p;
    expect(drained).toBe(true);
    expect(await q.get()).toEqual({ shutdown: true });
  });

  it("shutDownWithDrain returns at once when nothing is in flight", async () => {
    const q = new WorkQueue();
    await q.shutDownWithDrain();
    expect(q.shuttingDown()).toBe(true);
  });

  it("works with several concurrent workers, each key held by one worker at a time", async () => {
    const q = new WorkQueue();
    const holding = new Set<string>();
    let overlap = false;
    const processed: string[] = [];
    const worker = async () => {
      for (;;) {
        const r = await q.get();
        if (r.shutdown) return;
        if (holding.has(r.item)) overlap = true;
        holding.add(r.item);
        await settled();
        processed.push(r.item);
        holding.delete(r.item);
        q.done(r.item);
      }
    };
    const workers = [worker(), worker(), worker()];
    for (let round = 0; round < 5; round++) {
      for (const k of ["a", "b", "c", "a"]) q.add(k);
      await settled();
    }
    await q.shutDownWithDrain();
    q.shutDown();
    await Promise.all(workers);
    expect(overlap).toBe(false);
    expect(new Set(processed)).toEqual(new Set(["a", "b", "c"]));
  });
});

describe("DelayingQueue", () => {
  it("adds an item only once its delay has passed", async () => {
    const clock = new FakeClock();
    const q = new DelayingQueue({ clock });
    q.addAfter("a", 50);
    expect(q.len()).toBe(0);
    clock.advance(49);
    expect(q.len()).toBe(0);
    clock.advance(1);
    expect(await drain(q)).toEqual(["a"]);
  });

  it("a zero or negative delay adds at once", async () => {
    const q = new DelayingQueue({ clock: new FakeClock() });
    q.addAfter("a", 0);
    q.addAfter("b", -5);
    expect(await drain(q)).toEqual(["a", "b"]);
  });

  it("releases items in order of readiness, not of adding", async () => {
    const clock = new FakeClock();
    const q = new DelayingQueue({ clock });
    q.addAfter("late", 300);
    q.addAfter("early", 100);
    q.addAfter("middle", 200);
    clock.advance(1000);
    expect(await drain(q)).toEqual(["early", "middle", "late"]);
  });

  it("an earlier time for a waiting item wins; a later one is ignored", async () => {
    const clock = new FakeClock();
    const q = new DelayingQueue({ clock });
    q.addAfter("a", 1000);
    q.addAfter("a", 100);
    q.addAfter("a", 5000);
    expect(q.waitingLen()).toBe(1);
    clock.advance(100);
    expect(await drain(q)).toEqual(["a"]);
    expect(q.waitingLen()).toBe(0);
    clock.advance(10_000);
    expect(q.len()).toBe(0); // the replaced 1000 ms entry did not add it again
  });

  it("keeps one timer armed, for the earliest item", () => {
    const clock = new FakeClock();
    const q = new DelayingQueue({ clock });
    for (let i = 0; i < 10; i++) q.addAfter(`k${i}`, 100 + i);
    expect(clock.pending()).toBe(1);
    q.addAfter("first", 10);
    expect(clock.pending()).toBe(1);
  });

  it("shutDown drops waiting items and their timer", async () => {
    const clock = new FakeClock();
    const q = new DelayingQueue({ clock });
    q.addAfter("a", 100);
    q.shutDown();
    expect(clock.pending()).toBe(0);
    clock.advance(200);
    expect(await q.get()).toEqual({ shutdown: true });
    q.addAfter("b", 1);
    expect(q.waitingLen()).toBe(0);
  });

  it("a delayed item that is already queued is not added twice", async () => {
    const clock = new FakeClock();
    const q = new DelayingQueue({ clock });
    q.add("a");
    q.addAfter("a", 10);
    clock.advance(10);
    expect(await drain(q)).toEqual(["a"]);
  });
});

describe("rate limiters", () => {
  it("ItemExponentialFailureRateLimiter doubles per item up to the cap, and forget resets", () => {
    const rl = new ItemExponentialFailureRateLimiter(5, 100);
    expect([1, 2, 3, 4, 5, 6].map(() => rl.when("a"))).toEqual([5, 10, 20, 40, 80, 100]);
    expect(rl.when("b")).toBe(5);
    expect(rl.numRequeues("a")).toBe(6);
    rl.forget("a");
    expect(rl.numRequeues("a")).toBe(0);
    expect(rl.when("a")).toBe(5);
  });

  it("ItemExponentialFailureRateLimiter defaults to 5 ms and 1000 s, without overflowing", () => {
    const rl = new ItemExponentialFailureRateLimiter();
    expect(rl.when("a")).toBe(5);
    for (let i = 0; i < 2000; i++) rl.when("a");
    expect(rl.when("a")).toBe(1000_000);
  });

  it("BucketRateLimiter lets a burst through, then spaces tries at 1/qps, and refills with time", () => {
    let t = 0;
    const rl = new BucketRateLimiter(10, 3, () => t);
    expect([rl.when("a"), rl.when("b"), rl.when("c")]).toEqual([0, 0, 0]);
    expect(rl.when("d")).toBeCloseTo(100);
    expect(rl.when("e")).toBeCloseTo(200);
    t = 1000; // 10 tokens' worth, but the 2 owed are paid first and the bucket holds 3
    expect([rl.when("f"), rl.when("g"), rl.when("h")]).toEqual([0, 0, 0]);
    expect(rl.when("i")).toBeCloseTo(100);
    expect(rl.numRequeues("a")).toBe(0);
  });

  it("MaxOfRateLimiter answers the longest delay and tracks requeues", () => {
    let t = 0;
    const rl = new MaxOfRateLimiter(new ItemExponentialFailureRateLimiter(1, 1000), new BucketRateLimiter(1, 2, () => t));
    expect(rl.when("a")).toBe(1); // bucket says 0, backoff 1
    expect(rl.when("a")).toBe(2);
    expect(rl.when("b")).toBeCloseTo(1000); // the bucket is empty now
    expect(rl.numRequeues("a")).toBe(2);
    rl.forget("a");
    expect(rl.numRequeues("a")).toBe(0);
  });

  it("defaultControllerRateLimiter starts at 5 ms per item and throttles the 101st item overall", () => {
    const t = 0;
    const rl = defaultControllerRateLimiter({ now: () => t });
    expect(rl.when("x")).toBe(5);
    expect(rl.when("x")).toBe(10);
    for (let i = 0; i < 98; i++) rl.when(`k${i}`);
    expect(rl.when("late")).toBeCloseTo(100); // burst of 100 spent, 10 qps
  });
});

describe("RateLimitingQueue", () => {
  it("retries a failing item with growing delays until forgotten", async () => {
    const clock = new FakeClock();
    const q = new RateLimitingQueue({ clock, rateLimiter: new ItemExponentialFailureRateLimiter(10, 1000) });
    q.addRateLimited("k");
    expect(q.numRequeues("k")).toBe(1);
    clock.advance(9);
    expect(q.len()).toBe(0);
    clock.advance(1);
    expect(await drain(q)).toEqual(["k"]);
    q.done("k");

    q.addRateLimited("k"); // second failure: 20 ms
    clock.advance(19);
    expect(q.len()).toBe(0);
    clock.advance(1);
    expect(await drain(q)).toEqual(["k"]);
    q.done("k");

    q.forget("k");
    expect(q.numRequeues("k")).toBe(0);
    q.addRateLimited("k");
    clock.advance(10);
    expect(q.len()).toBe(1);
  });

  it("uses the default controller limiter when none is given", async () => {
    const clock = new FakeClock();
    const q = new RateLimitingQueue({ clock });
    q.addRateLimited("k");
    clock.advance(4);
    expect(q.len()).toBe(0);
    clock.advance(1);
    expect(await drain(q)).toEqual(["k"]);
  });
});
