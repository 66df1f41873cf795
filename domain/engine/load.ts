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

/** Most pairs remembered per container; beyond it the oldest guesses are dropped. */
const PAIR_HINTS_LIMIT = 10_000;
/**
 * The counterpart each side named when last read (quote → its opportunity, opportunity → its
 * synced quote), so a synced pair's two consistent reads can run in parallel. Only a guess: the
 * guessed read is used only when the header read with it names the same counterpart, and the
 * commit still checks both headers' versions; a wrong guess costs one read, never a decision.
 */
const pairHints = new Map<string, string>();

function rememberCounterpart(key: string, counterpartId: string | null): void {
  pairHints.delete(key);
  if (!counterpartId) return;
  pairHints.set(key, counterpartId);
  if (pairHints.size > PAIR_HINTS_LIMIT) pairHints.delete(pairHints.keys().next().value as string);
}

/**
 * Loads a quote and, when it is syncing, the opportunity it names — in parallel when the
 * opportunity is known from an earlier read (see `pairHints`), else one after the other.
 */
export async function loadQuoteWithOpportunity(
  ws: Workspace,
  store: SyncStore,
  quoteId: string,
): Promise<{ quote: QuoteAggregate; opportunity: OpportunityAggregate | null }> {
  const { tenantId } = ws.tenant;
  const key = `${tenantId}#Q#${quoteId}`;
  const guess = pairHints.get(key);
  const [loaded, guessed] = await Promise.all([
    store.loadQuote(tenantId, quoteId),
    guess ? store.loadOpportunity(tenantId, guess) : undefined,
  ]);
  const quote = ws.attachQuote(loaded ?? { header: placeholderQuote(tenantId, quoteId), lines: new Map() });
  const opportunityId = quote.header.syncing ? quote.header.opportunityId : null;
  rememberCounterpart(key, opportunityId);
  if (!opportunityId) return { quote, opportunity: null };
  const opportunity =
    guess === opportunityId
      ? ws.attachOpportunity(
          guessed ?? { header: placeholderOpportunity(tenantId, opportunityId), lines: new Map() },
        )
      : await loadOpportunityInto(ws, store, opportunityId);
  return { quote, opportunity };
}

/**
 * Loads an opportunity and, when it has a synced quote, that quote — in parallel when the quote
 * is known from an earlier read (see `pairHints`), else one after the other.
 */
export async function loadOpportunityWithQuote(
  ws: Workspace,
  store: SyncStore,
  opportunityId: string,
): Promise<{ opportunity: OpportunityAggregate; quote: QuoteAggregate | null }> {
  const { tenantId } = ws.tenant;
  const key = `${tenantId}#O#${opportunityId}`;
  const guess = pairHints.get(key);
  const [loaded, guessed] = await Promise.all([
    store.loadOpportunity(tenantId, opportunityId),
    guess ? store.loadQuote(tenantId, guess) : undefined,
  ]);
  const opportunity = ws.attachOpportunity(
    loaded ?? { header: placeholderOpportunity(tenantId, opportunityId), lines: new Map() },
  );
  const quoteId = opportunity.header.syncedQuoteId;
  rememberCounterpart(key, quoteId);
  if (!quoteId) return { opportunity, quote: null };
  const quote =
    guess === quoteId
      ? ws.attachQuote(guessed ?? { header: placeholderQuote(tenantId, quoteId), lines: new Map() })
      : await loadQuoteInto(ws, store, quoteId);
  return { opportunity, quote };
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
