import type {
  AuditEntry,
  Mirror,
  OpportunityRecord,
  QuoteRecord,
  StoredLine,
  SyncResponse,
} from "./model.js";

/**
 * A side's line set as a decision left it: every line, and which of them changed — or, with
 * `partial`, only the lines the decision read by key (the changed ones among them); the others
 * stay as stored.
 */
export interface LineSetChange {
  all: Map<string, StoredLine>;
  changed: Set<string>;
  partial?: true;
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
