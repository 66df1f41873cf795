import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  add,
  compare,
  currencyMinorUnits,
  type Decimal,
  formatMoney,
  InvalidDecimal,
  isDecimalLike,
  isNegative,
  isZero,
  lineTotal,
  multiply,
  normalizePercent,
  normalizeQuantity,
  normalizeUnitPrice,
  parseDecimal,
  roundHalfUp,
  subtract,
  sum,
  sumMoney,
  toCanonicalString,
} from "../../domain/decimal.js";

const canonical = (input: unknown) => toCanonicalString(parseDecimal(input));

describe("parseDecimal", () => {
  it("reads plain decimal strings exactly", () => {
    expect(parseDecimal("133.33")).toEqual({ units: 13333n, scale: 2 });
    expect(parseDecimal("-0.005")).toEqual({ units: -5n, scale: 3 });
    expect(parseDecimal("42")).toEqual({ units: 42n, scale: 0 });
  });

  it("reads finite numbers through their shortest round-trip literal", () => {
    expect(parseDecimal(133.33)).toEqual({ units: 13333n, scale: 2 });
    expect(canonical(0.1)).toBe("0.1");
    expect(canonical(-0)).toBe("0");
    // More than 15 significant digits are whatever the double holds: such values must be strings.
    expect(canonical(0.1 + 0.2)).toBe("0.30000000000000004");
  });

  it("expands the exponent form of JS numbers and JSON number literals", () => {
    expect(canonical(1e21)).toBe("1000000000000000000000");
    expect(canonical(1.5e-7)).toBe("0.00000015");
    expect(canonical("1.5e2")).toBe("150");
    expect(canonical("1.5E+2")).toBe("150");
    expect(canonical("-25e-3")).toBe("-0.025");
    expect(canonical("0e999")).toBe("0");
  });

  it("accepts up to 30 integer and 30 fraction digits", () => {
    const thirty = "9".repeat(30);
    expect(canonical(`${thirty}.${thirty}`)).toBe(`${thirty}.${thirty}`);
    expect(canonical(`-${thirty}`)).toBe(`-${thirty}`);
    expect(canonical(`000${thirty}`)).toBe(thirty);
    expect(canonical("1e29")).toBe(`1${"0".repeat(29)}`);
  });

  it.each([
    ["NaN", Number.NaN],
    ["Infinity", Number.POSITIVE_INFINITY],
    ["-Infinity", Number.NEGATIVE_INFINITY],
    ["the string 1e309", "1e309"],
    ["the string NaN", "NaN"],
    ["the string Infinity", "Infinity"],
    ["abc", "abc"],
    ["the empty string", ""],
    ["1.2.3", "1.2.3"],
    ["a leading plus", "+1"],
    ["surrounding whitespace", " 1.5 "],
    ["a bare fraction", ".5"],
    ["a trailing point", "5."],
    ["hexadecimal", "0x10"],
    ["digit separators", "1_000"],
    ["non-ASCII digits", "١٢"],
    ["31 integer digits", "1".repeat(31)],
    ["31 fraction digits", `0.${"1".repeat(31)}`],
    ["an exponent giving 31 integer digits", "1e30"],
    ["an exponent giving 31 fraction digits", "1e-31"],
    ["an overlong string", `1.${"0".repeat(200)}`],
    ["an object", { units: 1n, scale: 0 }],
    ["an array", ["1"]],
    ["null", null],
    ["undefined", undefined],
    ["a boolean", true],
    ["a bigint", 1n],
  ])("rejects %s with InvalidDecimal", (_name, input) => {
    expect(() => parseDecimal(input)).toThrow(InvalidDecimal);
    expect(isDecimalLike(input)).toBe(false);
  });

  it("throws a named InvalidDecimal error", () => {
    const error = (() => {
      try {
        parseDecimal("abc");
      } catch (caught) {
        return caught;
      }
    })();
    expect(error).toBeInstanceOf(Error);
    expect((error as Error).name).toBe("InvalidDecimal");
    const cause = new Error("root");
    expect(new InvalidDecimal("x", { cause }).cause).toBe(cause);
  });

  it("reports decimal-like strings and numbers", () => {
    expect(isDecimalLike("1.5")).toBe(true);
    expect(isDecimalLike(19.99)).toBe(true);
    expect(isDecimalLike("1.5e2")).toBe(true);
  });
});

describe("parseDecimal on plain strings", () => {
  // Plain strings of up to 15 digits are read without the pattern (the common case); longer ones,
  // and every other form, by the pattern. Both must give the same value as this reference.
  const reference = (negative: boolean, whole: string, fraction: string): Decimal => {
    const units = BigInt(`${whole}${fraction}`);
    if (units === 0n) return { units: 0n, scale: 0 };
    return { units: negative ? -units : units, scale: fraction.length };
  };
  const digits = (maxLength: number) =>
    fc.array(fc.constantFrom(..."0123456789"), { minLength: 1, maxLength }).map((list) => list.join(""));

  it("reads them alike below, at and above 15 digits", () => {
    fc.assert(
      fc.property(fc.boolean(), digits(20), fc.option(digits(20)), (negative, whole, fraction) => {
        const text = `${negative ? "-" : ""}${whole}${fraction === null ? "" : `.${fraction}`}`;
        expect(parseDecimal(text)).toEqual(reference(negative, whole, fraction ?? ""));
      }),
      { numRuns: 2000 },
    );
  });

  it("reads the 15- and 16-digit boundary exactly", () => {
    expect(parseDecimal("999999999999999")).toEqual({ units: 999999999999999n, scale: 0 });
    expect(parseDecimal("9999999999999999")).toEqual({ units: 9999999999999999n, scale: 0 });
    expect(parseDecimal("-9999999.99999999")).toEqual({ units: -999999999999999n, scale: 8 });
    expect(parseDecimal("0.000")).toEqual({ units: 0n, scale: 0 });
    expect(parseDecimal("-0")).toEqual({ units: 0n, scale: 0 });
    expect(parseDecimal("007.50")).toEqual({ units: 750n, scale: 2 });
  });

  it("rejects what is not a plain decimal, short or not", () => {
    for (const text of [
      "5.",
      ".5",
      "-",
      "",
      "1.2.3",
      "+1",
      "1-",
      "--1",
      "- 1",
      "1 ",
      "\uff11",
      "1_000",
      "0x1",
      "1..2",
    ]) {
      expect(() => parseDecimal(text), text).toThrow(InvalidDecimal);
    }
  });
});

describe("arithmetic", () => {
  it("adds 0.1 and 0.2 to exactly 0.3", () => {
    expect(toCanonicalString(add(parseDecimal("0.1"), parseDecimal("0.2")))).toBe("0.3");
    expect(toCanonicalString(add(parseDecimal(0.1), parseDecimal(0.2)))).toBe("0.3");
  });

  it("subtracts and multiplies exactly across scales", () => {
    expect(canonicalOf(subtract(parseDecimal("10"), parseDecimal("0.001")))).toBe("9.999");
    expect(canonicalOf(multiply(parseDecimal("1.5"), parseDecimal("133.33")))).toBe("199.995");
    expect(canonicalOf(multiply(parseDecimal("-0.1"), parseDecimal("0.1")))).toBe("-0.01");
  });

  it("compares by value regardless of scale", () => {
    expect(compare(parseDecimal("1.50"), parseDecimal("1.5"))).toBe(0);
    expect(compare(parseDecimal("1.49"), parseDecimal("1.5"))).toBe(-1);
    expect(compare(parseDecimal("-1"), parseDecimal("-1.000001"))).toBe(1);
  });

  it("tells zero and negative values apart at any scale", () => {
    expect(isZero(parseDecimal("0.000"))).toBe(true);
    expect(isZero(parseDecimal("-0"))).toBe(true);
    expect(isZero(parseDecimal("0.001"))).toBe(false);
    expect(isNegative(parseDecimal("-0.001"))).toBe(true);
    expect(isNegative(parseDecimal("-0"))).toBe(false);
    expect(isNegative(parseDecimal("0"))).toBe(false);
  });

  it("sums an empty list to zero and mixed scales exactly", () => {
    expect(canonicalOf(sum([]))).toBe("0");
    expect(canonicalOf(sum(["0.1", "0.2", "0.3", "-0.6", "1e-6"].map(parseDecimal)))).toBe("0.000001");
  });
});

describe("roundHalfUp", () => {
  it("rounds half up at 6 places", () => {
    expect(canonicalOf(roundHalfUp(parseDecimal("0.0000005"), 6))).toBe("0.000001");
    expect(canonicalOf(roundHalfUp(parseDecimal("0.00000049999"), 6))).toBe("0");
  });

  it("rounds negative halves away from zero", () => {
    expect(canonicalOf(roundHalfUp(parseDecimal("-0.0000005"), 6))).toBe("-0.000001");
    expect(canonicalOf(roundHalfUp(parseDecimal("-2.5"), 0))).toBe("-3");
    expect(canonicalOf(roundHalfUp(parseDecimal("-2.4999"), 0))).toBe("-2");
  });

  it("leaves values with few enough places untouched", () => {
    const value = parseDecimal("1.5");
    expect(roundHalfUp(value, 6)).toBe(value);
  });

  it("rejects negative or fractional place counts", () => {
    expect(() => roundHalfUp(parseDecimal("1"), -1)).toThrow(RangeError);
    expect(() => roundHalfUp(parseDecimal("1"), 1.5)).toThrow(RangeError);
  });
});

describe("canonical strings", () => {
  it.each([
    ["1.50", "1.5"],
    ["2.000", "2"],
    ["-0", "0"],
    ["-0.000", "0"],
    ["007.10", "7.1"],
    ["-0.05", "-0.05"],
    ["100", "100"],
  ])("prints %s as %s", (input, expected) => {
    expect(canonical(input)).toBe(expected);
  });

  it("normalizes the echo 133.3300001 as a unit price to 133.33, as number and as string", () => {
    expect(normalizeUnitPrice(133.3300001)).toBe("133.33");
    expect(normalizeUnitPrice("133.3300001")).toBe("133.33");
  });

  it("normalizes quantities and unit prices half-up to 6 places", () => {
    expect(normalizeQuantity("0.0000005")).toBe("0.000001");
    expect(normalizeQuantity("-0.0000005")).toBe("-0.000001");
    expect(normalizeQuantity("1.2345675")).toBe("1.234568");
    expect(normalizeUnitPrice("19.990000")).toBe("19.99");
  });

  it("normalizes percents half-up to 4 places", () => {
    expect(normalizePercent(10)).toBe("10");
    expect(normalizePercent("12.34565")).toBe("12.3457");
    expect(normalizePercent("12.34564")).toBe("12.3456");
  });
});

describe("money", () => {
  it.each([
    ["USD", 2],
    ["EUR", 2],
    ["JPY", 0],
    ["KRW", 0],
    ["XPF", 0],
    ["BHD", 3],
    ["KWD", 3],
    ["CLF", 4],
    ["UYW", 4],
    ["jpy", 0],
    ["constructor", 2],
  ])("knows that %s has %i minor-unit places", (code, places) => {
    expect(currencyMinorUnits(code)).toBe(places);
  });

  it("prints money with exactly the currency's places", () => {
    expect(formatMoney(parseDecimal("200"), "USD")).toBe("200.00");
    expect(formatMoney(parseDecimal("200"), "JPY")).toBe("200");
    expect(formatMoney(parseDecimal("0.5"), "BHD")).toBe("0.500");
    expect(formatMoney(parseDecimal("-0.004"), "USD")).toBe("0.00");
    expect(formatMoney(parseDecimal("-0.005"), "USD")).toBe("-0.01");
  });

  it("computes 1.5 × 133.33 as 200.00", () => {
    expect(lineTotal({ quantity: "1.5", unitPrice: "133.33", currency: "USD" })).toBe("200.00");
    expect(lineTotal({ quantity: 1.5, unitPrice: 133.33, currency: "USD" })).toBe("200.00");
  });

  it("computes 3 × 19.99 less 10 % as 53.97", () => {
    expect(lineTotal({ quantity: "3", unitPrice: "19.99", discountPercent: 10, currency: "USD" })).toBe(
      "53.97",
    );
    expect(lineTotal({ quantity: 3, unitPrice: 19.99, discountPercent: "10", currency: "EUR" })).toBe(
      "53.97",
    );
  });

  it("treats a missing or null discount as none", () => {
    expect(lineTotal({ quantity: "2", unitPrice: "5", discountPercent: null, currency: "USD" })).toBe(
      "10.00",
    );
    expect(lineTotal({ quantity: "2", unitPrice: "5", discountPercent: 100, currency: "USD" })).toBe("0.00");
  });

  it("rounds JPY line totals to 0 places", () => {
    expect(lineTotal({ quantity: "1.5", unitPrice: "101", currency: "JPY" })).toBe("152");
  });

  it("rounds BHD line totals to 3 places", () => {
    expect(lineTotal({ quantity: "1.5", unitPrice: "1.2345", currency: "BHD" })).toBe("1.852");
    expect(lineTotal({ quantity: "1", unitPrice: "2", currency: "BHD" })).toBe("2.000");
  });

  it("gives the same total for a raw echo as for its normalized form", () => {
    const raw = { quantity: "1.5", unitPrice: "133.3300001", currency: "USD" };
    const stored = { ...raw, unitPrice: normalizeUnitPrice(raw.unitPrice) };
    expect(lineTotal(raw)).toBe(lineTotal(stored));
  });

  it("rejects line totals with invalid numbers", () => {
    expect(() => lineTotal({ quantity: "x", unitPrice: "1", currency: "USD" })).toThrow(InvalidDecimal);
    expect(() => lineTotal({ quantity: 1, unitPrice: Number.NaN, currency: "USD" })).toThrow(InvalidDecimal);
  });

  it("sums 5,000 line totals exactly", () => {
    const totals = Array.from({ length: 5000 }, (_, i) => `${i}.${String(i % 100).padStart(2, "0")}`);
    let cents = 0n;
    for (let i = 0; i < 5000; i++) cents += BigInt(i) * 100n + BigInt(i % 100);
    expect(sumMoney(totals, "USD")).toBe(formatCents(cents, 2));
    expect(sumMoney(Array(5000).fill("0.10"), "USD")).toBe("500.00");
    expect(sumMoney(Array(5000).fill("0.01"), "USD")).toBe("50.00");
    expect(sumMoney([], "JPY")).toBe("0");
  });

  it("sums 5,000 computed line totals like the BigInt reference", () => {
    const lines = Array.from({ length: 5000 }, (_, i) => ({
      quantity: `${(i % 7) + 1}.5`,
      unitPrice: `${i}.${String((i * 37) % 100).padStart(2, "0")}`,
      discountPercent: String(i % 25),
    }));
    let expected = 0n;
    for (const line of lines) {
      expected += referenceTotal(
        BigInt(line.quantity.replace(".", "")) * 10n, // scale 2
        BigInt(line.unitPrice.replace(".", "")), // scale 2
        BigInt(line.discountPercent) * 100n, // scale 2
        2,
      );
    }
    const totals = lines.map((line) => lineTotal({ ...line, currency: "USD" }));
    expect(sumMoney(totals, "USD")).toBe(formatCents(expected, 2));
  });
});

describe("properties", () => {
  const cents = fc.bigInt({ min: -(10n ** 14n), max: 10n ** 14n });
  const positiveCents = fc.bigInt({ min: 0n, max: 10n ** 14n });
  const discountHundredths = fc.bigInt({ min: 0n, max: 10_000n });

  it("line totals of integer-cent inputs equal a BigInt reference", () => {
    fc.assert(
      fc.property(
        cents,
        positiveCents,
        discountHundredths,
        fc.constantFrom("USD", "JPY", "BHD", "CLF"),
        (quantity, unitPrice, discount, currency) => {
          const places = currencyMinorUnits(currency);
          const expected = formatCents(referenceTotal(quantity, unitPrice, discount, places), places);
          const total = lineTotal({
            quantity: formatCents(quantity, 2),
            unitPrice: formatCents(unitPrice, 2),
            discountPercent: formatCents(discount, 2),
            currency,
          });
          expect(total).toBe(expected);
        },
      ),
    );
  });

  it("line totals are the same for JSON numbers with up to 15 significant digits", () => {
    const small = fc.bigInt({ min: 0n, max: 10n ** 12n });
    fc.assert(
      fc.property(small, small, discountHundredths, (quantity, unitPrice, discount) => {
        const asNumber = (value: bigint) => JSON.parse(formatCents(value, 2)) as number;
        const fromNumbers = lineTotal({
          quantity: asNumber(quantity),
          unitPrice: asNumber(unitPrice),
          discountPercent: asNumber(discount),
          currency: "USD",
        });
        expect(fromNumbers).toBe(formatCents(referenceTotal(quantity, unitPrice, discount, 2), 2));
      }),
    );
  });

  const decimalStrings = fc
    .tuple(fc.bigInt({ min: -(10n ** 30n) + 1n, max: 10n ** 30n - 1n }), fc.integer({ min: 0, max: 30 }))
    .map(([units, scale]) => formatCents(units, scale));

  it("parse ∘ canonical is idempotent and keeps the value", () => {
    fc.assert(
      fc.property(decimalStrings, (text) => {
        const once = canonical(text);
        expect(canonical(once)).toBe(once);
        expect(compare(parseDecimal(once), parseDecimal(text))).toBe(0);
        expect(once).toMatch(/^-?(0|[1-9]\d*)(\.\d*[1-9])?$/);
      }),
    );
  });

  it("normalizing twice changes nothing", () => {
    fc.assert(
      fc.property(decimalStrings, (text) => {
        expect(normalizeQuantity(normalizeQuantity(text))).toBe(normalizeQuantity(text));
        expect(normalizePercent(normalizePercent(text))).toBe(normalizePercent(text));
      }),
    );
  });

  it("adding then subtracting returns the same value", () => {
    fc.assert(
      fc.property(decimalStrings, decimalStrings, (a, b) => {
        const x = parseDecimal(a);
        const y = parseDecimal(b);
        expect(compare(subtract(add(x, y), y), x)).toBe(0);
      }),
    );
  });
});

function canonicalOf(value: Decimal): string {
  return toCanonicalString(value);
}

/** Prints `units / 10^scale` with exactly `scale` places, independently of the module under test. */
function formatCents(units: bigint, scale: number): string {
  const negative = units < 0n;
  const digits = (negative ? -units : units).toString().padStart(scale + 1, "0");
  const whole = digits.slice(0, digits.length - scale);
  const fraction = scale > 0 ? `.${digits.slice(digits.length - scale)}` : "";
  return `${negative && units !== 0n ? "-" : ""}${whole}${fraction}`;
}

/**
 * quantity × unitPrice × (1 − discount/100) in `places` minor units, half away from zero; inputs are
 * integers at scale 2 (cents, hundredths of a percent).
 */
function referenceTotal(quantity: bigint, unitPrice: bigint, discount: bigint, places: number): bigint {
  // Exact value = q·p·(10000 − d) / 10^8 (scale 2+2 for q·p, 4 for the discount factor over 100·100).
  const numerator = quantity * unitPrice * (10_000n - discount);
  const divisor = 10n ** BigInt(8 - places);
  const magnitude = numerator < 0n ? -numerator : numerator;
  const rounded = (magnitude + divisor / 2n) / divisor;
  return numerator < 0n ? -rounded : rounded;
}
