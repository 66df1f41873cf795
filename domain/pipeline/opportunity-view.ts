import { NotFound } from "../errors.js";
import { liveLines, STANDARD_LINE_FIELDS } from "../lines.js";
import type { AuditEntry, FieldMap, OpportunityRecord, QuoteRecord, StoredLine } from "../model.js";
import type { DriftFinding } from "../schedule.js";
import type { SyncStore } from "../store.js";
import { fieldMapping, type TenantConfig } from "../tenant.js";
import { type FieldReportEntry, fieldMappingReport } from "./field-report.js";
import type { DeliveryReads } from "./read-pipeline.js";
import { type DeliveryState, type PipelineRow, pipelineRow } from "./rows.js";

/** A quote line and the opportunity line of the same syncKey, and the fields where they differ. */
export interface LinePair {
  syncKey: string;
  quote: StoredLine | null;
  opportunity: StoredLine | null;
  /** Names of standard fields and mapped custom fields whose values differ (all when one side is missing). */
  differences: string[];
}

export interface OpportunityView {
  row: PipelineRow;
  opportunity: OpportunityRecord;
  /** The synced quote, or the most recent quote when none is synced. */
  shownQuote: QuoteRecord | null;
  pairs: LinePair[];
  otherQuotes: QuoteRecord[];
  timeline: AuditEntry[];
  timelineNext: string | null;
  fieldReport: FieldReportEntry[];
  drift: DriftFinding | null;
}

/** Everything the opportunity page shows, read for display. */
export async function readOpportunityView(
  store: SyncStore,
  tenant: TenantConfig,
  opportunityId: string,
  now: number,
  auditLimit = 50,
  delivery?: DeliveryReads,
): Promise<OpportunityView> {
  const [opportunity, quotes, audit, drift, deliveryStates] = await Promise.all([
    store.loadOpportunity(tenant.tenantId, opportunityId),
    store.listQuotesOfOpportunity(tenant.tenantId, opportunityId),
    store.readAudit(tenant.tenantId, opportunityId, null, auditLimit),
    store.loadDriftFinding(tenant.tenantId, opportunityId),
    delivery && delivery.sides.length > 0
      ? delivery.deliveryStates(tenant.tenantId, [opportunityId])
      : Promise.resolve(new Map<string, DeliveryState>()),
  ]);
  if (!opportunity?.header.known || opportunity.header.deleted)
    throw new NotFound("opportunity", opportunityId);
  const header = opportunity.header;
  const live = quotes.filter((quote) => !quote.deleted && quote.opportunityId === opportunityId);
  const shown =
    live.find((quote) => quote.id === header.syncedQuoteId) ??
    [...live].sort((a, b) => b.changedAt - a.changedAt)[0] ??
    null;
  const shownLines = shown
    ? ((await store.loadQuote(tenant.tenantId, shown.id))?.lines ?? new Map())
    : new Map();
  return {
    row: pipelineRow(tenant, header, shown, drift, now, deliveryStates.get(opportunityId) ?? null),
    opportunity: header,
    shownQuote: shown,
    pairs: pairLines(shownLines, opportunity.lines, fieldMapping(tenant).lines),
    otherQuotes: live.filter((quote) => quote.id !== shown?.id),
    timeline: audit.entries,
    timelineNext: audit.next,
    fieldReport: fieldMappingReport(tenant),
    drift,
  };
}

/** Pairs the live lines of both sides by syncKey, in the quote's order, unpaired lines last. */
export function pairLines(
  quoteLines: Map<string, StoredLine>,
  opportunityLines: Map<string, StoredLine>,
  mapped: ReadonlySet<string>,
): LinePair[] {
  const quote = new Map(liveLines(quoteLines).map((line) => [line.syncKey, line]));
  const opportunity = new Map(liveLines(opportunityLines).map((line) => [line.syncKey, line]));
  const order = (line: StoredLine | undefined) => line?.position ?? Number.MAX_SAFE_INTEGER;
  const keys = [...new Set([...quote.keys(), ...opportunity.keys()])].sort((a, b) => {
    const byPosition = order(quote.get(a) ?? opportunity.get(a)) - order(quote.get(b) ?? opportunity.get(b));
    return byPosition !== 0 ? byPosition : a < b ? -1 : a > b ? 1 : 0;
  });
  return keys.map((syncKey) => {
    const left = quote.get(syncKey) ?? null;
    const right = opportunity.get(syncKey) ?? null;
    return { syncKey, quote: left, opportunity: right, differences: differences(left, right, mapped) };
  });
}

/** The fields where two lines differ: the standard ones, and the custom fields that map. */
function differences(
  left: StoredLine | null,
  right: StoredLine | null,
  mapped: ReadonlySet<string>,
): string[] {
  const custom = [...mapped].sort();
  if (!left || !right) return [...STANDARD_LINE_FIELDS, ...custom.map((name) => `fields.${name}`)];
  const differing: string[] = STANDARD_LINE_FIELDS.filter((field) => left[field] !== right[field]);
  for (const name of custom) {
    if (!sameField(left.fields, right.fields, name)) differing.push(`fields.${name}`);
  }
  return differing;
}

function sameField(a: FieldMap, b: FieldMap, name: string): boolean {
  return (a[name] ?? null) === (b[name] ?? null);
}
