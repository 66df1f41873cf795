import { sameSummary, summarize } from "../line-summary.js";
import { liveLines, sameMirrorValues, subtotal } from "../lines.js";
import type { OpportunityAggregate, QuoteAggregate, QuoteRecord, StoredLine } from "../model.js";
import type { DriftIssue } from "../schedule.js";
import { fieldMapping, type TenantConfig } from "../tenant.js";
import { isSyncedPair, syncModeOf } from "./pair-totals.js";

/** How many differing lines a finding names; the count says how many there are in all. */
const LINES_NAMED = 5;

/**
 * Checks a synced pair as the scheduled audit does (SPEC §1.13): one synced quote, lines equal on
 * mapped fields, amount equal to the subtotal — and flags a manual-mode pair with pending changes
 * at a milestone stage. A pair with pending changes differs by design, so only the milestone
 * rule applies to it.
 */
export function auditSyncedPair(
  tenant: TenantConfig,
  opportunity: OpportunityAggregate,
  quotesOfOpportunity: QuoteRecord[],
  synced: QuoteAggregate | null,
): DriftIssue[] {
  const issues: DriftIssue[] = [];
  const header = opportunity.header;
  const syncing = quotesOfOpportunity
    .filter((quote) => quote.syncing && !quote.deleted && quote.opportunityId === header.id)
    .map((quote) => quote.id);
  if (syncing.length > 1) {
    issues.push({
      kind: "multiple_synced_quotes",
      detail: `${syncing.length} quotes are syncing with the opportunity: ${syncing.join(", ")}`,
    });
  }
  if (!synced || !isSyncedPair(synced, opportunity)) {
    issues.push({
      kind: "no_synced_quote",
      detail: `the opportunity names quote ${header.syncedQuoteId} as synced, but that quote is not syncing with it`,
    });
    return issues;
  }
  issues.push(...summaryIssues(synced, opportunity));
  if (synced.header.pendingChanges > 0) {
    const stage = header.stage;
    if (
      syncModeOf(synced.header, tenant) === "manual" &&
      stage !== null &&
      tenant.policy.milestoneStages.includes(stage)
    ) {
      issues.push({
        kind: "milestone_pending",
        detail: `the opportunity reached ${stage} with ${synced.header.pendingChanges} change(s) of manual-mode quote ${synced.header.id} not pushed`,
      });
    }
    return issues;
  }
  const differing = differingLines(synced.lines, opportunity.lines, fieldMapping(tenant).lines);
  if (differing.length > 0) {
    const named = differing.slice(0, LINES_NAMED).join(", ");
    issues.push({
      kind: "lines_differ",
      detail: `${differing.length} line(s) differ between quote and opportunity (sync keys ${named}${differing.length > LINES_NAMED ? ", …" : ""})`,
    });
  }
  const currency = synced.header.currency ?? header.currency ?? "USD";
  const expected = subtotal(synced.lines, currency);
  if (header.amount !== expected || !header.amountLocked) {
    issues.push({
      kind: "amount_mismatch",
      detail: `the opportunity amount is ${header.amount}${header.amountLocked ? "" : " (unlocked)"}, the quote subtotal ${expected}`,
    });
  }
  return issues;
}

/**
 * A header's line summary must say what its lines add up to where decisions about a few lines
 * trust it (the quote's subtotal, discounts over the limit, live count and id uniqueness; the
 * opportunity's live count and id uniqueness): one that does not is drift. Headers stored before
 * summaries have none.
 */
function summaryIssues(quote: QuoteAggregate, opportunity: OpportunityAggregate): DriftIssue[] {
  const issues: DriftIssue[] = [];
  for (const [side, aggregate] of [
    ["quote", quote],
    ["opportunity", opportunity],
  ] as const) {
    const stored = aggregate.header.lineSummary;
    if (!stored) continue;
    const actual = summarize(aggregate.lines, stored.currency, stored.discountLimit);
    const agrees =
      side === "quote"
        ? sameSummary(stored, actual)
        : stored.live === actual.live && stored.uniqueIds === actual.uniqueIds;
    if (!agrees) {
      issues.push({
        kind: "line_summary_mismatch",
        detail: `the ${side} header says its ${stored.live} live line(s) add up to ${stored.subtotal} ${stored.currency}; its ${actual.live} line(s) add up to ${actual.subtotal}`,
      });
    }
  }
  return issues;
}

/** Sync keys of lines live on one side only, or live on both with different mapped values. */
function differingLines(
  quoteLines: Map<string, StoredLine>,
  opportunityLines: Map<string, StoredLine>,
  mapped: ReadonlySet<string>,
): string[] {
  const quote = new Map(liveLines(quoteLines).map((line) => [line.syncKey, line]));
  const opportunity = new Map(liveLines(opportunityLines).map((line) => [line.syncKey, line]));
  const differing: string[] = [];
  for (const key of new Set([...quote.keys(), ...opportunity.keys()])) {
    const q = quote.get(key);
    const o = opportunity.get(key);
    if (!q || !o || !sameMirrorValues(q, o, mapped)) differing.push(key);
  }
  return differing.sort();
}
