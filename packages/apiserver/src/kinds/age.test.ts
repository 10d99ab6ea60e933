// Book 2.3: the AGE column's rounding, checked at each boundary kubectl users see.
import { describe, expect, it } from "vitest";
import { ageOf, humanDuration } from "./age.js";

const S = 1000;
const M = 60 * S;
const H = 60 * M;
const D = 24 * H;

describe("humanDuration", () => {
  it.each([
    [0, "0s"],
    [-1500, "0s"],
    [-2 * S, "<invalid>"],
    [45 * S, "45s"],
    [119 * S, "119s"],
    [2 * M, "2m"],
    [5 * M + 12 * S, "5m12s"],
    [9 * M + 59 * S, "9m59s"],
    [10 * M + 30 * S, "10m"],
    [179 * M, "179m"],
    [3 * H, "3h"],
    [3 * H + 12 * M, "3h12m"],
    [8 * H + 30 * M, "8h"],
    [47 * H, "47h"],
    [2 * D, "2d"],
    [2 * D + 4 * H, "2d4h"],
    [8 * D + 5 * H, "8d"],
    [400 * D, "400d"],
    [2 * 365 * D + 20 * D, "2y20d"],
    [3 * 365 * D, "3y"],
    [9 * 365 * D + 100 * D, "9y"],
  ])("%d ms reads %s", (ms, text) => {
    expect(humanDuration(ms)).toBe(text);
  });
});

describe("ageOf", () => {
  const now = new Date("2024-05-01T12:00:00Z");
  it("measures from the timestamp to now", () => {
    expect(ageOf("2024-05-01T11:55:00Z", now)).toBe("5m");
    expect(ageOf("2024-04-29T12:00:00Z", now)).toBe("2d");
  });
  it("shows <unknown> without a usable timestamp", () => {
    expect(ageOf(undefined, now)).toBe("<unknown>");
    expect(ageOf("", now)).toBe("<unknown>");
    expect(ageOf("yesterday", now)).toBe("<unknown>");
  });
});
