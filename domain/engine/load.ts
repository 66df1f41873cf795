import type { OpportunityAggregate, QuoteAggregate } from "../model.js";
import { placeholderOpportunity, placeholderQuote } from "../records.js";
import type { SyncStore } from "../store.js";
import type { SyncedPair } from "./line-changes.js";
import { syncModeOf } from "./pair-totals.js";
import type { Workspace } from "./workspace.js";

/** Loads a quote into the decision, or a placeholder when quotesync has not seen it yet. */
export async function loadQuoteInto(
  ws: Workspace,
  store: SyncStore,
  quoteId: string,
): Promise<QuoteAggregate> {
  const loaded = await store.loadQuote(ws.tenant.tenantId, quoteId);
  return ws.attachQuote(
    loaded ?? { header: placeholderQuote(ws.tenant.tenantId, quoteId), lines: new Map() },
  );
}

/** Loads an opportunity into the decision, or a placeholder when quotesync has not seen it yet. */
export async function loadOpportunityInto(
  ws: Workspace,
  store: SyncStore,
  opportunityId: string,
): Promise<OpportunityAggregate> {
  const loaded = await store.loadOpportunity(ws.tenant.tenantId, opportunityId);
  return ws.attachOpportunity(
    loaded ?? { header: placeholderOpportunity(ws.tenant.tenantId, opportunityId), lines: new Map() },
  );
}

/** True when this quote and opportunity are the synced pair (both headers agree). */
export function isSyncedPair(quote: QuoteAggregate, opportunity: OpportunityAggregate): boolean {
  return (
    quote.header.syncing &&
    quote.header.opportunityId === opportunity.header.id &&
    opportunity.header.syncedQuoteId === quote.header.id
  );
}

/** The pair as seen from one side: `other` is the side that receives mirrors. */
export function pairSeenFrom(
  ws: Workspace,
  sender: "crm" | "cpq",
  quote: QuoteAggregate,
  opportunity: OpportunityAggregate,
): SyncedPair {
  return {
    opportunityId: opportunity.header.id,
    quoteId: quote.header.id,
    other: sender === "cpq" ? opportunity.lines : quote.lines,
    live: syncModeOf(quote.header, ws.tenant) === "live",
  };
}
