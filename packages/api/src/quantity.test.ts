// Book 14.1: tests for resource quantities — parsing, exact arithmetic and the canonical
// strings Kubernetes writes back (tables modelled on upstream's quantity tests).
import { describe, expect, it } from "vitest";
import { parseQuantity, Quantity, QuantityParseError } from "./quantity.js";

const q = (s: string) => parseQuantity(s);

describe("parseQuantity: values", () => {
  // [input, nanos, format]
  const table: [string, bigint, Quantity["format"]][] = [
    ["0", 0n, "DecimalSI"],
    ["0n", 0n, "DecimalSI"],
    ["0m", 0n, "DecimalSI"],
    ["0Ki", 0n, "BinarySI"],
    ["0Gi", 0n, "BinarySI"],
    ["0T", 0n, "DecimalSI"],
    ["1", 1_000_000_000n, "DecimalSI"],
    ["1Ki", 1024n * 10n ** 9n, "BinarySI"],
    ["8Ki", 8n * 1024n * 10n ** 9n, "BinarySI"],
    ["7Mi", 7n * 2n ** 20n * 10n ** 9n, "BinarySI"],
    ["6Gi", 6n * 2n ** 30n * 10n ** 9n, "BinarySI"],
    ["5Ti", 5n * 2n ** 40n * 10n ** 9n, "BinarySI"],
    ["4Pi", 4n * 2n ** 50n * 10n ** 9n, "BinarySI"],
    ["3Ei", 3n * 2n ** 60n * 10n ** 9n, "BinarySI"],
    ["5n", 5n, "DecimalSI"],
    ["4u", 4_000n, "DecimalSI"],
    ["3m", 3_000_000n, "DecimalSI"],
    ["8k", 8n * 10n ** 12n, "DecimalSI"],
    ["50k", 5n * 10n ** 13n, "DecimalSI"],
    ["7M", 7n * 10n ** 15n, "DecimalSI"],
    ["6G", 6n * 10n ** 18n, "DecimalSI"],
    ["5T", 5n * 10n ** 21n, "DecimalSI"],
    ["2P", 2n * 10n ** 24n, "DecimalSI"],
    ["1E", 10n ** 27n, "DecimalSI"],
    ["12E", 12n * 10n ** 27n, "DecimalSI"],
    ["1E-3", 1_000_000n, "DecimalExponent"],
    ["1e3", 10n ** 12n, "DecimalExponent"],
    ["1E6", 10n ** 15n, "DecimalExponent"],
    ["1e14", 10n ** 23n, "DecimalExponent"],
    ["1.2e3", 1200n * 10n ** 9n, "DecimalExponent"],
    ["1.3E+6", 13n * 10n ** 14n, "DecimalExponent"],
    ["100.035k", 100035n * 10n ** 9n, "DecimalSI"],
    ["0.001", 1_000_000n, "DecimalSI"],
    ["0.0005k", 500_000_000n, "DecimalSI"],
    ["0.50000", 500_000_000n, "DecimalSI"],
    ["0.5e-2", 5_000_000n, "DecimalExponent"],
    ["9.01", 9_010_000_000n, "DecimalSI"],
    ["7.123456M", 7123456n * 10n ** 9n, "DecimalSI"],
    ["1.01E", 101n * 10n ** 25n, "DecimalSI"],
    // finer than a nano: rounds away from zero
    ["3.001n", 4n, "DecimalSI"],
    ["1.1E-9", 2n, "DecimalExponent"],
    ["0.0000000001", 1n, "DecimalSI"],
    ["0.9n", 1n, "DecimalSI"],
    ["0.00000012345", 124n, "DecimalSI"],
    // binary input saturates at 2^63-1
    ["9Ei", (2n ** 63n - 1n) * 10n ** 9n, "BinarySI"],
    ["9223372036854775807Ki", (2n ** 63n - 1n) * 10n ** 9n, "BinarySI"],
    // fractional binary
    ["100.035Ki", 10243584n * 10n ** 7n, "BinarySI"],
    ["0.5Mi", 524288n * 10n ** 9n, "BinarySI"],
    ["0.000000000001Ki", 2n, "DecimalSI"], // below one unit: becomes decimal
    // odd but legal spellings
    [".001", 1_000_000n, "DecimalSI"],
    [".0001k", 100_000_000n, "DecimalSI"],
    ["1.", 1_000_000_000n, "DecimalSI"],
    ["1.G", 10n ** 18n, "DecimalSI"],
    ["0001", 1_000_000_000n, "DecimalSI"],
  ];

  it.each(table)("%s", (input, nanos, format) => {
    const got = q(input);
    expect(got.nanos).toBe(nanos);
    expect(got.format).toBe(format);
    expect(q(`+${input}`).nanos).toBe(nanos);
    expect(q(`-${input}`).nanos).toBe(-nanos);
    expect(q(`-${input}`).format).toBe(format);
  });

  it("accepts large decimal values without capping", () => {
    expect(q("18446744073709551616").toString()).toBe("18446744073709551616");
  });

  it("accepts JSON numbers", () => {
    expect(parseQuantity(1).toString()).toBe("1");
    expect(parseQuantity(0.5).toString()).toBe("500m");
    expect(parseQuantity(-10).toString()).toBe("-10");
    expect(parseQuantity(1e21).toString()).toBe("1e21");
    expect(() => parseQuantity(Number.NaN)).toThrow(QuantityParseError);
  });
});

describe("parseQuantity: rejects", () => {
  const invalid = [
    "",
    "1.1.M",
    "1+1.0M",
    "0.1mi",
    "0.1am",
    "aoeu",
    ".5i",
    "1i",
    "-3.01i",
    "-3.01e-",
    " 1",
    "1 ",
    ".",
    "-",
    "+",
    "-.",
    "1K",
    "1KiB",
    "1e",
    "1e3.5",
    "Ki",
    "1Ki1",
    "1e99999",
    "1_000",
    "0x10",
  ];
  it.each(invalid)("%j", (input) => {
    expect(() => q(input)).toThrow(QuantityParseError);
  });

  it("explains the problem", () => {
    expect(() => q("1mi")).toThrow(/invalid quantity "1mi": unknown suffix "mi"/);
    expect(() => q("abc")).toThrow(/invalid quantity "abc"/);
    expect(() => q("")).toThrow(/empty/);
  });
});

describe("canonical String()", () => {
  // [input, canonical] — mirrors upstream's emit and string tables.
  const table: [string, string][] = [
    ["1Ki", "1Ki"],
    ["1Mi", "1Mi"],
    ["1Gi", "1Gi"],
    ["1024Mi", "1Gi"],
    ["300Mi", "300Mi"],
    ["307200Ki", "300Mi"],
    ["6Ki", "6Ki"],
    ["1025024Mi", "1001Gi"],
    ["1024Gi", "1Ti"],
    ["128Mi", "128Mi"],
    ["1536Mi", "1536Mi"],
    ["1.5Gi", "1536Mi"],
    ["1.5Ki", "1536"],
    ["1.5Mi", "1536Ki"],
    ["1.5Ei", "1536Pi"],
    ["0.5Gi", "512Mi"],
    ["0.5Ki", "512"], // binary below 1024 prints as decimal
    ["1.1Ki", "1126400m"], // binary with a fraction prints as decimal
    [".001Ki", "1024m"],
    [".000001Ki", "1024u"],
    [".000000001Ki", "1024n"],
    [".000000000001Ki", "2n"],
    ["1000M", "1G"],
    ["1000m", "1"],
    ["0.5", "500m"],
    ["1.5", "1500m"],
    ["0.1", "100m"],
    ["2", "2"],
    ["100k", "100k"],
    ["1000k", "1M"],
    ["1000000000", "1G"],
    ["0.001T", "1G"],
    ["1000u", "1m"],
    ["1.08", "1080m"],
    ["1080000000n", "1080m"],
    ["80m", "80m"],
    ["500m", "500m"],
    ["1234567M", "1234567M"],
    ["3k", "3k"],
    ["1025", "1025"],
    ["1024", "1024"], // decimal input stays decimal
    ["1E", "1E"],
    ["1000E", "1e21"], // past E there is no SI suffix
    ["5000E", "5e21"],
    ["1e3", "1e3"],
    ["1e9", "1e9"],
    [".001e12", "1e9"],
    ["1e-3", "1e-3"],
    ["0.001e0", "1e-3"],
    ["1000e-12", "1e-9"],
    ["80e-3", "80e-3"],
    ["300e6", "300e6"],
    ["3e3", "3e3"],
    ["1e0", "1"],
    ["1e1", "10"],
    ["1e2", "100"],
    ["1.5e3", "1500"],
    ["0.5e0", "500e-3"],
    ["0", "0"],
    ["00", "0"],
    ["0Ki", "0"],
    ["0e5", "0"],
    ["-0", "0"],
    ["1n", "1n"],
    ["80n", "80n"],
    ["1080n", "1080n"],
    ["1u", "1u"],
    ["1080u", "1080u"],
    ["+1", "1"],
    ["8Ei", "9223372036854775807"],
  ];

  it.each(table)("%s → %s", (input, canonical) => {
    expect(String(q(input))).toBe(canonical);
    // canonical text re-parses to itself and the same amount
    expect(String(q(canonical))).toBe(canonical);
    expect(q(canonical).equals(q(input))).toBe(true);
  });

  it.each(table.filter(([i, c]) => c !== "0" && !/^[+-]/.test(i)))("-%s → -canonical", (input, canonical) => {
    expect(String(q(`-${input}`))).toBe(`-${canonical}`);
  });

  it("toJSON is the canonical string", () => {
    expect(JSON.stringify({ cpu: q("1000m"), memory: q("1.5Gi") })).toBe('{"cpu":"1","memory":"1536Mi"}');
  });
});

describe("constructors", () => {
  it.each([
    [Quantity.fromInt(1), "1"],
    [Quantity.fromInt(1000), "1k"],
    [Quantity.fromInt(1234000), "1234k"],
    [Quantity.fromInt(1024, "BinarySI"), "1Ki"],
    [Quantity.fromInt(1024 * 1024, "BinarySI"), "1Mi"],
    [Quantity.fromInt(1000000, "DecimalExponent"), "1e6"],
    [Quantity.fromMilli(1), "1m"],
    [Quantity.fromMilli(1000), "1"],
    [Quantity.fromMilli(1234000), "1234"],
    [Quantity.fromMilli(1024, "BinarySI"), "1024m"],
    [Quantity.fromMilli(1024 * 1024, "BinarySI"), "1048576m"],
    [Quantity.fromMilli(1000000, "DecimalExponent"), "1e3"],
    [Quantity.fromScaled(1, -9), "1n"],
    [Quantity.fromScaled(1000, -9), "1u"],
    [Quantity.fromScaled(1000, -6), "1m"],
    [Quantity.fromScaled(1, 0), "1"],
    [Quantity.fromScaled(5, 21), "5e21"],
    [Quantity.fromScaled(0, -3), "0"],
    [Quantity.zero("BinarySI"), "0"],
  ] as const)("%s", (quantity, text) => {
    expect(quantity.toString()).toBe(text);
  });

  it("rejects non-integers", () => {
    expect(() => Quantity.fromInt(1.5)).toThrow(RangeError);
  });
});

describe("exact arithmetic", () => {
  it("0.1 + 0.2 is exactly 0.3", () => {
    const sum = q("0.1").add(q("0.2"));
    expect(sum.equals(q("0.3"))).toBe(true);
    expect(String(sum)).toBe("300m");
  });

  it("adds and subtracts across formats, keeping the left format", () => {
    expect(String(q("1Gi").add(q("512Mi")))).toBe("1536Mi");
    expect(String(q("1Gi").add(q("1")))).toBe("1073741825");
    expect(String(q("10").sub(q("1Ki")))).toBe("-1014");
    expect(String(q("10Ki").sub(q("1k")))).toBe("9240");
    expect(String(q("250m").add(q("250m")))).toBe("500m");
    expect(String(q("1").sub(q("1")))).toBe("0");
    expect(String(q("100m").sub(q("50m")).sub(q("60m")))).toBe("-10m");
  });

  it("zero takes the other operand's format (upstream's add/sub zero cases)", () => {
    for (const v of ["100m", "1Gi"]) {
      expect(String(q(v).add(q("0")))).toBe(v);
      expect(String(q("0").add(q(v)))).toBe(v);
      expect(String(q(v).sub(q("0")))).toBe(v);
      expect(String(q("0").sub(q(v)))).toBe(`-${v}`);
    }
  });

  it("mul and neg", () => {
    expect(String(q("128Mi").mul(8))).toBe("1Gi");
    expect(String(q("250m").mul(4n))).toBe("1");
    expect(String(q("9.01").neg())).toBe("-9010m");
    expect(q("9.01").neg().neg().equals(q("9.01"))).toBe(true);
  });

  it("is immutable", () => {
    const a = q("1");
    a.add(q("1"));
    expect(String(a)).toBe("1");
  });

  it("handles values past int64", () => {
    const big = q("9223372036854775807").add(q("1"));
    expect(String(big)).toBe("9223372036854775808");
    expect(String(q("0").sub(q("-9223372036854775808")))).toBe("9223372036854775808");
  });
});

describe("compare", () => {
  it.each([
    ["0", "0", 0],
    ["100m", "50m", 1],
    ["50m", "100m", -1],
    ["10000T", "100Gi", 1],
    ["1Ki", "1024", 0],
    ["1k", "1Ki", -1],
    ["-1", "1m", -1],
    ["1e3", "1k", 0],
  ] as const)("cmp(%s, %s) = %d", (a, b, want) => {
    expect(q(a).cmp(q(b))).toBe(want);
    expect(q(b).cmp(q(a))).toBe(want === 0 ? 0 : -want);
    expect(q(a).equals(q(b))).toBe(want === 0);
  });

  it("sign and isZero", () => {
    expect(q("0Mi").isZero()).toBe(true);
    expect(q("-1n").sign()).toBe(-1);
    expect(q("1n").sign()).toBe(1);
    expect(q("0").sign()).toBe(0);
  });
});

describe("value and milliValue round away from zero", () => {
  it.each([
    ["1", 1, 1000],
    ["1.1", 2, 1100],
    ["-1.1", -2, -1100],
    ["0.0001", 1, 1],
    ["-0.0001", -1, -1],
    ["500m", 1, 500],
    ["1.0001", 2, 1001],
    ["1Ki", 1024, 1024000],
    ["128Mi", 134217728, 134217728000],
    ["1n", 1, 1],
    ["0", 0, 0],
    ["9.01", 10, 9010],
  ] as const)("%s", (input, value, milli) => {
    expect(q(input).value()).toBe(value);
    expect(q(input).milliValue()).toBe(milli);
  });

  it("scaledValue (upstream's ScaledValue table)", () => {
    const scales = [-9, -6, -3, 0];
    for (const from of scales) {
      for (const to of scales) {
        const want = from >= to ? 10n ** BigInt(from - to) : 1n;
        expect(Quantity.fromScaled(1, from).scaledValue(to)).toBe(want);
      }
    }
    expect(Quantity.fromScaled(1, 2).scaledValue(-2)).toBe(10000n);
    expect(q("8Ei").scaledValue(0)).toBe(2n ** 63n - 1n);
  });
});
