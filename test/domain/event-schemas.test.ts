import { describe, expect, it } from "vitest";
import {
  CpqEvent,
  CrmEvent,
  CurrencyCode,
  EntityId,
  Fields,
  FieldValue,
  isStorableNumber,
  LIMITS,
  LineInput,
  Money,
  OpportunityInput,
  Percent,
  Quantity,
  QuoteInput,
  UnitPrice,
} from "../../domain/events.js";
import { cpqEvent, crmEvent } from "../support/events.js";

/**
 * The event schemas' own rules (SPEC §3, docs/limits.md), parsed directly: what an integrator's
 * payload may hold, each bound on both sides. The HTTP tests (test/hardening/) check the same
 * refusals as 400 answers that write nothing.
 */

const accepts = (schema: { safeParse(value: unknown): { success: boolean } }, value: unknown) =>
  schema.safeParse(value).success;

interface Issue {
  message: string;
  issues?: Issue[];
}

/** The messages zod gives for a refused value (a record key's own issues included). */
function refusal(schema: { safeParse(value: unknown): unknown }, value: unknown): string[] {
  const result = schema.safeParse(value) as { success: boolean; error?: { issues: Issue[] } };
  expect(result.success).toBe(false);
  const messages = (issues: Issue[]): string[] =>
    issues.flatMap((issue) => [issue.message, ...messages(issue.issues ?? [])]);
  return messages(result.error?.issues ?? []);
}

const line = { id: "l-1", productId: "p-1", quantity: "1", unitPrice: "10" };

describe("ids", () => {
  it("take letters, digits and _ . : @ # / + = - from 1 to 128 characters, nothing else anywhere", () => {
    for (const value of ["a", "Q-1", "00Q5e000001:x@y#z/w+v=u_t.s", "x".repeat(LIMITS.idLength)]) {
      expect(accepts(EntityId, value), value).toBe(true);
    }
    expect(accepts(EntityId, "")).toBe(false);
    expect(accepts(EntityId, "x".repeat(LIMITS.idLength + 1))).toBe(false);
    // A forbidden character at the start, in the middle or at the end.
    for (const value of [" q1", "q 1", "q1 ", "q1?", "?q1", "q\n1", "q1\n", "é"]) {
      expect(refusal(EntityId, value), JSON.stringify(value)).toEqual([
        "ids may contain letters, digits and _ . : @ # / + = - only",
      ]);
    }
  });
});

describe("dates and times", () => {
  it("a service date is YYYY-MM-DD exactly", () => {
    const at = (serviceDate: unknown) => accepts(LineInput, { ...line, serviceDate });
    expect(at("2026-03-31")).toBe(true);
    for (const value of [
      "2026-3-31",
      "26-03-31",
      "2026-03-1",
      "2026-003-31",
      "x2026-03-31",
      "2026-03-31x",
      "2026-03-31T00:00:00Z",
      "abcd-ef-gh",
    ]) {
      expect(at(value), value).toBe(false);
    }
    expect(refusal(LineInput, { ...line, serviceDate: "31/03/2026" })).toEqual([
      "expected an ISO date YYYY-MM-DD",
    ]);
  });

  it("an event time is an ISO date-time, with Z or an offset", () => {
    const event = (occurredAt: string) => cpqEvent("quote.deleted", { quoteId: "q-1" }, { occurredAt });
    expect(accepts(CpqEvent, event("2026-03-31T10:00:00Z"))).toBe(true);
    expect(accepts(CpqEvent, event("2026-03-31T10:00:00.123+02:00"))).toBe(true);
    expect(accepts(CpqEvent, event("2026-03-31"))).toBe(false);
    expect(accepts(CpqEvent, event("2026-03-31 10:00"))).toBe(false);
  });

  it("a quote's expiry is a date-time (with an offset) or a date", () => {
    const quote = (expiresAt: unknown) => ({ id: "q-1", opportunityId: "o-1", currency: "USD", expiresAt });
    expect(accepts(QuoteInput, quote("2026-03-31"))).toBe(true);
    expect(accepts(QuoteInput, quote("2026-03-31T23:59:59+01:00"))).toBe(true);
    expect(accepts(QuoteInput, quote("31 March"))).toBe(false);
  });
});

describe("exact decimals", () => {
  it("quantities and unit prices: 0 to 10^12, as strings or numbers, canonical", () => {
    for (const schema of [Quantity, UnitPrice]) {
      expect(schema.parse("0")).toBe("0");
      expect(schema.parse(2.5)).toBe("2.5");
      expect(schema.parse("1000000000000")).toBe("1000000000000");
      expect(schema.parse("999999999999.99")).toBe("999999999999.99");
      expect(refusal(schema, "1000000000000.01")).toEqual(["must be at most 1000000000000"]);
      expect(refusal(schema, "-0.01")).toEqual(["must be at least 0"]);
      expect(refusal(schema, -1)).toEqual(["must be at least 0"]);
      expect(refusal(schema, "12abc")[0]).toMatch(/^not an exact decimal: /);
      expect(accepts(schema, "1".repeat(65))).toBe(false);
    }
  });

  it("bounds compare across scales: 100 and 100.00 are equal, 100.001 is more", () => {
    expect(Percent.parse("100")).toBe("100");
    expect(Percent.parse("100.00")).toBe("100");
    expect(Percent.parse("99.9999")).toBe("99.9999");
    expect(refusal(Percent, "100.0001")).toEqual(["must be at most 100"]);
    expect(refusal(Percent, "101")).toEqual(["must be at most 100"]);
    expect(refusal(Percent, "-0.0001")).toEqual(["must be at least 0"]);
  });

  it("money may be negative down to -10^12", () => {
    expect(Money.parse("-1000000000000")).toBe("-1000000000000");
    expect(Money.parse("-0.5")).toBe("-0.5");
    expect(refusal(Money, "-1000000000000.01")).toEqual(["must be at least -1000000000000"]);
    expect(refusal(Money, "1000000000001")).toEqual(["must be at most 1000000000000"]);
  });
});

describe("custom fields", () => {
  it("numbers only where storage holds them exactly", () => {
    for (const value of [0, -0, 1e-130, -1e-130, 1, Number.MAX_SAFE_INTEGER, -Number.MAX_SAFE_INTEGER, 0.5]) {
      expect(isStorableNumber(value), String(value)).toBe(true);
    }
    for (const value of [
      1e-131,
      5e-324,
      Number.MAX_SAFE_INTEGER + 1,
      1e38,
      Number.POSITIVE_INFINITY,
      Number.NaN,
    ]) {
      expect(isStorableNumber(value), String(value)).toBe(false);
    }
    expect(refusal(FieldValue, 1e38)).toContain(
      "a number must be 0 or of magnitude 1e-130 to 9007199254740991 (send other values as strings)",
    );
  });

  it("values: strings up to 4,000 characters, numbers, booleans, null", () => {
    for (const value of ["", "x".repeat(LIMITS.fieldValueLength), 12.5, true, false, null]) {
      expect(accepts(FieldValue, value), JSON.stringify(value).slice(0, 20)).toBe(true);
    }
    expect(accepts(FieldValue, "x".repeat(LIMITS.fieldValueLength + 1))).toBe(false);
    expect(accepts(FieldValue, {})).toBe(false);
    expect(accepts(FieldValue, [])).toBe(false);
  });

  it("names: a letter, then letters, digits and _, up to 80 characters; never an Object.prototype name", () => {
    for (const name of ["a", "Region__c", "x9_", "a".repeat(LIMITS.fieldNameLength)]) {
      expect(accepts(Fields, { [name]: 1 }), name).toBe(true);
    }
    expect(accepts(Fields, { ["a".repeat(LIMITS.fieldNameLength + 1)]: 1 })).toBe(false);
    for (const name of ["9lives", "_x", "a-b", "a b", "a.", "ä"]) {
      expect(refusal(Fields, { [name]: 1 }), name).toContain(
        "field names start with a letter and use letters, digits and _",
      );
    }
    for (const name of ["constructor", "toString", "hasOwnProperty", "valueOf"]) {
      expect(refusal(Fields, JSON.parse(`{"${name}": 1}`)), name).toContain("reserved name");
    }
  });

  it("at most 100 fields on a record", () => {
    const fields = (count: number) =>
      Object.fromEntries(Array.from({ length: count }, (_, i) => [`f${i}`, i]));
    expect(accepts(Fields, fields(LIMITS.fieldsPerRecord))).toBe(true);
    expect(refusal(Fields, fields(LIMITS.fieldsPerRecord + 1))).toEqual(["at most 100 custom fields"]);
  });
});

describe("records", () => {
  it("a currency is three capital letters", () => {
    expect(accepts(CurrencyCode, "EUR")).toBe(true);
    for (const value of ["eur", "EU", "EURO", " EUR", "EUR ", "E1R"]) {
      expect(refusal(CurrencyCode, value), value).toEqual(["expected an ISO 4217 code such as USD"]);
    }
  });

  it("a line's position is a whole number from 0 to 1,000,000; its billing one of the listed values", () => {
    const at = (extra: object) => accepts(LineInput, { ...line, ...extra });
    expect(at({ position: 0 })).toBe(true);
    expect(at({ position: 1_000_000 })).toBe(true);
    expect(at({ position: 1_000_001 })).toBe(false);
    expect(at({ position: -1 })).toBe(false);
    expect(at({ position: 1.5 })).toBe(false);
    expect(at({ billing: "recurring", billingPeriod: "quarter" })).toBe(true);
    expect(at({ billing: "weekly" })).toBe(false);
    expect(at({ billingPeriod: "week" })).toBe(false);
    expect(at({ name: "x".repeat(LIMITS.textLength) })).toBe(true);
    expect(at({ name: "x".repeat(LIMITS.textLength + 1) })).toBe(false);
  });

  it("an opportunity needs its id and currency; its amount is money", () => {
    expect(accepts(OpportunityInput, { id: "o-1", currency: "USD", amount: "-5" })).toBe(true);
    expect(accepts(OpportunityInput, { id: "o-1" })).toBe(false);
    expect(accepts(OpportunityInput, { currency: "USD" })).toBe(false);
    expect(OpportunityInput.parse({ id: "o-1", currency: "USD", amount: 10 }).amount).toBe("10");
  });
});

describe("event envelopes", () => {
  it("a lines.deleted event names at least one line; a lines event at most 5,000", () => {
    const deleted = (lineIds: string[]) =>
      crmEvent("opportunity.lines.deleted", { opportunityId: "o-1", lineIds });
    expect(accepts(CrmEvent, deleted(["l-1"]))).toBe(true);
    expect(accepts(CrmEvent, deleted([]))).toBe(false);
    const upserted = (count: number) =>
      cpqEvent("quote.lines.upserted", {
        quoteId: "q-1",
        lines: Array.from({ length: count }, (_, i) => ({ ...line, id: `l-${i}` })),
      });
    expect(accepts(CpqEvent, upserted(LIMITS.linesPerEvent))).toBe(true);
    expect(accepts(CpqEvent, upserted(LIMITS.linesPerEvent + 1))).toBe(false);
  });

  it("each system sends only its own event types", () => {
    const event = cpqEvent("quote.deleted", { quoteId: "q-1" });
    expect(accepts(CpqEvent, event)).toBe(true);
    expect(accepts(CrmEvent, event)).toBe(false);
    expect(accepts(CrmEvent, crmEvent("opportunity.deleted", { opportunityId: "o-1" }))).toBe(true);
  });

  it("an actor's permissions: up to 100 names of 1 to 80 characters", () => {
    const event = (permissions: string[]) =>
      cpqEvent("cart.finalized", { quoteId: "q-1" }, { actor: { userId: "u-1", permissions } });
    expect(accepts(CpqEvent, event(Array.from({ length: 100 }, (_, i) => `p${i}`)))).toBe(true);
    expect(accepts(CpqEvent, event(Array.from({ length: 101 }, (_, i) => `p${i}`)))).toBe(false);
    expect(accepts(CpqEvent, event([""]))).toBe(false);
    expect(accepts(CpqEvent, event(["x".repeat(81)]))).toBe(false);
  });
});
