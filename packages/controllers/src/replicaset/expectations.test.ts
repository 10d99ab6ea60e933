// Book 2.3.3 and 11.3: tests for controller expectations: writes in flight block the next round
// until observed or until the TTL passes.
import { describe, expect, it } from "vitest";
import { FakeClock } from "../framework/types.js";
import { EXPECTATIONS_TTL_MS, Expectations } from "./expectations.js";

describe("Expectations", () => {
  it("is satisfied for a key it has never heard of", () => {
    expect(new Expectations(new FakeClock(new Date(0))).satisfied("ns/a")).toBe(true);
  });

  it("waits until every expected creation and deletion is observed", () => {
    const e = new Expectations(new FakeClock(new Date(0)));
    e.expect("ns/a", 2, 1);
    expect(e.satisfied("ns/a")).toBe(false);
    e.creationObserved("ns/a");
    e.creationObserved("ns/a");
    expect(e.satisfied("ns/a")).toBe(false);
    e.deletionObserved("ns/a");
    expect(e.satisfied("ns/a")).toBe(true);
    expect(e.satisfied("ns/b")).toBe(true);
  });

  it("gives up waiting after the TTL", () => {
    const clock = new FakeClock(new Date(0));
    const e = new Expectations(clock);
    e.expect("ns/a", 3, 0);
    clock.advance(EXPECTATIONS_TTL_MS);
    expect(e.satisfied("ns/a")).toBe(false);
    clock.advance(1);
    expect(e.satisfied("ns/a")).toBe(true);
  });

  it("forgets a deleted key, and observations for unknown keys are harmless", () => {
    const e = new Expectations(new FakeClock(new Date(0)));
    e.creationObserved("ns/x");
    expect(e.get("ns/x")).toBeUndefined();
    e.expect("ns/a", 1, 0);
    e.delete("ns/a");
    expect(e.satisfied("ns/a")).toBe(true);
    expect(e.get("ns/a")).toBeUndefined();
  });
});
