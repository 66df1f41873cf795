import type { FieldValue, QuoteStatus, SyncMode } from "./events.js";
import type { LineSummary, UnreadLines } from "./line-summary.js";

/** Which system a change came from, or which system a mirror is for. */
export type Source = "crm" | "cpq";

export type FieldMap = Record<string, FieldValue>;

/**
 * The values of a line, normalized (SPEC §4): decimals are canonical strings and every optional
 * standard field is explicit, so that two reports of the same line compare equal.
 */
export interface LineValues {
  productId: string;
  name: string | null;
  quantity: string;
  unitPrice: string;
  discountPercent: string;
  billing: "one_time" | "recurring";
  billingPeriod: "month" | "quarter" | "year" | null;
  position: number | null;
  serviceDate: string | null;
  /** Custom fields of this side, mapped or not. */
  fields: FieldMap;
}

/** A line as quotesync holds it on one side (quote or opportunity). */
export interface StoredLine extends LineValues {
  /** quotesync's pairing key; the same on both sides of a synced pair. */
  syncKey: string;
  /** The owning system's own line id; null until that system reports it (line created by a mirror). */
  id: string | null;
  /** Time (epoch ms) of the change last applied to this line. */
  changedAt: number;
  changedBy: Source;
  /** A tombstone: deleted at `changedAt`; kept so a late, older upsert cannot bring it back. */
  deleted: boolean;
  /**
   * Mirror-relevant fingerprints of values quotesync sent to this side and has since moved past;
   * a report equal to one of them is a late echo of an outdated mirror, not a user's change.
   */
  outdatedMirrors: string[];
  /**
   * quotesync sent these values back to this side's own system, answering an older report of
   * its: like any mirror, once overwritten they are remembered in `outdatedMirrors`, since the
   * answer (or a second delivery of it) may still be in flight.
   */
  sentToOwner?: boolean;
  /**
   * Ids the owning system used for this line before its current one: a late, duplicated mirror
   * can re-create a line its owner had deleted, under a new id. A delete of any of them deletes
   * the line, and the other copies are deleted on the owner too.
   */
  formerIds?: string[];
  /**
   * When quotesync put this line (or its tombstone) on this side as a copy of the other side's:
   * `changedAt` stays the time of the change copied, which may be much older (a start, or a
   * scheduled push, copies changes made earlier). A report from this side's own system dated
   * before the copy was made was taken before the copy could reach it, so it is older than the
   * line whatever `changedAt` says.
   */
  mirroredAt?: number;
}

export interface Approval {
  required: boolean;
  reasons: string[];
}

export interface OpportunityRecord {
  tenantId: string;
  id: string;
  /** False while only lines or quotes referring to it have arrived. */
  known: boolean;
  deleted: boolean;
  name: string | null;
  accountId: string | null;
  stage: string | null;
  /**
   * When quotesync last set the stage itself (an accepted quote moves it, SPEC §1.12): a CRM
   * report older than that cannot put the earlier stage back.
   */
  stageSetAt?: number;
  amount: string | null;
  currency: string | null;
  pricebookId: string | null;
  closeDate: string | null;
  fields: FieldMap;
  changedAt: number;
  changedBy: Source;
  syncedQuoteId: string | null;
  amountLocked: boolean;
  approval: Approval;
  lastSyncedAt: string | null;
  /**
   * Time of the newest line snapshot (`opportunity.lines.replaced`) applied from the CRM: its whole
   * set of lines at that time. A line the CRM reports from before then that quotesync has not seen
   * was gone by then (the snapshot did not hold it), so it is not brought back (SPEC §1.11).
   */
  linesReplacedAt?: number;
  /** Optimistic-concurrency version; null when the record does not exist in storage yet. */
  version: number | null;
  /** The generation of the stored line set (lines are written under a generation, see storage). */
  lineGeneration: string;
  /** What its lines add up to, written with them (absent on headers stored before it existed). */
  lineSummary?: LineSummary;
}

export interface QuoteRecord {
  tenantId: string;
  id: string;
  known: boolean;
  deleted: boolean;
  opportunityId: string | null;
  name: string | null;
  status: QuoteStatus | null;
  /**
   * When the quote was accepted (`quote.accepted`, a trigger apart from the quote's reports): a
   * quote report dated before it cannot put the earlier status back; its other fields apply.
   */
  statusSetAt?: number;
  currency: string | null;
  pricebookId: string | null;
  expiresAt: string | null;
  syncMode: SyncMode | null;
  terms: string | null;
  customer: string | null;
  seller: string | null;
  tax: string | null;
  fees: string | null;
  fields: FieldMap;
  changedAt: number;
  changedBy: Source;
  syncing: boolean;
  /** Changes accepted while synced in a non-live mode, not yet pushed. */
  pendingChanges: number;
  /** As `OpportunityRecord.linesReplacedAt`, for the quote's lines (`quote.lines.replaced`). */
  linesReplacedAt?: number;
  version: number | null;
  lineGeneration: string;
  /** What its lines add up to, written with them (absent on headers stored before it existed). */
  lineSummary?: LineSummary;
}

/**
 * A record and its lines: every line, or — read by key — only some of them, with `unread` saying
 * what the others add up to.
 */
export interface OpportunityAggregate {
  header: OpportunityRecord;
  lines: Map<string, StoredLine>;
  unread?: UnreadLines;
}

export interface QuoteAggregate {
  header: QuoteRecord;
  lines: Map<string, StoredLine>;
  unread?: UnreadLines;
}

/** A line as a mirror carries it to the target system: its values under the target's id. */
export interface MirrorLine extends LineValues {
  /** The target system's own line id; null means "create" (quotesync has not learned it yet). */
  id: string | null;
  syncKey: string;
}

/** What the other system must apply (SPEC §5). */
export interface Mirror {
  target: Source;
  opportunityId: string;
  quoteId: string;
  lines?: { upsert: MirrorLine[]; delete: string[] };
  opportunity?: {
    amount: string | null;
    amountLocked: boolean;
    syncedQuoteId: string | null;
    stage?: string;
    approval?: Approval;
    fields?: FieldMap;
  };
  quote?: { syncing: boolean; status?: QuoteStatus; fields?: FieldMap };
}

export type ResponseStatus =
  | "applied"
  | "no_change"
  | "stale"
  | "not_synced"
  | "pending"
  | "started"
  | "stopped";

export interface SyncResponse {
  status: ResponseStatus;
  mirrors: Mirror[];
  [extra: string]: unknown;
}

export type AuditType =
  | "sync.started"
  | "sync.replaced"
  | "sync.resynced"
  | "sync.stopped"
  | "change.mirrored"
  | "change.pending"
  | "change.pushed"
  | "change.stale"
  | "change.applied"
  | "change.corrected"
  | "amount.corrected"
  | "start.refused"
  | "command.forbidden"
  | "trigger.fired"
  | "approval.changed"
  | "audit.drift"
  | "audit.milestone_pending"
  | "mirror.delivered"
  | "mirror.failed"
  | "mirror.retried";

/** One field of one line as a change set it: what the timeline shows as "quantity 200 → 250". */
export interface AuditValueChange {
  /** The line's name (or product id) as recorded when it changed. */
  line: string;
  field: string;
  /** Null: the line was added (`from`) or deleted (`to`). */
  from: string | null;
  to: string | null;
}

export interface AuditEntry {
  at: string;
  type: AuditType;
  source?: Source | "command" | "schedule" | "eventbridge";
  eventId?: string;
  actor?: string;
  quoteId?: string;
  summary: string;
  /** Values before and after, where the entry records them (line changes); absent on older entries. */
  changes?: AuditValueChange[];
}
