// Book 11.3: the CronJob schedule parser and next-fire-time search: fields, names, steps,
// descriptors, the day-of-month/day-of-week OR rule, time zones and clear errors.
import { describe, expect, it } from "vitest";
import { CronParseError, formatInZone, nextAfter, parseSchedule } from "./schedule.js";

const iso = (d: Date | undefined) => d?.toISOString();
const at = (s: string) => new Date(s);

describe("parseSchedule", () => {
  it("expands stars, lists, ranges, steps and names", () => {
    const s = parseSchedule("*/15 9-17 1,15 JAN-mar mon-fri");
    expect([...s.minutes]).toEqual([0, 15, 30, 45]);
    expect([...s.hours]).toEqual([9, 10, 11, 12, 13, 14, 15, 16, 17]);
    expect([...s.daysOfMonth]).toEqual([1, 15]);
    expect([...s.months]).toEqual([1, 2, 3]);
    expect([...s.daysOfWeek]).toEqual([1, 2, 3, 4, 5]);
    expect(s.domStar).toBe(false);
    expect(parseSchedule("5/20 * * * 7").minutes).toEqual(new Set([5, 25, 45]));
    expect(parseSchedule("0 0 * * 7").daysOfWeek).toEqual(new Set([0]));
  });

  it("knows the @descriptors", () => {
    expect(iso(nextAfter("@hourly", at("2026-01-01T10:20:00Z")))).toBe("2026-01-01T11:00:00.000Z");
    expect(iso(nextAfter("@daily", at("2026-01-01T10:20:00Z")))).toBe("2026-01-02T00:00:00.000Z");
    expect(iso(nextAfter("@midnight", at("2026-01-01T10:20:00Z")))).toBe("2026-01-02T00:00:00.000Z");
    expect(iso(nextAfter("@weekly", at("2026-01-01T10:20:00Z")))).toBe("2026-01-04T00:00:00.000Z"); // a Sunday
    expect(iso(nextAfter("@monthly", at("2026-01-01T10:20:00Z")))).toBe("2026-02-01T00:00:00.000Z");
    expect(iso(nextAfter("@yearly", at("2026-01-01T10:20:00Z")))).toBe("2027-01-01T00:00:00.000Z");
    expect(iso(nextAfter("@annually", at("2026-01-01T10:20:00Z")))).toBe("2027-01-01T00:00:00.000Z");
  });

  it.each([
    ["", /empty expression/],
    ["* * * *", /expected 5 fields .* got 4/],
    ["60 * * * *", /minute field: value 60 out of range 0-59/],
    ["* 24 * * *", /hour field: value 24 out of range 0-23/],
    ["* * 0 * *", /day-of-month field: value 0 out of range 1-31/],
    ["* * * FOO *", /month field: "FOO" is not a number or a name/],
    ["*/0 * * * *", /step "0" must be a positive number/],
    ["5-1 * * * *", /range start 5 is beyond its end 1/],
    ["1,,2 * * * *", /empty list element/],
    ["@every 5m", /unknown descriptor/],
    ["TZ=UTC 0 * * * *", /set spec.timeZone/],
  ])("rejects %j", (expr, msg) => {
    expect(() => parseSchedule(expr)).toThrow(CronParseError);
    expect(() => parseSchedule(expr)).toThrow(msg);
  });
});

describe("nextAfter", () => {
  it("is strictly after the given time, to the minute", () => {
    expect(iso(nextAfter("*/5 * * * *", at("2026-01-01T10:05:00Z")))).toBe("2026-01-01T10:10:00.000Z");
    expect(iso(nextAfter("*/5 * * * *", at("2026-01-01T10:04:59.900Z")))).toBe("2026-01-01T10:05:00.000Z");
    expect(iso(nextAfter("30 2 * * *", at("2026-01-01T10:00:00Z")))).toBe("2026-01-02T02:30:00.000Z");
  });

  it("ORs day-of-month and day-of-week when both are restricted, ANDs when one is *", () => {
    // 2026-01-01 is a Thursday. "13th or any Friday": Friday the 2nd comes first.
    expect(iso(nextAfter("0 0 13 * 5", at("2026-01-01T00:00:00Z")))).toBe("2026-01-02T00:00:00.000Z");
    // Day-of-week *: only the 13th.
    expect(iso(nextAfter("0 0 13 * *", at("2026-01-01T00:00:00Z")))).toBe("2026-01-13T00:00:00.000Z");
    // Day-of-month *: only Fridays.
    expect(iso(nextAfter("0 0 * * fri", at("2026-01-03T00:00:00Z")))).toBe("2026-01-09T00:00:00.000Z");
    // A stepped star is a restriction: the 1st, 3rd, ... or a Monday.
    expect(iso(nextAfter("0 0 */2 * 1", at("2026-01-01T00:00:00Z")))).toBe("2026-01-03T00:00:00.000Z");
  });

  it("finds rare dates and gives up on impossible ones", () => {
    expect(iso(nextAfter("0 0 29 2 *", at("2026-01-01T00:00:00Z")))).toBe("2028-02-29T00:00:00.000Z");
    expect(nextAfter("0 0 30 2 *", at("2026-01-01T00:00:00Z"))).toBeUndefined();
  });

  it("reads the fields in a time zone", () => {
    // 09:00 in New York in January is 14:00 UTC.
    expect(iso(nextAfter("0 9 * * *", at("2026-01-05T00:00:00Z"), "America/New_York"))).toBe("2026-01-05T14:00:00.000Z");
    // In July (daylight time) it is 13:00 UTC.
    expect(iso(nextAfter("0 9 * * *", at("2026-07-06T00:00:00Z"), "America/New_York"))).toBe("2026-07-06T13:00:00.000Z");
    // Half-hour zones: 09:00 in Kolkata is 03:30 UTC.
    expect(iso(nextAfter("0 9 * * *", at("2026-01-05T00:00:00Z"), "Asia/Kolkata"))).toBe("2026-01-05T03:30:00.000Z");
    // Midnight local on a weekday in Tokyo (UTC+9) is the day before in UTC.
    expect(iso(nextAfter("0 0 * * mon", at("2026-01-01T00:00:00Z"), "Asia/Tokyo"))).toBe("2026-01-04T15:00:00.000Z");
  });

  it("skips wall-clock times that a daylight saving change skips", () => {
    // New York springs forward at 02:00 on 2026-03-08: 02:30 does not exist that day.
    expect(iso(nextAfter("30 2 * * *", at("2026-03-07T12:00:00Z"), "America/New_York"))).toBe("2026-03-09T06:30:00.000Z");
    // Midnight after the change is found (the day has only 23 hours).
    expect(iso(nextAfter("0 0 9 3 *", at("2026-03-08T05:00:00Z"), "America/New_York"))).toBe("2026-03-09T04:00:00.000Z");
  });

  it("rejects an unknown time zone", () => {
    expect(() => nextAfter("* * * * *", at("2026-01-01T00:00:00Z"), "Mars/Olympus")).toThrow(/unknown time zone "Mars\/Olympus"/);
  });
});

describe("formatInZone", () => {
  it("writes RFC 3339 with the zone's offset", () => {
    expect(formatInZone(at("2026-01-05T14:00:00Z"))).toBe("2026-01-05T14:00:00Z");
    expect(formatInZone(at("2026-01-05T14:00:00Z"), "America/New_York")).toBe("2026-01-05T09:00:00-05:00");
    expect(formatInZone(at("2026-01-05T03:30:00Z"), "Asia/Kolkata")).toBe("2026-01-05T09:00:00+05:30");
  });
});
