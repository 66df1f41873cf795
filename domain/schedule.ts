/** Records of the scheduled function: where its passes stand, and the drift they found. */

/** What the scheduled audit can find wrong with a synced pair (SPEC §1.13). */
export type DriftIssueKind =
  | "no_synced_quote"
  | "multiple_synced_quotes"
  | "lines_differ"
  | "amount_mismatch"
  | "milestone_pending"
  | "line_summary_mismatch";

export interface DriftIssue {
  kind: DriftIssueKind;
  detail: string;
}

/** The current finding about one synced opportunity; kept while the audit keeps finding it. */
export interface DriftFinding {
  opportunityId: string;
  quoteId: string | null;
  issues: DriftIssue[];
  /** When these issues were first found (unchanged since). */
  detectedAt: string;
  /** When the audit last checked the pair and still found them. */
  checkedAt: string;
}

/** Where a pass stands in one tenant's index. */
export interface TenantCursor {
  /** The last id handled in the tenant's index (exclusive start of the next page). */
  after: string | null;
  /** When the pass over this tenant began; findings not re-checked since are stale. */
  tenantPassStartedAt: string | null;
}

/**
 * Where a pass over a sparse index stands: the tenant the next run starts at, with its cursor,
 * and the cursors of the other tenants whose index is part-way walked (each run gives each tenant
 * a quota, so several may be). Checkpoints saved before `cursors` existed read as one tenant's.
 */
export interface IndexPosition extends TenantCursor {
  /** null: the next run starts at the first tenant. */
  tenantId: string | null;
  /** Other tenants' part-way cursors, by tenant id; absent or empty when there are none. */
  cursors?: Record<string, TenantCursor>;
}

/** The scheduled function's checkpoint: one position per pass, saved at the end of every run. */
export interface ScheduleCheckpoint {
  push: IndexPosition;
  audit: IndexPosition;
  /** Optimistic-concurrency version; null when none was saved yet. */
  version: number | null;
}

export const START_OF_CYCLE: IndexPosition = { tenantId: null, after: null, tenantPassStartedAt: null };
