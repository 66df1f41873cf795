import type { SyncStore } from "../store.js";
import { emptySnapshot, type ReadPlan, type Snapshot } from "./snapshot.js";

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

/** The counterpart the side was last seen with (see `pairHints`). */
export function counterpartHint(tenantId: string, side: "quote" | "opportunity", id: string): string | null {
  return pairHints.get(`${tenantId}#${side === "quote" ? "Q" : "O"}#${id}`) ?? null;
}

/** Reads what `plan` names, whole (headers and every line), into a snapshot. */
export async function loadSnapshot(store: SyncStore, tenantId: string, plan: ReadPlan): Promise<Snapshot> {
  const snapshot = emptySnapshot(tenantId);
  if (plan.from === "quote") await loadFromQuote(store, snapshot, plan);
  else await loadFromOpportunity(store, snapshot, plan.opportunityId);
  return snapshot;
}

/**
 * The quote and, as the plan says, its opportunity — in parallel when the opportunity is known
 * from an earlier read (see `pairHints`), else one after the other.
 */
async function loadFromQuote(
  store: SyncStore,
  snapshot: Snapshot,
  plan: Extract<ReadPlan, { from: "quote" }>,
): Promise<void> {
  const { tenantId } = snapshot;
  const { quoteId } = plan;
  const key = `${tenantId}#Q#${quoteId}`;
  const guess = pairHints.get(key);
  const [quote, guessed] = await Promise.all([
    store.loadQuote(tenantId, quoteId),
    guess ? store.loadOpportunity(tenantId, guess) : undefined,
  ]);
  snapshot.quotes.set(quoteId, quote);
  const syncing = quote?.header.syncing ?? false;
  rememberCounterpart(key, syncing ? (quote?.header.opportunityId ?? null) : null);
  const opportunityId =
    syncing || plan.opportunity === "named" ? (quote?.header.opportunityId ?? null) : null;
  if (!opportunityId) return;
  const opportunity =
    guess === opportunityId ? (guessed ?? null) : await store.loadOpportunity(tenantId, opportunityId);
  snapshot.opportunities.set(opportunityId, opportunity);
  const previousId = opportunity?.header.syncedQuoteId;
  if (plan.previous && previousId && previousId !== quoteId) {
    snapshot.quotes.set(previousId, await store.loadQuote(tenantId, previousId));
  }
}

/**
 * The opportunity and, when it names a synced quote, that quote — in parallel when the quote is
 * known from an earlier read (see `pairHints`), else one after the other.
 */
async function loadFromOpportunity(
  store: SyncStore,
  snapshot: Snapshot,
  opportunityId: string,
): Promise<void> {
  const { tenantId } = snapshot;
  const key = `${tenantId}#O#${opportunityId}`;
  const guess = pairHints.get(key);
  const [opportunity, guessed] = await Promise.all([
    store.loadOpportunity(tenantId, opportunityId),
    guess ? store.loadQuote(tenantId, guess) : undefined,
  ]);
  snapshot.opportunities.set(opportunityId, opportunity);
  const quoteId = opportunity?.header.syncedQuoteId ?? null;
  rememberCounterpart(key, quoteId);
  if (!quoteId) return;
  snapshot.quotes.set(
    quoteId,
    guess === quoteId ? (guessed ?? null) : await store.loadQuote(tenantId, quoteId),
  );
}
