import { PreconditionFailed } from "../errors.js";
import {
  liveLines,
  mirrorFingerprint,
  outdatedAfterOverwrite,
  storedLine,
  toMirrorLine,
  valuesForTarget,
} from "../lines.js";
import type { OpportunityAggregate, QuoteAggregate, StoredLine } from "../model.js";
import { isOlderThanRecord } from "../records.js";
import { deleteLineOnOtherSide, type LineSide, mirrorLineToOtherSide } from "./line-changes.js";
import { settleSyncedHeader } from "./pair-totals.js";
import type { Workspace } from "./workspace.js";

/** SPEC §1.10: a start is refused, with nothing changed, when the records cannot agree. */
export function checkStartPreconditions(
  quote: QuoteAggregate,
  opportunity: OpportunityAggregate,
  now: number,
): void {
  const q = quote.header;
  const o = opportunity.header;
  if (q.currency && o.currency && q.currency !== o.currency) {
    throw new PreconditionFailed(
      "currency_mismatch",
      `quote ${q.id} is in ${q.currency} but opportunity ${o.id} is in ${o.currency}`,
      [{ quoteCurrency: q.currency, opportunityCurrency: o.currency }],
    );
  }
  if (q.pricebookId && o.pricebookId && q.pricebookId !== o.pricebookId) {
    throw new PreconditionFailed(
      "pricebook_mismatch",
      `quote ${q.id} uses price book ${q.pricebookId} but opportunity ${o.id} uses ${o.pricebookId}`,
      [{ quotePricebookId: q.pricebookId, opportunityPricebookId: o.pricebookId }],
    );
  }
  if (q.expiresAt && expiryTime(q.expiresAt) < now) {
    throw new PreconditionFailed("quote_expired", `quote ${q.id} expired at ${q.expiresAt}`, [
      { expiresAt: q.expiresAt },
    ]);
  }
}

/** A date-only expiry lasts to the end of that day (UTC). */
function expiryTime(expiresAt: string): number {
  return expiresAt.length === 10 ? Date.parse(`${expiresAt}T23:59:59.999Z`) : Date.parse(expiresAt);
}

/**
 * Starts sync of `quote` with its opportunity (SPEC §1.2): replaces a previously synced quote,
 * replaces the opportunity's lines by the quote's, locks the amount. On the quote already synced
 * it re-synchronizes: pending changes of both sides are reconciled, then the quote's whole state
 * is pushed again.
 */
export function startSync(
  ws: Workspace,
  quote: QuoteAggregate,
  opportunity: OpportunityAggregate,
  previous: QuoteAggregate | null,
  options: { stage?: string } = {},
): "started" {
  const quoteId = quote.header.id;
  const opportunityId = opportunity.header.id;
  const resync = opportunity.header.syncedQuoteId === quoteId && quote.header.syncing;
  if (previous && previous.header.id !== quoteId) {
    ws.updateQuote(previous.header.id, { syncing: false, pendingChanges: 0 });
    ws.mirrorTo("cpq", opportunityId, previous.header.id).quote = { syncing: false };
    ws.audit(
      opportunityId,
      "sync.replaced",
      `quote ${quoteId} replaces quote ${previous.header.id} as the synced quote`,
      quoteId,
    );
  }
  if (resync) {
    const pending = quote.header.pendingChanges;
    const copied = reconcilePair(ws, quote, opportunity);
    for (const line of liveLines(opportunity.lines)) {
      ws.mirrorLineUpsert("crm", opportunityId, quoteId, toMirrorLine(line, ws.mapping.lines));
    }
    ws.audit(
      opportunityId,
      "sync.resynced",
      `quote ${quoteId} re-synchronized: ${pending} pending change(s), ${copied} line(s) that differed copied, every line sent again`,
      quoteId,
    );
  } else {
    replaceOpportunityLines(ws, quote, opportunity);
    ws.audit(
      opportunityId,
      "sync.started",
      `quote ${quoteId} synced: ${liveLines(quote.lines).length} line(s) copied`,
      quoteId,
    );
  }
  ws.updateQuote(quoteId, { syncing: true, pendingChanges: 0 });
  ws.mirrorTo("cpq", opportunityId, quoteId).quote = { syncing: true };
  ws.updateOpportunity({ syncedQuoteId: quoteId, lastSyncedAt: ws.nowIso });
  settleSyncedHeader(ws, opportunity, quote, { always: true, ...options });
  return "started";
}

/** The quote wins: every quote line is copied to the opportunity, every other opportunity line deleted. */
function replaceOpportunityLines(
  ws: Workspace,
  quote: QuoteAggregate,
  opportunity: OpportunityAggregate,
): void {
  const opportunityId = opportunity.header.id;
  const quoteId = quote.header.id;
  const keep = new Set<string>();
  for (const line of liveLines(quote.lines)) {
    keep.add(line.syncKey);
    const current = opportunity.lines.get(line.syncKey);
    const live = current && !current.deleted ? current : undefined;
    const values = valuesForTarget(line, live, ws.mapping.lines);
    const fingerprint = mirrorFingerprint(values, ws.mapping.lines);
    let copy: StoredLine;
    if (live && mirrorFingerprint(live, ws.mapping.lines) === fingerprint) {
      copy = live;
    } else {
      copy = storedLine(values, {
        syncKey: line.syncKey,
        id: live?.id ?? null,
        // The pair's time is the time of the quote line's last change: all line times are the
        // systems' own event times, never quotesync's clock.
        changedAt: Math.max(line.changedAt, live?.changedAt ?? 0),
        changedBy: "cpq",
        outdatedMirrors: outdatedAfterOverwrite(live, "crm", ws.mapping.lines),
      });
      copy.mirroredAt = Math.max(ws.cause.at, copy.changedAt);
      ws.putOpportunityLine(copy);
    }
    ws.mirrorLineUpsert("crm", opportunityId, quoteId, toMirrorLine(copy, ws.mapping.lines));
  }
  for (const line of liveLines(opportunity.lines)) {
    if (keep.has(line.syncKey)) continue;
    ws.putOpportunityLine({
      ...line,
      deleted: true,
      changedAt: Math.max(ws.cause.at, line.changedAt),
      changedBy: "cpq",
      outdatedMirrors: [],
    });
    ws.mirrorLineDelete("crm", opportunityId, quoteId, line.id ?? line.syncKey);
  }
}

/**
 * Pushes accumulated changes of a synced pair (SPEC §1.8): for each line the side changed last
 * wins (equal times: the CPQ), and the net difference is mirrored to the other side.
 * Returns how many lines it copied.
 */
export function reconcilePair(
  ws: Workspace,
  quote: QuoteAggregate,
  opportunity: OpportunityAggregate,
): number {
  const quoteId = quote.header.id;
  const opportunityId = opportunity.header.id;
  const keys = new Set([...quote.lines.keys(), ...opportunity.lines.keys()]);
  let pushed = 0;
  for (const key of keys) {
    const q = quote.lines.get(key);
    const o = opportunity.lines.get(key);
    if (
      q &&
      o &&
      q.deleted === o.deleted &&
      (q.deleted || mirrorFingerprint(q, ws.mapping.lines) === mirrorFingerprint(o, ws.mapping.lines))
    ) {
      continue;
    }
    const quoteWins = !o || (q !== undefined && !isOlderThanRecord(q.changedAt, "cpq", o));
    const winner = quoteWins ? q : o;
    if (!winner) continue;
    const side: LineSide = {
      ws,
      sender: quoteWins ? "cpq" : "crm",
      own: quoteWins ? quote.lines : opportunity.lines,
      quoteId,
      pair: { opportunityId, quoteId, other: quoteWins ? opportunity.lines : quote.lines, live: true },
      newSyncKey: () => key,
    };
    if (winner.deleted) deleteLineOnOtherSide(side, side.pair as NonNullable<LineSide["pair"]>, winner);
    else mirrorLineToOtherSide(side, side.pair as NonNullable<LineSide["pair"]>, winner);
    pushed++;
  }
  return pushed;
}

/** Stops sync (SPEC §1.6): lines stay as they are, the amount is unlocked, both systems are told. */
export function stopSync(
  ws: Workspace,
  quote: QuoteAggregate | null,
  opportunity: OpportunityAggregate,
  reason: string,
): "stopped" {
  const opportunityId = opportunity.header.id;
  const quoteId = quote?.header.id ?? opportunity.header.syncedQuoteId ?? "";
  if (quote) {
    ws.updateQuote(quote.header.id, { syncing: false, pendingChanges: 0 });
    if (!quote.header.deleted) ws.mirrorTo("cpq", opportunityId, quoteId).quote = { syncing: false };
  }
  const approval = { required: false, reasons: [] };
  ws.updateOpportunity({ syncedQuoteId: null, amountLocked: false, approval });
  if (!opportunity.header.deleted) {
    ws.mirrorTo("crm", opportunityId, quoteId).opportunity = {
      amount: opportunity.header.amount,
      amountLocked: false,
      syncedQuoteId: null,
      approval,
    };
  }
  ws.audit(opportunityId, "sync.stopped", reason, quoteId || undefined);
  return "stopped";
}
