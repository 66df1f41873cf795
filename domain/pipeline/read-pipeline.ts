import { compare, parseDecimal } from "../decimal.js";
import type { OpportunityRecord, Source } from "../model.js";
import type { PipelineEntry, SyncStore } from "../store.js";
import type { TenantConfig } from "../tenant.js";
import { ATTENTION_ORDER, type DeliveryState, type PipelineRow, pipelineRow } from "./rows.js";

export type PipelineView = "attention" | "all";

/** The columns the "all" view sorts by. */
export type PipelineSort = "stage" | "amount" | "changed";
export type SortDirection = "asc" | "desc";

export interface PipelineQuery {
  view: PipelineView;
  /** Only opportunities at this stage. */
  stage?: string;
  /**
   * Exclusive start: the last opportunity id of the previous page; for a sorted page, the cursor
   * the previous page handed out (`next`).
   */
  after: string | null;
  limit: number;
  /** The "all" view in this column's order (ties by opportunity id); absent: by opportunity id. */
  sort?: { by: PipelineSort; direction: SortDirection };
}

export interface PipelinePage {
  rows: PipelineRow[];
  /** The `after` of the next page; null on the last one. */
  next: string | null;
  /** For the "needs attention" view: whether the search stopped before the end of the pipeline. */
  searchedUpTo?: string | null;
}

/**
 * Where the page reads delivery from (the delivery queues; absent where nothing delivers): the
 * tenant's failing queues from their index, and the state of chosen opportunities' queues.
 */
export interface DeliveryReads {
  /** Sides that deliver mirrors, for this tenant (none: nothing is read). */
  sides: Source[];
  /** Opportunities with a failing (retrying or parked) delivery queue, from the tenant's index. */
  failingOpportunities(tenantId: string): Promise<string[]>;
  /** The delivery state of each of `ids` that has a queue. */
  deliveryStates(tenantId: string, ids: string[]): Promise<Map<string, DeliveryState>>;
}

/** Synced opportunities examined per request in the "needs attention" view, read in chunks of 100. */
const ATTENTION_SCAN_LIMIT = 1000;
const ATTENTION_CHUNK = 100;

/**
 * One page of the tenant's pipeline. "all" pages the tenant's opportunity list (or one stage's):
 * one Query, then the page's headers, synced quotes, drift findings and delivery states by key;
 * sorted by a column, it reads the whole list's sort values (one Query) and the page's rows.
 * "attention" pages the synced opportunities and those whose delivery is failing (the failing
 * index) together, in id order, and keeps those with a reason, examining at most a bounded number
 * per request.
 */
export async function readPipelinePage(
  store: SyncStore,
  tenant: TenantConfig,
  query: PipelineQuery,
  now: number,
  delivery?: DeliveryReads,
): Promise<PipelinePage> {
  const reads = delivery && delivery.sides.length > 0 ? delivery : undefined;
  if (query.view === "all" && query.sort) return sortedPage(store, tenant, query, query.sort, now, reads);
  if (query.view === "all") {
    const page = await store.listOpportunityIds(tenant.tenantId, query.after, query.limit, query.stage);
    return { rows: await rowsOf(store, tenant, page.entries, now, reads, "all"), next: page.next };
  }
  const failing = reads ? [...new Set(await reads.failingOpportunities(tenant.tenantId))].sort(byId) : [];
  const failingSet = new Set(failing);
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
    // Failing deliveries up to where this page of synced ids reaches (to the end on the last page):
    // a pair whose sync stopped still needs its parked mirror seen to.
    const upTo = page.next === null ? null : (page.entries.at(-1) ?? null);
    const extra = failing.filter(
      (id) => (after === null || id > after) && (upTo === null || id <= upTo) && !page.entries.includes(id),
    );
    const ids = [...page.entries, ...extra].sort(byId);
    const chunks: string[][] = [];
    for (let index = 0; index < ids.length; index += ATTENTION_CHUNK) {
      chunks.push(ids.slice(index, index + ATTENTION_CHUNK));
    }
    const candidates = (
      await Promise.all(chunks.map((chunk) => rowsOf(store, tenant, chunk, now, reads, failingSet)))
    ).flat();
    for (const row of candidates) {
      if (row.attention.length === 0 || (query.stage !== undefined && row.stage !== query.stage)) continue;
      rows.push(row);
      if (rows.length === query.limit)
        return { rows: await shownDelivery(tenant, bySeverity(rows), reads), next: row.opportunityId };
    }
    if (page.next === null || page.entries.length === 0)
      return { rows: await shownDelivery(tenant, bySeverity(rows), reads), next: null };
    after = page.next;
  }
  return { rows: await shownDelivery(tenant, bySeverity(rows), reads), next: after, searchedUpTo: after };
}

/**
 * The delivery column of rows kept for a reason other than delivery: their queues' states are
 * read for the rows shown only (not for every opportunity examined).
 */
async function shownDelivery(
  tenant: TenantConfig,
  rows: PipelineRow[],
  reads: DeliveryReads | undefined,
): Promise<PipelineRow[]> {
  const missing = rows.filter((row) => row.delivery === null).map((row) => row.opportunityId);
  if (!reads || missing.length === 0) return rows;
  const states = await reads.deliveryStates(tenant.tenantId, missing);
  return rows.map((row) =>
    row.delivery === null ? { ...row, delivery: states.get(row.opportunityId) ?? null } : row,
  );
}

function byId(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Most serious reason first; then by opportunity id (the order they were found in). */
function bySeverity(rows: PipelineRow[]): PipelineRow[] {
  const rank = (row: PipelineRow) => ATTENTION_ORDER.indexOf(row.attention[0]?.kind ?? "quote_expired");
  return rows
    .map((row, index) => ({ row, index }))
    .sort((a, b) => rank(a.row) - rank(b.row) || a.index - b.index)
    .map(({ row }) => row);
}

type SortValue = string | number | null;

/** A sorted page's cursor: the last row's sort value and id, so paging holds while rows move. */
export function encodeSortCursor(value: SortValue, id: string): string {
  return JSON.stringify([value, id]);
}

function decodeSortCursor(after: string | null): { value: SortValue; id: string } | null {
  if (after === null) return null;
  try {
    const parsed: unknown = JSON.parse(after);
    if (
      Array.isArray(parsed) &&
      parsed.length === 2 &&
      typeof parsed[1] === "string" &&
      (parsed[0] === null || typeof parsed[0] === "string" || typeof parsed[0] === "number")
    )
      return { value: parsed[0], id: parsed[1] };
  } catch {
    // not a sorted page's cursor
  }
  throw new InvalidPipelineCursor();
}

/** A sorted page's `after` that no page handed out: the request is bad (400). */
export class InvalidPipelineCursor extends Error {
  constructor() {
    super("the page cursor is not valid");
    this.name = "InvalidPipelineCursor";
  }
}

function sortValue(entry: PipelineEntry, by: PipelineSort): SortValue {
  if (by === "stage") return entry.stage;
  if (by === "amount") return entry.amount ?? null;
  return entry.changedAt ?? null;
}

/** Ascending order of two sort values; a missing value sorts after every value either way. */
function compareValues(by: PipelineSort, a: SortValue, b: SortValue): number {
  if (by === "amount" && typeof a === "string" && typeof b === "string") {
    // Amounts compare as exact decimals (currencies are not converted).
    return compare(parseDecimal(a), parseDecimal(b));
  }
  if (typeof a === "number" && typeof b === "number") return a - b;
  return byId(String(a), String(b));
}

function compareEntries(
  sort: { by: PipelineSort; direction: SortDirection },
  a: { value: SortValue; id: string },
  b: { value: SortValue; id: string },
): number {
  if (a.value === null || b.value === null) {
    if (a.value !== b.value) return a.value === null ? 1 : -1;
  } else {
    const order = compareValues(sort.by, a.value, b.value);
    if (order !== 0) return sort.direction === "asc" ? order : -order;
  }
  return byId(a.id, b.id);
}

async function sortedPage(
  store: SyncStore,
  tenant: TenantConfig,
  query: PipelineQuery,
  sort: { by: PipelineSort; direction: SortDirection },
  now: number,
  reads: DeliveryReads | undefined,
): Promise<PipelinePage> {
  const cursor = decodeSortCursor(query.after);
  const entries = await store.listPipelineEntries(
    tenant.tenantId,
    query.stage,
    sort.by === "changed" ? "changedAt" : sort.by,
  );
  // Entries written before the list carried sort values take them from their headers.
  const old = entries.filter((entry) => entry.changedAt === undefined);
  if (old.length > 0) {
    const headers = new Map(
      (
        await store.loadOpportunityHeaders(
          tenant.tenantId,
          old.map((entry) => entry.id),
        )
      ).map((record) => [record.id, record]),
    );
    for (const entry of old) {
      const header = headers.get(entry.id);
      if (!header) continue;
      entry.amount = header.amount;
      entry.currency = header.currency;
      entry.changedAt = header.changedAt;
    }
  }
  const ordered = entries
    .map((entry) => ({ value: sortValue(entry, sort.by), id: entry.id }))
    .sort((a, b) => compareEntries(sort, a, b));
  const start = cursor ? ordered.findIndex((entry) => compareEntries(sort, entry, cursor) > 0) : 0;
  const slice = start < 0 ? [] : ordered.slice(start, start + query.limit);
  const more = start >= 0 && start + query.limit < ordered.length;
  const last = slice.at(-1);
  const rows = await rowsOf(
    store,
    tenant,
    slice.map((entry) => entry.id),
    now,
    reads,
    "all",
  );
  return { rows, next: more && last ? encodeSortCursor(last.value, last.id) : null };
}

/**
 * Rows of `ids`, in that order. Delivery states are read for `withDelivery` ("all": every id; a
 * set: those ids only, e.g. the failing ones), in the same round as the headers.
 */
async function rowsOf(
  store: SyncStore,
  tenant: TenantConfig,
  ids: string[],
  now: number,
  reads: DeliveryReads | undefined,
  withDelivery: "all" | ReadonlySet<string>,
): Promise<PipelineRow[]> {
  if (ids.length === 0) return [];
  const deliveryIds = !reads ? [] : withDelivery === "all" ? ids : ids.filter((id) => withDelivery.has(id));
  const [opportunities, drift, delivery] = await Promise.all([
    store.loadOpportunityHeaders(tenant.tenantId, ids),
    store.loadDriftFindings(tenant.tenantId, ids),
    reads && deliveryIds.length > 0
      ? reads.deliveryStates(tenant.tenantId, deliveryIds)
      : Promise.resolve(new Map<string, DeliveryState>()),
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
    return [pipelineRow(tenant, record, quote, findings.get(id) ?? null, now, delivery.get(id) ?? null)];
  });
}
