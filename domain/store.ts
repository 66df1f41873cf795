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
  quotes: Array<{ record: QuoteRecord; lines?: LineSetChange }>;
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

/** The storage port of the sync domain. DynamoDB implements it; so does an in-memory fake. */
export interface SyncStore {
  loadTenant(tenantId: string): Promise<TenantConfig | null>;
  putTenant(config: TenantConfig): Promise<void>;
  /** Consistent read of the opportunity header and its current line set. */
  loadOpportunity(tenantId: string, opportunityId: string): Promise<OpportunityAggregate | null>;
  /** Consistent read of the quote header and its current line set. */
  loadQuote(tenantId: string, quoteId: string): Promise<QuoteAggregate | null>;
  listQuotesOfOpportunity(tenantId: string, opportunityId: string): Promise<QuoteRecord[]>;
  findProcessedEvent(tenantId: string, key: string): Promise<SyncResponse | null>;
  commit(changes: ChangeSet): Promise<void>;
  readOutbox(tenantId: string, after: string | null, limit: number): Promise<Page<OutboxEntry>>;
  readAudit(
    tenantId: string,
    opportunityId: string,
    cursor: string | null,
    limit: number,
  ): Promise<Page<AuditEntry>>;
}
