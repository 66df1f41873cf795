import type {
  AuditEntry,
  Mirror,
  OpportunityAggregate,
  OpportunityRecord,
  QuoteAggregate,
  QuoteRecord,
  StoredLine,
  SyncResponse,
} from "./model.js";
import type { DriftFinding, ScheduleCheckpoint } from "./schedule.js";
import type { TenantConfig } from "./tenant.js";

/** A side's line set as a decision left it: every line, and which of them changed. */
export interface LineSetChange {
  all: Map<string, StoredLine>;
  changed: Set<string>;
}

/**
 * Everything one decision writes, committed atomically or not at all. Each header carries the
 * version it was read at (null: it must not exist yet); a header that changed since makes the
 * whole commit fail with `ConcurrentModification`.
 */
export interface ChangeSet {
  tenantId: string;
  opportunity?: { record: OpportunityRecord; lines?: LineSetChange };
  /** `linked`: the quote is new or names another opportunity than it did (its reference moves). */
  quotes: Array<{ record: QuoteRecord; lines?: LineSetChange; linked?: boolean }>;
  /**
   * Headers the decision read and relies on but does not write. The commit fails
   * (ConcurrentModification) if any changed meanwhile: otherwise an outdated correction could
   * reach the outbox after a newer mirror, or a change judged against an older pair be stored
   * unmirrored.
   */
  unchanged?: Array<{ kind: "opportunity" | "quote"; id: string; version: number | null }>;
  outbox: Mirror[];
  audit: Array<{ opportunityId: string; entry: AuditEntry }>;
  /** Marks the event processed and stores its response; fails with `DuplicateEvent` if it was. */
  processedEvent?: { key: string; response: SyncResponse };
}

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
  listQuotesOfOpportunity(tenantId: string, opportunityId: string): Promise<QuoteRecord[]>;
  findProcessedEvent(tenantId: string, key: string): Promise<SyncResponse | null>;
  commit(changes: ChangeSet): Promise<void>;
  /**
   * Optional: a store without work to overlap leaves it out, and decisions call `commit`. `kind`
   * names the sort of decision (its event type or command), so a store can expect what a commit
   * of that kind needs.
   */
  beginCommit?(tenantId: string, kind: string): PendingCommit;
  readOutbox(tenantId: string, after: string | null, limit: number): Promise<Page<OutboxEntry>>;
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
