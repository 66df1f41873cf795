import type { OpportunityRecord, QuoteRecord, Source } from "./model.js";

/** Generation of a line set never written yet. */
export const INITIAL_GENERATION = "0";

/** An opportunity quotesync has not heard of yet; stored once something refers to it. */
export function placeholderOpportunity(tenantId: string, id: string): OpportunityRecord {
  return {
    tenantId,
    id,
    known: false,
    deleted: false,
    name: null,
    accountId: null,
    stage: null,
    amount: null,
    currency: null,
    pricebookId: null,
    closeDate: null,
    fields: {},
    changedAt: 0,
    changedBy: "crm",
    syncedQuoteId: null,
    amountLocked: false,
    approval: { required: false, reasons: [] },
    lastSyncedAt: null,
    version: null,
    lineGeneration: INITIAL_GENERATION,
  };
}

/** A quote quotesync has not heard of yet; stored once something refers to it. */
export function placeholderQuote(tenantId: string, id: string): QuoteRecord {
  return {
    tenantId,
    id,
    known: false,
    deleted: false,
    opportunityId: null,
    name: null,
    status: null,
    currency: null,
    pricebookId: null,
    expiresAt: null,
    syncMode: null,
    terms: null,
    customer: null,
    seller: null,
    tax: null,
    fees: null,
    fields: {},
    changedAt: 0,
    changedBy: "cpq",
    syncing: false,
    pendingChanges: 0,
    version: null,
    lineGeneration: INITIAL_GENERATION,
  };
}

/**
 * SPEC §1.11: a change older than the record's last applied change is not applied; at equal
 * times the CPQ side wins.
 */
/**
 * `isOlderThanRecord` for a report by a line's own system (the side holding it): a report made
 * before quotesync copied the line there (`mirroredAt`) is older too.
 */
export function isOlderThanLine(
  at: number,
  source: Source,
  line: { changedAt: number; changedBy: Source; mirroredAt?: number },
): boolean {
  return isOlderThanRecord(at, source, line) || (line.mirroredAt !== undefined && at < line.mirroredAt);
}

export function isOlderThanRecord(
  at: number,
  source: Source,
  record: { changedAt: number; changedBy: Source },
): boolean {
  if (at !== record.changedAt) return at < record.changedAt;
  return source === "crm" && record.changedBy === "cpq";
}
