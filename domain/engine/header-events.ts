import { compare, parseDecimal } from "../decimal.js";
import type { CpqEvent, CrmEvent, OpportunityInput, QuoteInput } from "../events.js";
import type { OpportunityRecord, QuoteRecord, SyncResponse } from "../model.js";
import { isOlderThanRecord } from "../records.js";
import { auditHeaderMirror, isSyncedPair, settleSyncedHeader } from "./pair-totals.js";
import { type Decision, type DecisionContext, decided, type ReadPlan, type Snapshot } from "./snapshot.js";
import { endSync } from "./start-stop.js";
import type { Workspace } from "./workspace.js";

/** An event that reports or deletes an opportunity or a quote (its header, not its lines). */
export type RecordEvent =
  | Extract<CrmEvent, { type: "opportunity.upserted" | "opportunity.deleted" }>
  | Extract<CpqEvent, { type: "quote.upserted" | "quote.deleted" }>;

/** What a record event reads: the record, and its synced counterpart. */
export function recordEventReads(event: RecordEvent): ReadPlan {
  switch (event.type) {
    case "opportunity.upserted":
      return { from: "opportunity", opportunityId: event.data.opportunity.id };
    case "opportunity.deleted":
      return { from: "opportunity", opportunityId: event.data.opportunityId };
    case "quote.upserted":
      return { from: "quote", quoteId: event.data.quote.id, opportunity: "if-syncing" };
    case "quote.deleted":
      return { from: "quote", quoteId: event.data.quoteId, opportunity: "if-syncing" };
  }
}

/** Decides a record event on the snapshot `recordEventReads` names. */
export function decideRecordEvent(
  snapshot: Snapshot,
  event: RecordEvent,
  context: DecisionContext,
): Decision {
  return decided(context, snapshot, (ws) => {
    switch (event.type) {
      case "opportunity.upserted":
        return applyOpportunityUpsert(ws, event.data.opportunity);
      case "opportunity.deleted":
        return applyOpportunityDelete(ws, event.data.opportunityId);
      case "quote.upserted":
        return applyQuoteUpsert(ws, event.data.quote);
      case "quote.deleted":
        return applyQuoteDelete(ws, event.data.quoteId);
    }
  });
}

function opportunityValues(
  input: OpportunityInput,
  current: OpportunityRecord,
  at: number,
): Partial<OpportunityRecord> {
  // A stage reported as of before quotesync set it (on acceptance) is the one it replaced; the
  // acceptance came from the CPQ, which wins a tie as everywhere else (SPEC rule 11: equal timestamps, the CPQ side wins).
  const stageOutdated =
    current.stageSetAt !== undefined &&
    isOlderThanRecord(at, "crm", { changedAt: current.stageSetAt, changedBy: "cpq" });
  return {
    name: input.name ?? null,
    accountId: input.accountId ?? null,
    stage: stageOutdated ? current.stage : (input.stage ?? null),
    currency: input.currency,
    pricebookId: input.pricebookId ?? null,
    closeDate: input.closeDate ?? null,
    fields: { ...current.fields, ...(input.fields ?? {}) },
  };
}

/**
 * SPEC §1.10: what changed of the terms a synced pair must share. A new price book (set, or set
 * for the first time) counts; clearing it does not.
 */
function changedTerms(
  current: { known: boolean; currency: string | null; pricebookId: string | null },
  next: { currency?: string | null; pricebookId?: string | null },
): "currency" | "price book" | null {
  if (!current.known) return null;
  if (current.currency !== next.currency) return "currency";
  if (next.pricebookId != null && current.pricebookId !== next.pricebookId) return "price book";
  return null;
}

/** Amounts compare as numbers: the CRM's "200" echoes quotesync's "200.00". */
function sameAmount(a: string | null, b: string | null): boolean {
  if (a === null || b === null) return a === b;
  return compare(parseDecimal(a), parseDecimal(b)) === 0;
}

function differs<T extends object>(current: T, next: Partial<T>): boolean {
  return Object.entries(next).some(
    ([key, value]) => JSON.stringify(current[key as keyof T]) !== JSON.stringify(value),
  );
}

/** SPEC §1.5: a CRM amount on a synced opportunity is answered with the locked one (audited). */
function restoreLockedAmount(
  ws: Workspace,
  opportunity: { header: OpportunityRecord },
  quoteId: string,
  reported: string,
): void {
  const { header } = opportunity;
  ws.audit(
    header.id,
    "amount.corrected",
    `CRM amount ${reported} restored to the locked ${header.amount}`,
    quoteId,
  );
  const mirror = ws.mirrorTo("crm", header.id, quoteId);
  mirror.opportunity = {
    ...mirror.opportunity,
    amount: header.amount,
    amountLocked: true,
    syncedQuoteId: quoteId,
    approval: header.approval,
  };
}

/** SPEC §1.5, §1.10, §1.11: an opportunity reported by the CRM. */
function applyOpportunityUpsert(ws: Workspace, input: OpportunityInput): SyncResponse {
  const opportunity = ws.useOpportunity(input.id);
  const header = opportunity.header;
  if (header.deleted) return { status: "stale", mirrors: [] };
  const quote = header.syncedQuoteId ? ws.useQuote(header.syncedQuoteId) : null;
  const synced = quote !== null && isSyncedPair(quote, opportunity);
  const amountReported = input.amount ?? null;
  if (header.known && isOlderThanRecord(ws.cause.at, "crm", header)) {
    // Older than what quotesync holds: not applied. A locked amount it reports otherwise is
    // answered with the locked one (SPEC §1.5, §1.11), so the CRM converges.
    if (synced && quote && amountReported !== null && !sameAmount(amountReported, header.amount)) {
      restoreLockedAmount(ws, opportunity, quote.header.id, amountReported);
    }
    return { status: "stale", mirrors: ws.producedMirrors() };
  }
  const next = opportunityValues(input, header, ws.cause.at);
  if (!synced) {
    next.amount =
      amountReported !== null && !sameAmount(amountReported, header.amount) ? amountReported : header.amount;
  }
  const amountOverridden = synced && amountReported !== null && !sameAmount(amountReported, header.amount);
  if (!differs(header, next) && header.known && !amountOverridden) {
    return { status: "no_change", mirrors: [] };
  }
  const terms = changedTerms(header, next);
  ws.updateOpportunity({ ...next, known: true, changedAt: ws.cause.at, changedBy: "crm" });
  if (synced && quote && terms) {
    endSync(ws, quote, opportunity, `sync stopped: the opportunity's ${terms} changed`);
    return { status: "stopped", mirrors: ws.producedMirrors() };
  }
  if (synced && quote) {
    if (amountOverridden) restoreLockedAmount(ws, opportunity, quote.header.id, amountReported);
    const changed = settleSyncedHeader(ws, opportunity, quote);
    auditHeaderMirror(
      ws,
      header.id,
      quote.header.id,
      changed.filter((change) => !(amountOverridden && change === "amount")),
      "correction",
    );
    return { status: "applied", mirrors: ws.producedMirrors() };
  }
  return { status: "not_synced", mirrors: [] };
}

/** SPEC §1.6: deleting the opportunity stops its sync and tells the CPQ. */
function applyOpportunityDelete(ws: Workspace, opportunityId: string): SyncResponse {
  const opportunity = ws.useOpportunity(opportunityId);
  const header = opportunity.header;
  if (header.deleted) return { status: "no_change", mirrors: [] };
  if (header.known && isOlderThanRecord(ws.cause.at, "crm", header)) return { status: "stale", mirrors: [] };
  const quote = header.syncedQuoteId ? ws.useQuote(header.syncedQuoteId) : null;
  ws.updateOpportunity({ deleted: true, known: true, changedAt: ws.cause.at, changedBy: "crm" });
  if (quote && isSyncedPair(quote, opportunity)) {
    endSync(ws, quote, opportunity, `sync stopped: opportunity ${opportunityId} was deleted`);
    return { status: "stopped", mirrors: ws.producedMirrors() };
  }
  return { status: "not_synced", mirrors: [] };
}

function quoteValues(input: QuoteInput, current: QuoteRecord, at: number): Partial<QuoteRecord> {
  // A status reported as of before the quote was accepted is the one the acceptance replaced.
  const statusOutdated = current.statusSetAt !== undefined && at < current.statusSetAt;
  return {
    opportunityId: input.opportunityId,
    name: input.name ?? null,
    status: statusOutdated ? current.status : (input.status ?? current.status),
    currency: input.currency,
    pricebookId: input.pricebookId ?? null,
    expiresAt: input.expiresAt ?? null,
    syncMode: input.syncMode ?? null,
    terms: input.terms ?? null,
    customer: input.customer ?? null,
    seller: input.seller ?? null,
    tax: input.tax ?? null,
    fees: input.fees ?? null,
    fields: { ...current.fields, ...(input.fields ?? {}) },
  };
}

/** A quote reported by the CPQ: header fields, status (approval), its opportunity. */
function applyQuoteUpsert(ws: Workspace, input: QuoteInput): SyncResponse {
  const quote = ws.useQuote(input.id);
  const header = quote.header;
  if (header.deleted || (header.known && isOlderThanRecord(ws.cause.at, "cpq", header))) {
    return { status: "stale", mirrors: [] };
  }
  const next = quoteValues(input, header, ws.cause.at);
  if (header.known && !differs(header, next)) return { status: "no_change", mirrors: [] };
  const previousOpportunityId = header.opportunityId;
  const wasSynced = header.syncing && previousOpportunityId !== null;
  const opportunity = wasSynced && previousOpportunityId ? ws.useOpportunity(previousOpportunityId) : null;
  const synced = opportunity !== null && isSyncedPair(quote, opportunity);
  const moved = previousOpportunityId !== null && previousOpportunityId !== input.opportunityId;
  const terms = changedTerms(header, next);
  ws.updateQuote(header.id, { ...next, known: true, changedAt: ws.cause.at, changedBy: "cpq" });
  if (synced && opportunity) {
    if (moved || terms) {
      const what = moved ? "moved to another opportunity" : `${terms} changed`;
      endSync(ws, quote, opportunity, `sync stopped: the quote's ${what}`);
      return { status: "stopped", mirrors: ws.producedMirrors() };
    }
    const changed = settleSyncedHeader(ws, opportunity, quote);
    auditHeaderMirror(ws, opportunity.header.id, quote.header.id, changed, "mirrored");
    return { status: "applied", mirrors: ws.producedMirrors() };
  }
  return { status: "not_synced", mirrors: [] };
}

/** SPEC §1.6: deleting the synced quote stops sync; the opportunity keeps its lines. */
function applyQuoteDelete(ws: Workspace, quoteId: string): SyncResponse {
  const quote = ws.useQuote(quoteId);
  const header = quote.header;
  if (header.deleted) return { status: "no_change", mirrors: [] };
  if (header.known && isOlderThanRecord(ws.cause.at, "cpq", header)) return { status: "stale", mirrors: [] };
  ws.updateQuote(quoteId, { deleted: true, known: true, changedAt: ws.cause.at, changedBy: "cpq" });
  if (header.syncing && header.opportunityId) {
    const opportunity = ws.useOpportunity(header.opportunityId);
    if (isSyncedPair(quote, opportunity)) {
      endSync(ws, quote, opportunity, `sync stopped: quote ${quoteId} was deleted`);
      return { status: "stopped", mirrors: ws.producedMirrors() };
    }
  }
  return { status: "not_synced", mirrors: [] };
}
