import type { ChangeSet } from "./change-set.js";
import type {
  AuditEntry,
  Mirror,
  OpportunityAggregate,
  OpportunityRecord,
  QuoteAggregate,
  QuoteRecord,
  SyncResponse,
} from "./model.js";
import type { DriftFinding, ScheduleCheckpoint } from "./schedule.js";
import type { TenantConfig } from "./tenant.js";

// What a decision writes is data of the domain (domain/change-set.ts); the port commits it.
export type { ChangeSet, LineSetChange } from "./change-set.js";

export interface OutboxEntry {
  cursor: string;
  at: string;
  mirror: Mirror;
}

export interface Page<T> {
  entries: T[];
  next: string | null;
}

/** A reference from an opportunity to a quote that names it. */
export interface QuoteSummary {
  quoteId: string;
  syncing: boolean;
  status: QuoteRecord["status"];
  mode: QuoteRecord["syncMode"];
  pendingChanges: number;
}

/**
 * A commit begun before the decision that fills it: a store can start storage work the commit
 * will need (DynamoDB takes the outbox sequence number) while the decision reads, so an event
 * costs one round trip of reads and one of writes. Every begun commit ends in exactly one call:
 * `commit`, or `abandon` when the decision writes nothing.
 */
export interface PendingCommit {
  commit(changes: ChangeSet): Promise<void>;
  abandon(): Promise<void>;
}

/** One opportunity of the pipeline list with the values the page sorts by. */
export interface PipelineEntry {
  id: string;
  stage: string | null;
  /** Absent on entries written before the list carried it (the header has it). */
  amount?: string | null;
  currency?: string | null;
  /** The header's `changedAt` (epoch ms) when the entry was written. */
  changedAt?: number;
}

/** The storage port of the sync domain. DynamoDB implements it; so does an in-memory fake. */
export interface SyncStore {
  loadTenant(tenantId: string): Promise<TenantConfig | null>;
  /** Stores a tenant; one with a HubSpot connector is indexed by its portal too. */
  putTenant(config: TenantConfig): Promise<void>;
  /** The tenant a HubSpot portal belongs to (HubSpot's webhooks name only the portal). */
  findTenantIdByHubSpotPortal(portalId: number): Promise<string | null>;
  /** Consistent read of the opportunity header and its current line set. */
  loadOpportunity(tenantId: string, opportunityId: string): Promise<OpportunityAggregate | null>;
  /** Consistent read of the quote header and its current line set. */
  loadQuote(tenantId: string, quoteId: string): Promise<QuoteAggregate | null>;
  /**
   * Optional: consistent reads by key of a pair's two headers and, of each side, the lines stored
   * at `syncKeys` — in the order a whole read would give them. Null: the record is not stored.
   * A store without it leaves decisions to whole reads.
   */
  loadPairLines?(
    tenantId: string,
    pair: { quoteId: string; opportunityId: string; syncKeys: string[]; eventKey?: string },
  ): Promise<{
    quote: QuoteAggregate | null;
    opportunity: OpportunityAggregate | null;
    /** With `eventKey`: the event's processed response (as `findProcessedEvent`), read alongside. */
    processed?: SyncResponse | null;
  }>;
  /**
   * Headers of the quotes committed as `linked` to the opportunity, in id order. A link stays once
   * committed: a quote that moved on is listed with its header naming where it went.
   */
  listQuotesOfOpportunity(tenantId: string, opportunityId: string): Promise<QuoteRecord[]>;
  findProcessedEvent(tenantId: string, key: string): Promise<SyncResponse | null>;
  commit(changes: ChangeSet): Promise<void>;
  /**
   * Optional: a store without work to overlap leaves it out, and decisions call `commit`. `kind`
   * names the sort of decision (its event type or command), so a store can expect what a commit
   * of that kind needs.
   */
  beginCommit?(tenantId: string, kind: string): PendingCommit;
  /**
   * The tenant's entries after `after`, in commit order. `next` resumes the read (it may move past
   * numbers no entry was written under) and repeats `after` when caught up; a cursor this outbox
   * never gave out (malformed, another tenant's, past its end) is refused with `InvalidCursor`.
   */
  readOutbox(tenantId: string, after: string | null, limit: number): Promise<Page<OutboxEntry>>;
  /** Newest first; a full page may have a `next`; a cursor no page gave out is an `InvalidCursor`. */
  readAudit(
    tenantId: string,
    opportunityId: string,
    cursor: string | null,
    limit: number,
  ): Promise<Page<AuditEntry>>;

  // The scheduled function pages sparse indexes instead of scanning. Pages hold ids in id order;
  // `after` is exclusive; `next` is the last id of the page when more may follow, else null.
  // Index reads are eventually consistent: every decision re-reads its records consistently.
  /** Registered tenants. */
  listTenantIds(after: string | null, limit: number): Promise<Page<string>>;
  /** The tenant's synced quotes with pending changes. */
  listPendingQuoteIds(tenantId: string, after: string | null, limit: number): Promise<Page<string>>;
  /** The tenant's opportunities that name a synced quote. */
  listSyncedOpportunityIds(tenantId: string, after: string | null, limit: number): Promise<Page<string>>;
  /**
   * The tenant's known, undeleted opportunities (all, or those at `stage`), in id order: the
   * pipeline page's list. Kept in the same commit as the opportunity header.
   */
  listOpportunityIds(
    tenantId: string,
    after: string | null,
    limit: number,
    stage?: string,
  ): Promise<Page<string>>;
  /**
   * Every entry of the tenant's pipeline list (or of those at `stage`) with what the page sorts on,
   * in id order: one Query of the list, never a scan. Entries written before the list carried the
   * sort values have only `id` and `stage`. `only`: the one sort value the caller needs (others may
   * be left out).
   */
  listPipelineEntries(
    tenantId: string,
    stage?: string,
    only?: "stage" | "amount" | "changedAt",
  ): Promise<PipelineEntry[]>;
  /** Headers (no lines) of the opportunities that exist among `ids`, for display; any order. */
  loadOpportunityHeaders(tenantId: string, ids: string[]): Promise<OpportunityRecord[]>;
  /** Headers (no lines) of the quotes that exist among `ids`, for display; any order. */
  loadQuoteHeaders(tenantId: string, ids: string[]): Promise<QuoteRecord[]>;
  /** The current drift findings of those of `ids` that have one; any order. */
  loadDriftFindings(tenantId: string, ids: string[]): Promise<DriftFinding[]>;
  loadScheduleCheckpoint(): Promise<ScheduleCheckpoint | null>;
  /** Saves the checkpoint unless another run saved one since it was loaded; false then. */
  saveScheduleCheckpoint(checkpoint: ScheduleCheckpoint): Promise<boolean>;
  loadDriftFinding(tenantId: string, opportunityId: string): Promise<DriftFinding | null>;
  saveDriftFinding(tenantId: string, finding: DriftFinding): Promise<void>;
  deleteDriftFinding(tenantId: string, opportunityId: string): Promise<void>;
  /** The tenant's current drift findings, by opportunity id; `cursor` is opaque. */
  readDriftReport(tenantId: string, cursor: string | null, limit: number): Promise<Page<DriftFinding>>;
}
