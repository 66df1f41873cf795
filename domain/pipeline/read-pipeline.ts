import type { OpportunityRecord } from "../model.js";
import type { SyncStore } from "../store.js";
import type { TenantConfig } from "../tenant.js";
import { ATTENTION_ORDER, type PipelineRow, pipelineRow } from "./rows.js";

export type PipelineView = "attention" | "all";

export interface PipelineQuery {
  view: PipelineView;
  /** Only opportunities at this stage. */
  stage?: string;
  /** Exclusive start: the last opportunity id of the previous page. */
  after: string | null;
  limit: number;
}

export interface PipelinePage {
  rows: PipelineRow[];
  /** The `after` of the next page; null on the last one. */
  next: string | null;
  /** For the "needs attention" view: whether the search stopped before the end of the pipeline. */
  searchedUpTo?: string | null;
}

/** Synced opportunities examined per request in the "needs attention" view, read in chunks of 100. */
const ATTENTION_SCAN_LIMIT = 1000;
const ATTENTION_CHUNK = 100;

/**
 * One page of the tenant's pipeline. "all" pages the tenant's opportunity list (or one stage's):
 * one Query, then the page's headers, synced quotes and drift findings by key. "attention" pages
 * the synced opportunities (everything that can need attention is about a synced pair) and keeps
 * those with a reason, examining at most a bounded number per request.
 */
export async function readPipelinePage(
  store: SyncStore,
  tenant: TenantConfig,
  query: PipelineQuery,
  now: number,
): Promise<PipelinePage> {
  if (query.view === "all") {
    const page = await store.listOpportunityIds(tenant.tenantId, query.after, query.limit, query.stage);
    return { rows: await rowsOf(store, tenant, page.entries, now), next: page.next };
  }
  const rows: PipelineRow[] = [];
  let after = query.after;
  let examined = 0;
  while (examined < ATTENTION_SCAN_LIMIT) {
    // One Query for up to the whole budget of ids, then their rows in parallel chunks.
    const page = await store.listSyncedOpportunityIds(
      tenant.tenantId,
      after,
      ATTENTION_SCAN_LIMIT - examined,
    );
    examined += page.entries.length;
    const chunks: string[][] = [];
    for (let index = 0; index < page.entries.length; index += ATTENTION_CHUNK) {
      chunks.push(page.entries.slice(index, index + ATTENTION_CHUNK));
    }
    const candidates = (await Promise.all(chunks.map((ids) => rowsOf(store, tenant, ids, now)))).flat();
    for (const row of candidates) {
      if (row.attention.length === 0 || (query.stage !== undefined && row.stage !== query.stage)) continue;
      rows.push(row);
      if (rows.length === query.limit) return { rows: bySeverity(rows), next: row.opportunityId };
    }
    if (page.next === null || page.entries.length === 0) return { rows: bySeverity(rows), next: null };
    after = page.next;
  }
  return { rows: bySeverity(rows), next: after, searchedUpTo: after };
}

/** Most serious reason first; then by opportunity id (the order they were found in). */
function bySeverity(rows: PipelineRow[]): PipelineRow[] {
  const rank = (row: PipelineRow) => ATTENTION_ORDER.indexOf(row.attention[0]?.kind ?? "quote_expired");
  return rows
    .map((row, index) => ({ row, index }))
    .sort((a, b) => rank(a.row) - rank(b.row) || a.index - b.index)
    .map(({ row }) => row);
}

async function rowsOf(
  store: SyncStore,
  tenant: TenantConfig,
  ids: string[],
  now: number,
): Promise<PipelineRow[]> {
  if (ids.length === 0) return [];
  const [opportunities, drift] = await Promise.all([
    store.loadOpportunityHeaders(tenant.tenantId, ids),
    store.loadDriftFindings(tenant.tenantId, ids),
  ]);
  const byId = new Map<string, OpportunityRecord>(opportunities.map((record) => [record.id, record]));
  const syncedQuoteIds = opportunities.flatMap((record) =>
    record.syncedQuoteId ? [record.syncedQuoteId] : [],
  );
  const quotes = new Map(
    (await store.loadQuoteHeaders(tenant.tenantId, syncedQuoteIds)).map((record) => [record.id, record]),
  );
  const findings = new Map(drift.map((finding) => [finding.opportunityId, finding]));
  return ids.flatMap((id) => {
    const record = byId.get(id);
    // The list is read eventually consistently: an opportunity deleted meanwhile is left out.
    if (!record?.known || record.deleted) return [];
    const quote = record.syncedQuoteId ? (quotes.get(record.syncedQuoteId) ?? null) : null;
    return [pipelineRow(tenant, record, quote, findings.get(id) ?? null, now)];
  });
}
