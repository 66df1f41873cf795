import { z } from "zod";
import { normalizePercent, normalizeQuantity, normalizeUnitPrice, parseDecimal } from "./decimal.js";

/**
 * Input limits. They keep every record far below DynamoDB's 400 KB item limit and every event
 * below the 1 MiB body limit; docs/limits.md documents them for integrators.
 */
export const LIMITS = {
  idLength: 128,
  textLength: 1000,
  fieldsPerRecord: 100,
  fieldNameLength: 80,
  fieldValueLength: 4000,
  linesPerEvent: 5000,
  linesPerRecord: 5000,
  maxAbsoluteAmount: "1000000000000",
} as const;

const RESERVED_KEYS = new Set(Object.getOwnPropertyNames(Object.prototype));

/** The id rule of every record, line and event id, in bodies and in paths alike. */
export const EntityId = z
  .string()
  .min(1)
  .max(LIMITS.idLength)
  .regex(/^[\w.:@#/+=-]+$/, "ids may contain letters, digits and _ . : @ # / + = - only");
const id = EntityId;

const text = z.string().max(LIMITS.textLength);

const isoDate = z.string().regex(/^\d{4}-\d{2}-\d{2}$/, "expected an ISO date YYYY-MM-DD");

const isoTime = z.iso.datetime({ offset: true });

function decimalField(normalize: (value: unknown) => string, options: { min?: string; max?: string }) {
  return z.union([z.string().max(64), z.number()]).transform((value, ctx) => {
    let canonical: string;
    try {
      canonical = normalize(value);
    } catch (error) {
      ctx.addIssue({ code: "custom", message: `not an exact decimal: ${(error as Error).message}` });
      return z.NEVER;
    }
    const parsed = parseDecimal(canonical);
    if (options.min !== undefined && compareCanonical(parsed, options.min) < 0) {
      ctx.addIssue({ code: "custom", message: `must be at least ${options.min}` });
      return z.NEVER;
    }
    if (options.max !== undefined && compareCanonical(parsed, options.max) > 0) {
      ctx.addIssue({ code: "custom", message: `must be at most ${options.max}` });
      return z.NEVER;
    }
    return canonical;
  });
}

function compareCanonical(value: ReturnType<typeof parseDecimal>, bound: string): number {
  const b = parseDecimal(bound);
  const scale = Math.max(value.scale, b.scale);
  const left = value.units * 10n ** BigInt(scale - value.scale);
  const right = b.units * 10n ** BigInt(scale - b.scale);
  return left < right ? -1 : left > right ? 1 : 0;
}

export const Quantity = decimalField(normalizeQuantity, { min: "0", max: LIMITS.maxAbsoluteAmount });
export const UnitPrice = decimalField(normalizeUnitPrice, { min: "0", max: LIMITS.maxAbsoluteAmount });
export const Percent = decimalField(normalizePercent, { min: "0", max: "100" });
export const Money = decimalField(normalizeUnitPrice, {
  min: `-${LIMITS.maxAbsoluteAmount}`,
  max: LIMITS.maxAbsoluteAmount,
});

/**
 * The numbers storage holds exactly: 0, or a magnitude from 1e-130 (DynamoDB's smallest) up to
 * 2^53 - 1 (the largest integer a double holds exactly; the DynamoDB marshaller refuses more).
 * Anything else — infinities, denormals such as 5e-324, 1e38 — is refused, naming the field; a
 * value outside this range is sent as a string.
 */
export function isStorableNumber(value: number): boolean {
  if (!Number.isFinite(value)) return false;
  const magnitude = Math.abs(value);
  return magnitude === 0 || (magnitude >= 1e-130 && magnitude <= Number.MAX_SAFE_INTEGER);
}

/** A custom field value: string, number, boolean, ISO date (as a string) or null. */
export const FieldValue = z.union([
  z.string().max(LIMITS.fieldValueLength),
  z
    .number()
    .refine(
      isStorableNumber,
      "a number must be 0 or of magnitude 1e-130 to 9007199254740991 (send other values as strings)",
    ),
  z.boolean(),
  z.null(),
]);
export type FieldValue = z.infer<typeof FieldValue>;

export const Fields = z
  .record(
    z
      .string()
      .min(1)
      .max(LIMITS.fieldNameLength)
      .regex(/^[A-Za-z][A-Za-z0-9_]*$/, "field names start with a letter and use letters, digits and _")
      .refine((name) => !RESERVED_KEYS.has(name), "reserved name"),
    FieldValue,
  )
  .refine((fields) => Object.keys(fields).length <= LIMITS.fieldsPerRecord, {
    message: `at most ${LIMITS.fieldsPerRecord} custom fields`,
  });
export type Fields = z.infer<typeof Fields>;

export const CurrencyCode = z.string().regex(/^[A-Z]{3}$/, "expected an ISO 4217 code such as USD");

export const LineInput = z.object({
  id: id,
  syncKey: id.optional(),
  productId: id,
  name: text.nullish(),
  quantity: Quantity,
  unitPrice: UnitPrice,
  discountPercent: Percent.nullish(),
  billing: z.enum(["one_time", "recurring"]).nullish(),
  billingPeriod: z.enum(["month", "quarter", "year"]).nullish(),
  position: z.number().int().min(0).max(1_000_000).nullish(),
  serviceDate: isoDate.nullish(),
  fields: Fields.optional(),
});
export type LineInput = z.infer<typeof LineInput>;

export const OpportunityInput = z.object({
  id: id,
  name: text.nullish(),
  accountId: id.nullish(),
  stage: text.nullish(),
  amount: Money.nullish(),
  currency: CurrencyCode,
  pricebookId: id.nullish(),
  closeDate: isoDate.nullish(),
  fields: Fields.optional(),
});
export type OpportunityInput = z.infer<typeof OpportunityInput>;

export const QuoteStatus = z.enum([
  "draft",
  "in_review",
  "approved",
  "rejected",
  "presented",
  "accepted",
  "denied",
]);
export type QuoteStatus = z.infer<typeof QuoteStatus>;
export const SyncMode = z.enum(["live", "scheduled", "manual"]);
export type SyncMode = z.infer<typeof SyncMode>;

export const QuoteInput = z.object({
  id: id,
  opportunityId: id,
  name: text.nullish(),
  status: QuoteStatus.nullish(),
  currency: CurrencyCode,
  pricebookId: id.nullish(),
  expiresAt: z.union([isoTime, isoDate]).nullish(),
  syncMode: SyncMode.nullish(),
  terms: text.nullish(),
  customer: text.nullish(),
  seller: text.nullish(),
  tax: Money.nullish(),
  fees: Money.nullish(),
  fields: Fields.optional(),
});
export type QuoteInput = z.infer<typeof QuoteInput>;

const lines = z.array(LineInput).max(LIMITS.linesPerEvent);
const lineIds = z.array(id).min(1).max(LIMITS.linesPerEvent);

export const Actor = z.object({
  userId: id,
  permissions: z.array(z.string().min(1).max(LIMITS.fieldNameLength)).max(100).optional(),
});
export type Actor = z.infer<typeof Actor>;

const envelope = <T extends string, D extends z.ZodType>(type: T, data: D) =>
  z.object({
    eventId: id,
    type: z.literal(type),
    occurredAt: isoTime,
    actor: Actor.optional(),
    data,
  });

/** Every event the CRM may send (SPEC §3). */
export const CrmEvent = z.discriminatedUnion("type", [
  envelope("opportunity.upserted", z.object({ opportunity: OpportunityInput })),
  envelope("opportunity.deleted", z.object({ opportunityId: id })),
  envelope("opportunity.lines.upserted", z.object({ opportunityId: id, lines })),
  envelope("opportunity.lines.deleted", z.object({ opportunityId: id, lineIds })),
  envelope("opportunity.lines.replaced", z.object({ opportunityId: id, lines })),
]);
export type CrmEvent = z.infer<typeof CrmEvent>;

/** Every event the CPQ may send (SPEC §3), trigger events included. */
export const CpqEvent = z.discriminatedUnion("type", [
  envelope("quote.upserted", z.object({ quote: QuoteInput })),
  envelope("quote.deleted", z.object({ quoteId: id })),
  envelope("quote.lines.upserted", z.object({ quoteId: id, lines })),
  envelope("quote.lines.deleted", z.object({ quoteId: id, lineIds })),
  envelope("quote.lines.replaced", z.object({ quoteId: id, lines })),
  envelope("cart.finalized", z.object({ quoteId: id })),
  envelope("quote.accepted", z.object({ quoteId: id })),
]);
export type CpqEvent = z.infer<typeof CpqEvent>;

export const CRM_EVENT_TYPES = CrmEvent.options.map((option) => option.shape.type.value);
export const CPQ_EVENT_TYPES = CpqEvent.options.map((option) => option.shape.type.value);

/** The optional body of a start or stop command. */
export const SyncCommandInput = z
  .object({
    eventId: id.optional(),
    actor: Actor.optional(),
  })
  .default({});
export type SyncCommandInput = z.infer<typeof SyncCommandInput>;

/** A quote-less parse of the event time, in epoch milliseconds. */
export function eventTime(occurredAt: string): number {
  return Date.parse(occurredAt);
}
