import { unreadLines } from "../line-summary.js";
import type { OpportunityAggregate, QuoteAggregate, StoredLine, SyncResponse } from "../model.js";
import type { SyncStore } from "../store.js";
import type { TenantConfig } from "../tenant.js";
import { isSyncedPair, pairCurrency } from "./pair-totals.js";
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

/** Most line ids remembered per container (see `lineKeyHints`). */
const LINE_HINTS_LIMIT = 100_000;
/**
 * The sync key each owner's line id had when last read (`<tenant>#<Q|O>#<owner>#<line id>`), so a
 * change naming a line by its owner's id alone can read that line by key. Only a guess: the line
 * read must carry that id, and its header must say no other line holds it.
 */
const lineKeyHints = new Map<string, string>();

function rememberLineKeys(
  tenantId: string,
  side: "Q" | "O",
  ownerId: string,
  lines: Map<string, StoredLine>,
): void {
  for (const line of lines.values()) {
    if (line.id === null) continue;
    const key = `${tenantId}#${side}#${ownerId}#${line.id}`;
    lineKeyHints.delete(key);
    lineKeyHints.set(key, line.syncKey);
  }
  while (lineKeyHints.size > LINE_HINTS_LIMIT)
    lineKeyHints.delete(lineKeyHints.keys().next().value as string);
}

/**
 * Reads what `plan` names into a snapshot: by key when the plan names a few lines of a synced
 * pair and the headers' line summaries allow it, else whole (headers and every line). With an
 * `eventKey`, a read by key also looks up the event's processed record (same round trip): a
 * `processed` response means the event was decided already, and nothing more is read.
 */
export async function loadSnapshot(
  store: SyncStore,
  tenant: TenantConfig,
  plan: ReadPlan,
  eventKey: string | null = null,
): Promise<{ snapshot: Snapshot | null; processed: SyncResponse | null }> {
  const byKey = await readByKey(store, tenant, plan, eventKey);
  if (byKey.processed || byKey.snapshot) return byKey;
  const snapshot = emptySnapshot(tenant.tenantId);
  if (plan.from === "quote") await loadFromQuote(store, snapshot, plan);
  else await loadFromOpportunity(store, snapshot, plan.opportunityId);
  for (const [quoteId, quote] of snapshot.quotes) {
    if (quote) rememberLineKeys(tenant.tenantId, "Q", quoteId, quote.lines);
  }
  for (const [opportunityId, opportunity] of snapshot.opportunities) {
    if (opportunity) rememberLineKeys(tenant.tenantId, "O", opportunityId, opportunity.lines);
  }
  return { snapshot, processed: null };
}

/** Where a read by key would look: the pair and the sync keys, when every one is known. */
function keyedRead(
  tenantId: string,
  plan: ReadPlan,
): { quoteId: string; opportunityId: string; side: "Q" | "O"; syncKeys: string[] } | null {
  if (!plan.lines || plan.lines.length === 0) return null;
  const side = plan.from === "quote" ? "Q" : "O";
  const ownerId = plan.from === "quote" ? plan.quoteId : plan.opportunityId;
  const counterpart = pairHints.get(`${tenantId}#${side}#${ownerId}`);
  if (!counterpart) return null;
  const syncKeys: string[] = [];
  for (const ref of plan.lines) {
    const syncKey = ref.syncKey ?? lineKeyHints.get(`${tenantId}#${side}#${ownerId}#${ref.id}`);
    if (syncKey === undefined) return null;
    syncKeys.push(syncKey);
  }
  return side === "Q"
    ? { quoteId: ownerId, opportunityId: counterpart, side, syncKeys }
    : { quoteId: counterpart, opportunityId: ownerId, side, syncKeys };
}

/** True when `loadSnapshot` will first try a read by key for this plan (a few reads, no full sets). */
export function readsByKey(store: SyncStore, tenantId: string, plan: ReadPlan): boolean {
  return store.loadPairLines !== undefined && keyedRead(tenantId, plan) !== null;
}

/**
 * The changed lines and their twins read by key, with each header's line summary standing for
 * the lines not read — or null when that would not decide exactly as a whole read: the pair is not
 * (or no longer) synced, a line is not where its hint says or its id may be held twice, a summary
 * is missing or counts under another currency or discount limit, or a discount over the limit
 * lies among the lines not read (the approval names every such line).
 */
async function readByKey(
  store: SyncStore,
  tenant: TenantConfig,
  plan: ReadPlan,
  eventKey: string | null,
): Promise<{ snapshot: Snapshot | null; processed: SyncResponse | null }> {
  const { tenantId } = tenant;
  const where = keyedRead(tenantId, plan);
  if (!where || !store.loadPairLines || !plan.lines) return { snapshot: null, processed: null };
  const { quoteId, opportunityId, side, syncKeys } = where;
  const read = await store.loadPairLines(tenantId, {
    quoteId,
    opportunityId,
    syncKeys: [...new Set(syncKeys)],
    ...(eventKey ? { eventKey } : {}),
  });
  const processed = read.processed ?? null;
  if (processed) return { snapshot: null, processed };
  if (!read.quote || !read.opportunity || !isSyncedPair(read.quote, read.opportunity))
    return { snapshot: null, processed };
  const limit = tenant.approvals.maxDiscountPercent;
  const quote = withUnread(read.quote, pairCurrency(read.quote.header, read.opportunity.header), limit);
  const opportunity = withUnread(read.opportunity, read.opportunity.header.currency ?? "USD", limit);
  if (!quote?.unread || !opportunity?.unread || quote.unread.overLimit !== 0)
    return { snapshot: null, processed };
  const own = side === "Q" ? quote : opportunity;
  const found = plan.lines.every((ref, index) => own.lines.get(syncKeys[index] as string)?.id === ref.id);
  if (!found || !own.unread?.uniqueIds) return { snapshot: null, processed };
  const snapshot = emptySnapshot(tenantId);
  snapshot.quotes.set(quoteId, quote);
  snapshot.opportunities.set(opportunityId, opportunity);
  return { snapshot, processed };
}

/** The side read by key, its summary less the lines read standing for the rest; null without one. */
function withUnread<A extends QuoteAggregate | OpportunityAggregate>(
  aggregate: A,
  currency: string,
  discountLimit: string | null,
): A | null {
  const summary = aggregate.header.lineSummary;
  if (!summary || summary.currency !== currency || summary.discountLimit !== discountLimit) return null;
  return { ...aggregate, unread: unreadLines(summary, aggregate.lines) };
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
  if (plan.previous) {
    // A start: the pair it is about to make is the one the next change will most likely name.
    rememberCounterpart(key, opportunityId);
    rememberCounterpart(`${tenantId}#O#${opportunityId}`, quoteId);
  }
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
