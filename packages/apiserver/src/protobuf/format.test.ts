// Book 1.6.1: times and durations written the way Kubernetes' JSON writes them.
import { describe, expect, it } from "vitest";
import { formatDuration, formatMicroTime, formatTime, GO_ZERO_TIME_SECONDS } from "./format.js";

describe("formatTime", () => {
  it("writes RFC 3339 in UTC to the second", () => {
    expect(formatTime(0n)).toBe("1970-01-01T00:00:00Z");
    expect(formatTime(1704164645n)).toBe("2024-01-02T03:04:05Z");
    expect(formatTime(-1n)).toBe("1969-12-31T23:59:59Z");
  });

  it("writes Go's zero time as null", () => {
    expect(formatTime(GO_ZERO_TIME_SECONDS)).toBeNull();
    expect(formatTime(GO_ZERO_TIME_SECONDS + 1n)).toBe("0001-01-01T00:00:01Z");
  });

  it("gives up on years RFC 3339 cannot hold", () => {
    expect(formatTime(253402300799n)).toBe("9999-12-31T23:59:59Z");
    expect(formatTime(253402300800n)).toBeUndefined();
    expect(formatTime(-62167219201n)).toBeUndefined();
  });
});

describe("formatMicroTime", () => {
  it("keeps six fraction digits, cutting (not rounding) nanoseconds", () => {
    expect(formatMicroTime(1704164645n, 0)).toBe("2024-01-02T03:04:05.000000Z");
    expect(formatMicroTime(1704164645n, 123_456_789)).toBe("2024-01-02T03:04:05.123456Z");
    expect(formatMicroTime(1704164645n, 999)).toBe("2024-01-02T03:04:05.000000Z");
  });

  it("carries out-of-range nanoseconds into the seconds, as Go's time.Unix does", () => {
    expect(formatMicroTime(1704164645n, 1_500_000_000)).toBe("2024-01-02T03:04:06.500000Z");
    expect(formatMicroTime(1704164645n, -1500)).toBe("2024-01-02T03:04:04.999999Z");
  });

  it("writes Go's zero time as null", () => {
    expect(formatMicroTime(GO_ZERO_TIME_SECONDS, 0)).toBeNull();
    expect(formatMicroTime(GO_ZERO_TIME_SECONDS, 1000)).toBe("0001-01-01T00:00:00.000001Z");
  });
});

describe("formatDuration", () => {
  it.each([
    [0n, "0s"],
    [1n, "1ns"],
    [1_500n, "1.5µs"],
    [1_500_000n, "1.5ms"],
    [999_999_999n, "999.999999ms"],
    [1_000_000_000n, "1s"],
    [90_000_000_000n, "1m30s"],
    [3_600_000_000_000n, "1h0m0s"],
    [3_661_500_000_000n, "1h1m1.5s"],
    [-2_000_000_000n, "-2s"],
    [-1_500n, "-1.5µs"],
    [9_223_372_036_854_775_807n, "2562047h47m16.854775807s"],
    [-9_223_372_036_854_775_808n, "-2562047h47m16.854775808s"],
  ])("%s ns → %s", (ns, text) => {
    expect(formatDuration(ns)).toBe(text);
  });
});
