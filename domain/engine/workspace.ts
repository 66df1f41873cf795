import type { ChangeSet, LineSetChange } from "../change-set.js";
import { indexedLines } from "../line-index.js";
import { sameSummary, summarize, type UnreadLines } from "../line-summary.js";
import type {
  AuditEntry,
  AuditType,
  AuditValueChange,
  Mirror,
  MirrorLine,
  OpportunityAggregate,
  OpportunityRecord,
  QuoteAggregate,
  QuoteRecord,
  Source,
  StoredLine,
} from "../model.js";
import { placeholderOpportunity, placeholderQuote } from "../records.js";
import { type FieldMapping, fieldMapping, type TenantConfig } from "../tenant.js";
import type { Snapshot } from "./snapshot.js";

/** Who and what caused a decision; stamped on audit entries. */
export interface Cause {
  source: NonNullable<AuditEntry["source"]>;
  eventId?: string;
  actor?: string;
  /** Time of the change in epoch ms (the event's occurredAt, or now for commands). */
  at: number;
}

interface TrackedOpportunity {
  aggregate: OpportunityAggregate;
  dirty: boolean;
  changedLines: Set<string>;
}

interface TrackedQuote {
  aggregate: QuoteAggregate;
  dirty: boolean;
  changedLines: Set<string>;
  /** The opportunity the quote named when it was read. */
  loadedOpportunityId: string | null;
}

/**
 * The state one decision reads and changes, and the mirrors and audit entries it produces.
 * It turns into exactly one `ChangeSet`, so a decision is committed whole or not at all.
 */
export class Workspace {
  readonly mapping: FieldMapping;
  private opportunity: TrackedOpportunity | undefined;
  private readonly quotes = new Map<string, TrackedQuote>();
  private readonly mirrors: Mirror[] = [];
  private readonly auditEntries: Array<{ opportunityId: string; entry: AuditEntry }> = [];
  private readonly upsertedKeys = new WeakMap<Mirror, Set<string>>();
  private readonly deletedIds = new WeakMap<Mirror, Set<string>>();

  constructor(
    readonly tenant: TenantConfig,
    readonly cause: Cause,
    readonly now: number,
    private readonly snapshot?: Snapshot,
  ) {
    this.mapping = fieldMapping(tenant);
  }

  /**
   * Takes the quote from the decision's snapshot into the decision (a placeholder when it is not
   * stored); from then on its header is written, or checked unchanged, at commit.
   */
  useQuote(quoteId: string): QuoteAggregate {
    const tracked = this.quotes.get(quoteId);
    if (tracked) return tracked.aggregate;
    const loaded = this.snapshot?.quotes.get(quoteId);
    if (loaded === undefined) throw new Error(`quote ${quoteId} was not read for this decision`);
    return this.attachQuote(
      loaded ?? { header: placeholderQuote(this.tenant.tenantId, quoteId), lines: new Map() },
    );
  }

  /** Takes the opportunity from the decision's snapshot into the decision (see `useQuote`). */
  useOpportunity(opportunityId: string): OpportunityAggregate {
    if (this.opportunity?.aggregate.header.id === opportunityId) return this.opportunity.aggregate;
    const loaded = this.snapshot?.opportunities.get(opportunityId);
    if (loaded === undefined) throw new Error(`opportunity ${opportunityId} was not read for this decision`);
    return this.attachOpportunity(
      loaded ?? { header: placeholderOpportunity(this.tenant.tenantId, opportunityId), lines: new Map() },
    );
  }

  get nowIso(): string {
    return new Date(this.now).toISOString();
  }

  attachOpportunity(aggregate: OpportunityAggregate): OpportunityAggregate {
    aggregate.lines = indexedLines(aggregate.lines);
    this.opportunity = { aggregate, dirty: false, changedLines: new Set() };
    return aggregate;
  }

  attachQuote(aggregate: QuoteAggregate): QuoteAggregate {
    aggregate.lines = indexedLines(aggregate.lines);
    this.quotes.set(aggregate.header.id, {
      aggregate,
      dirty: false,
      changedLines: new Set(),
      loadedOpportunityId: aggregate.header.version === null ? null : aggregate.header.opportunityId,
    });
    return aggregate;
  }

  updateOpportunity(change: Partial<OpportunityRecord>): OpportunityRecord {
    const tracked = this.requireOpportunity();
    Object.assign(tracked.aggregate.header, change);
    tracked.dirty = true;
    return tracked.aggregate.header;
  }

  updateQuote(quoteId: string, change: Partial<QuoteRecord>): QuoteRecord {
    const tracked = this.requireQuote(quoteId);
    Object.assign(tracked.aggregate.header, change);
    tracked.dirty = true;
    return tracked.aggregate.header;
  }

  putOpportunityLine(line: StoredLine): void {
    const tracked = this.requireOpportunity();
    noteIdChange(tracked.aggregate, line);
    tracked.aggregate.lines.set(line.syncKey, line);
    tracked.changedLines.add(line.syncKey);
    tracked.dirty = true;
  }

  putQuoteLine(quoteId: string, line: StoredLine): void {
    const tracked = this.requireQuote(quoteId);
    noteIdChange(tracked.aggregate, line);
    tracked.aggregate.lines.set(line.syncKey, line);
    tracked.changedLines.add(line.syncKey);
    tracked.dirty = true;
  }

  /** Puts a line on the side that `side` names: opportunity lines for crm, the quote's for cpq. */
  putLine(side: Source, quoteId: string, line: StoredLine): void {
    if (side === "crm") this.putOpportunityLine(line);
    else this.putQuoteLine(quoteId, line);
  }

  /** The mirror to `target` about this pair, created on first use so each target gets one. */
  mirrorTo(target: Source, opportunityId: string, quoteId: string): Mirror {
    let mirror = this.mirrors.find(
      (candidate) =>
        candidate.target === target &&
        candidate.opportunityId === opportunityId &&
        candidate.quoteId === quoteId,
    );
    if (!mirror) {
      mirror = { target, opportunityId, quoteId };
      this.mirrors.push(mirror);
    }
    return mirror;
  }

  mirrorLineUpsert(target: Source, opportunityId: string, quoteId: string, line: MirrorLine): void {
    const mirror = this.mirrorTo(target, opportunityId, quoteId);
    mirror.lines ??= { upsert: [], delete: [] };
    // A set of the sync keys in the mirror keeps a decision over N lines linear.
    const upserted = this.upsertedKeys.get(mirror) ?? new Set<string>();
    this.upsertedKeys.set(mirror, upserted);
    if (upserted.has(line.syncKey)) {
      mirror.lines.upsert = mirror.lines.upsert.filter((existing) => existing.syncKey !== line.syncKey);
    }
    upserted.add(line.syncKey);
    mirror.lines.upsert.push(line);
  }

  mirrorLineDelete(target: Source, opportunityId: string, quoteId: string, targetLineId: string): void {
    const mirror = this.mirrorTo(target, opportunityId, quoteId);
    mirror.lines ??= { upsert: [], delete: [] };
    const deleted = this.deletedIds.get(mirror) ?? new Set<string>();
    this.deletedIds.set(mirror, deleted);
    if (!deleted.has(targetLineId)) mirror.lines.delete.push(targetLineId);
    deleted.add(targetLineId);
  }

  audit(
    opportunityId: string | null,
    type: AuditType,
    summary: string,
    quoteId?: string,
    changes?: AuditValueChange[],
  ): void {
    if (!opportunityId) return;
    const entry: AuditEntry = { at: this.nowIso, type, source: this.cause.source, summary };
    if (this.cause.eventId) entry.eventId = this.cause.eventId;
    if (this.cause.actor) entry.actor = this.cause.actor;
    if (quoteId) entry.quoteId = quoteId;
    if (changes && changes.length > 0) entry.changes = changes;
    this.auditEntries.push({ opportunityId, entry });
  }

  producedMirrors(): Mirror[] {
    return this.mirrors.filter((mirror) => mirror.lines || mirror.opportunity || mirror.quote);
  }

  toChangeSet(processedEvent?: ChangeSet["processedEvent"]): ChangeSet {
    if (this.opportunity) this.settleSummary(this.opportunity);
    for (const tracked of this.quotes.values()) this.settleSummary(tracked);
    const changes: ChangeSet = {
      tenantId: this.tenant.tenantId,
      quotes: [],
      outbox: this.producedMirrors(),
      audit: this.auditEntries,
    };
    if (this.opportunity?.dirty) {
      const { aggregate, changedLines } = this.opportunity;
      changes.opportunity = { record: aggregate.header };
      if (changedLines.size > 0) changes.opportunity.lines = lineSetChange(aggregate, changedLines);
    }
    const unchanged: NonNullable<ChangeSet["unchanged"]> = [];
    if (this.opportunity && !this.opportunity.dirty) {
      const { id, version } = this.opportunity.aggregate.header;
      unchanged.push({ kind: "opportunity", id, version });
    }
    for (const { aggregate, dirty, changedLines, loadedOpportunityId } of this.quotes.values()) {
      if (!dirty) {
        unchanged.push({ kind: "quote", id: aggregate.header.id, version: aggregate.header.version });
        continue;
      }
      const entry: ChangeSet["quotes"][number] = { record: aggregate.header };
      if (changedLines.size > 0) entry.lines = lineSetChange(aggregate, changedLines);
      if (aggregate.header.opportunityId !== loadedOpportunityId) entry.linked = true;
      changes.quotes.push(entry);
    }
    // Every decision rests on what it read: a header read but not written must be unchanged at
    // commit, or a change judged "not synced" (no mirror) could land just after a start.
    if (unchanged.length > 0) changes.unchanged = unchanged;
    if (processedEvent) changes.processedEvent = processedEvent;
    return changes;
  }

  /**
   * Keeps the header's line summary true to its lines: a header written carries the summary of
   * the lines it is written with; a stored header read whole whose summary is missing (stored
   * before summaries) or wrong is written with the right one.
   */
  private settleSummary(tracked: TrackedOpportunity | TrackedQuote): void {
    const { aggregate } = tracked;
    const { header } = aggregate;
    if (!tracked.dirty && (header.version === null || aggregate.unread)) return;
    const limit = this.tenant.approvals.maxDiscountPercent;
    const summary = summarize(aggregate.lines, header.currency ?? "USD", limit, aggregate.unread);
    if (!tracked.dirty && sameSummary(header.lineSummary, summary)) return;
    header.lineSummary = summary;
    tracked.dirty = true;
  }

  private requireOpportunity(): TrackedOpportunity {
    if (!this.opportunity) throw new Error("no opportunity attached to this decision");
    return this.opportunity;
  }

  private requireQuote(quoteId: string): TrackedQuote {
    const tracked = this.quotes.get(quoteId);
    if (!tracked) throw new Error(`quote ${quoteId} is not attached to this decision`);
    return tracked;
  }
}

/** A line set read by key cannot tell whether a changed id is unique: its summary stops saying so. */
function noteIdChange(
  aggregate: { lines: Map<string, StoredLine>; unread?: UnreadLines },
  line: StoredLine,
): void {
  if (!aggregate.unread?.uniqueIds) return;
  const previous = aggregate.lines.get(line.syncKey);
  const ids = (of: StoredLine | undefined) => JSON.stringify([of?.id ?? null, ...(of?.formerIds ?? [])]);
  if (previous ? ids(previous) !== ids(line) : line.id !== null) aggregate.unread.uniqueIds = false;
}

function lineSetChange(
  aggregate: { lines: Map<string, StoredLine>; unread?: UnreadLines },
  changed: Set<string>,
): LineSetChange {
  return aggregate.unread
    ? { all: aggregate.lines, changed, partial: true }
    : { all: aggregate.lines, changed };
}
