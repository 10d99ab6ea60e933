// Book 11.2: tests for the string formats a CRD schema may name.
import { describe, expect, it } from "vitest";
import { knownStringFormat, stringFormats } from "./formats.js";

const ok = (format: string, value: string): boolean => stringFormats[knownStringFormat(format)!]!(value);

describe("string formats", () => {
  it("knows the formats Kubernetes checks, under their spellings", () => {
    expect(knownStringFormat("date-time")).toBe("date-time");
    expect(knownStringFormat("DateTime")).toBe("datetime");
    expect(knownStringFormat("int32")).toBeUndefined();
    expect(knownStringFormat("made-up")).toBeUndefined();
  });

  it("checks dates and times", () => {
    expect(ok("date", "2024-02-29")).toBe(true);
    expect(ok("date", "2023-02-29")).toBe(false);
    expect(ok("date-time", "2024-05-01T10:00:00Z")).toBe(true);
    expect(ok("date-time", "2024-05-01T10:00:00.123+02:00")).toBe(true);
    expect(ok("date-time", "2024-05-01")).toBe(false);
    expect(ok("duration", "1h30m")).toBe(true);
    expect(ok("duration", "3 days")).toBe(true);
    expect(ok("duration", "soon")).toBe(false);
  });

  it("checks network and identifier formats", () => {
    expect(ok("ipv4", "10.0.0.1")).toBe(true);
    expect(ok("ipv4", "fe80::1")).toBe(false);
    expect(ok("ipv6", "fe80::1")).toBe(true);
    expect(ok("cidr", "10.0.0.0/8")).toBe(true);
    expect(ok("cidr", "10.0.0.0/33")).toBe(false);
    expect(ok("mac", "00:1a:2b:3c:4d:5e")).toBe(true);
    expect(ok("mac", "00:1a:2b")).toBe(false);
    expect(ok("hostname", "node-1.example.com")).toBe(true);
    expect(ok("hostname", "-bad.example.com")).toBe(false);
    expect(ok("uri", "https://example.com/x")).toBe(true);
    expect(ok("uri", "not a uri")).toBe(false);
    expect(ok("email", "Ada <ada@example.com>")).toBe(true);
    expect(ok("email", "ada")).toBe(false);
    expect(ok("uuid", "123e4567-e89b-12d3-a456-426614174000")).toBe(true);
    expect(ok("uuid4", "123e4567-e89b-12d3-a456-426614174000")).toBe(false);
    expect(ok("byte", "aGVsbG8=")).toBe(true);
    expect(ok("byte", "not base64!")).toBe(false);
    expect(ok("isbn", "978-0-306-40615-7")).toBe(true);
    expect(ok("hexcolor", "#ff8800")).toBe(true);
    expect(ok("rgbcolor", "rgb(255, 0, 300)")).toBe(false);
  });
});
