import { compare, parseDecimal } from "../decimal.js";
import type { SyncMode } from "../events.js";
import { summarize, type UnreadLines } from "../line-summary.js";
import { liveLines, pickFields, subtotal } from "../lines.js";
import type {
  Approval,
  OpportunityAggregate,
  OpportunityRecord,
  QuoteAggregate,
  QuoteRecord,
  StoredLine,
} from "../model.js";
import type { TenantConfig } from "../tenant.js";
import type { Workspace } from "./workspace.js";

/** True when this quote and opportunity are the synced pair (both headers agree). */
export function isSyncedPair(quote: QuoteAggregate, opportunity: OpportunityAggregate): boolean {
  return (
    quote.header.syncing &&
    quote.header.opportunityId === opportunity.header.id &&
    opportunity.header.syncedQuoteId === quote.header.id
  );
}

/** The quote's own mode, else the tenant's (SPEC §1.8). */
export function syncModeOf(quote: QuoteRecord, tenant: TenantConfig): SyncMode {
  return quote.syncMode ?? tenant.policy.mode;
}

/**
 * The quote's subtotal: of its lines, or — read by key — of the lines read beside what the others
 * add up to (their currency is the one the decision's reads were checked against).
 */
export function subtotalOf(quote: QuoteAggregate, currency: string): string {
  if (!quote.unread) return subtotal(quote.lines, currency);
  if (quote.unread.currency !== currency)
    throw new Error(`lines summed in ${quote.unread.currency}, not ${currency}`);
  return summarize(quote.lines, currency, null, quote.unread).subtotal;
}

/** Live lines of a side: those it holds, and — read by key — those it did not read. */
export function liveLineCount(aggregate: { lines: Map<string, StoredLine>; unread?: UnreadLines }): number {
  return liveLines(aggregate.lines).length + (aggregate.unread?.live ?? 0);
}

/**
 * The currency a synced pair's amount is in (the quote's, else the opportunity's): the lines read
 * by key are summed in it.
 */
export function pairCurrency(quote: QuoteRecord, opportunity: OpportunityRecord): string {
  return quote.currency ?? opportunity.currency ?? "USD";
}

/** Approval the opportunity must carry while this quote is synced (SPEC §1.9). */
export function approvalFor(quote: QuoteAggregate, tenant: TenantConfig): Approval {
  const limit = tenant.approvals.maxDiscountPercent;
  if (limit === null || quote.header.status === "approved" || quote.header.status === "accepted") {
    return { required: false, reasons: [] };
  }
  const max = parseDecimal(limit);
  const reasons: string[] = [];
  for (const line of liveLines(quote.lines)) {
    if (compare(parseDecimal(line.discountPercent), max) > 0) {
      reasons.push(
        `line ${line.id ?? line.syncKey} (${line.productId}) has a ${line.discountPercent}% discount, over the ${limit}% allowed without approval`,
      );
    }
  }
  return { required: reasons.length > 0, reasons };
}

function sameApproval(a: Approval, b: Approval): boolean {
  return a.required === b.required && a.reasons.join("\n") === b.reasons.join("\n");
}

/**
 * Brings the synced opportunity's header in line with its quote — amount = quote subtotal and
 * locked, approval flag, mapped header fields — and mirrors what changed to the CRM.
 * With `always`, the header is mirrored even when nothing changed (a start or re-sync).
 * While line changes wait to be pushed (`scheduled` and `manual` mode), the amount stays the
 * subtotal of what was last pushed: it moves with the lines, when they are pushed (`linesPushed`,
 * or a start), so the CRM never holds an amount its lines do not add up to.
 */
export function settleSyncedHeader(
  ws: Workspace,
  opportunity: OpportunityAggregate,
  quote: QuoteAggregate,
  options: { always?: boolean; stage?: string; linesPushed?: boolean } = {},
): HeaderChange[] {
  const header = opportunity.header;
  const currency = pairCurrency(quote.header, header);
  const linesWaiting =
    quote.header.pendingChanges > 0 &&
    !options.always &&
    !options.linesPushed &&
    header.syncedQuoteId === quote.header.id &&
    header.amountLocked;
  const amount = (linesWaiting ? header.amount : null) ?? subtotalOf(quote, currency);
  const approval = approvalFor(quote, ws.tenant);
  const fields = { ...header.fields, ...pickFields(quote.header.fields, ws.mapping.headers) };
  const mappedFields = pickFields(fields, ws.mapping.headers);
  const stage = options.stage ?? header.stage;
  const amountChanged =
    header.amount !== amount || !header.amountLocked || header.syncedQuoteId !== quote.header.id;
  const approvalChanged = !sameApproval(header.approval, approval);
  const fieldsChanged =
    JSON.stringify(pickFields(header.fields, ws.mapping.headers)) !== JSON.stringify(mappedFields);
  const stageChanged = stage !== header.stage;
  const changed: HeaderChange[] = [];
  if (amountChanged) changed.push("amount");
  if (approvalChanged) changed.push("approval");
  if (fieldsChanged) changed.push("fields");
  if (stageChanged) changed.push("stage");
  if (changed.length === 0 && !options.always) return changed;

  ws.updateOpportunity({
    amount,
    amountLocked: true,
    syncedQuoteId: quote.header.id,
    approval,
    fields,
    stage,
    ...(stageChanged ? { stageSetAt: ws.cause.at } : {}),
  });
  if (approvalChanged) {
    ws.audit(
      header.id,
      "approval.changed",
      approval.required ? `approval required: ${approval.reasons.join("; ")}` : "approval no longer required",
      quote.header.id,
    );
  }
  const mirror = ws.mirrorTo("crm", header.id, quote.header.id);
  mirror.opportunity = { amount, amountLocked: true, syncedQuoteId: quote.header.id, approval };
  if (stage) mirror.opportunity.stage = stage;
  if (Object.keys(mappedFields).length > 0) mirror.opportunity.fields = mappedFields;
  return changed;
}

/** What `settleSyncedHeader` changed on the opportunity (and so mirrored to the CRM). */
export type HeaderChange = "amount" | "approval" | "fields" | "stage";

/**
 * SPEC §1.13: a header change mirrored because of a header event is audited (approval changes
 * have their own entry); `correction` when the CRM's report was answered with the synced values.
 */
export function auditHeaderMirror(
  ws: Workspace,
  opportunityId: string,
  quoteId: string,
  changed: HeaderChange[],
  kind: "mirrored" | "correction",
): void {
  const shown = changed.filter((change) => change !== "approval");
  if (shown.length === 0) return;
  const what = shown.map((change) => (change === "fields" ? "mapped fields" : change)).join(", ");
  if (kind === "mirrored") {
    ws.audit(opportunityId, "change.mirrored", `quote header change mirrored to crm: ${what}`, quoteId);
  } else {
    ws.audit(
      opportunityId,
      "change.corrected",
      `opportunity reported by crm answered with the synced ${what}`,
      quoteId,
    );
  }
}
