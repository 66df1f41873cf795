import { ConcurrentModification, DuplicateEvent, PortalInUse } from "./errors.js";
import type {
  AuditEntry,
  OpportunityAggregate,
  OpportunityRecord,
  QuoteAggregate,
  QuoteRecord,
  StoredLine,
  SyncResponse,
} from "./model.js";
import {
  cursorPastEnd,
  decodeAuditCursor,
  decodeDriftCursor,
  decodeOutboxCursor,
  encodeKeyCursor,
  encodeOutboxCursor,
} from "./page-cursors.js";
import type { DriftFinding, ScheduleCheckpoint } from "./schedule.js";
import type { ChangeSet, LineSetChange, OutboxEntry, Page, PipelineEntry, SyncStore } from "./store.js";
import { hubSpotPortalOf, type TenantConfig } from "./tenant.js";

const clone = <T>(value: T): T => structuredClone(value);

/**
 * The storage port in memory, with the same guarantees as the DynamoDB adapter: versioned
 * headers, all-or-nothing commits, one processed record per event. For fast domain tests.
 */
export class InMemorySyncStore implements SyncStore {
  private readonly tenants = new Map<string, TenantConfig>();
  private readonly opportunities = new Map<
    string,
    { header: OpportunityRecord; lines: Map<string, StoredLine> }
  >();
  private readonly quotes = new Map<string, { header: QuoteRecord; lines: Map<string, StoredLine> }>();
  /** The quotes committed as linked to each opportunity (`tenant/opportunity` → quote ids). */
  private readonly links = new Map<string, Set<string>>();
  private readonly processed = new Map<string, SyncResponse>();
  private readonly outboxes = new Map<string, OutboxEntry[]>();
  private readonly audits = new Map<string, Array<{ position: string; entry: AuditEntry }>>();
  private auditWrites = 0;
  private readonly drift = new Map<string, DriftFinding>();
  private checkpoint: ScheduleCheckpoint | null = null;
  /** Counts commits, so tests can assert that nothing was written. */
  commits = 0;

  constructor(private readonly now: () => number = Date.now) {}

  async loadTenant(tenantId: string): Promise<TenantConfig | null> {
    return clone(this.tenants.get(tenantId) ?? null);
  }

  async putTenant(config: TenantConfig): Promise<void> {
    const portalId = hubSpotPortalOf(config);
    // Checked and written without yielding: concurrent claims of one portal see each other.
    const owner = [...this.tenants.values()].find(
      (tenant) =>
        portalId !== null && hubSpotPortalOf(tenant) === portalId && tenant.tenantId !== config.tenantId,
    );
    if (portalId !== null && owner) throw new PortalInUse(portalId, owner.tenantId);
    this.tenants.set(config.tenantId, clone(config));
  }

  async findTenantIdByHubSpotPortal(portalId: number): Promise<string | null> {
    for (const tenant of this.tenants.values()) {
      if (hubSpotPortalOf(tenant) === portalId) return tenant.tenantId;
    }
    return null;
  }

  async loadOpportunity(tenantId: string, opportunityId: string): Promise<OpportunityAggregate | null> {
    return clone(this.opportunities.get(`${tenantId}/${opportunityId}`) ?? null);
  }

  async loadQuote(tenantId: string, quoteId: string): Promise<QuoteAggregate | null> {
    return clone(this.quotes.get(`${tenantId}/${quoteId}`) ?? null);
  }

  async loadPairLines(
    tenantId: string,
    pair: { quoteId: string; opportunityId: string; syncKeys: string[]; eventKey?: string },
  ): Promise<{
    quote: QuoteAggregate | null;
    opportunity: OpportunityAggregate | null;
    processed?: SyncResponse | null;
  }> {
    const wanted = new Set(pair.syncKeys);
    const byKey = <A extends { lines: Map<string, StoredLine> }>(stored: A | undefined): A | null =>
      stored
        ? clone({ ...stored, lines: new Map([...stored.lines].filter(([syncKey]) => wanted.has(syncKey))) })
        : null;
    return {
      quote: byKey(this.quotes.get(`${tenantId}/${pair.quoteId}`)),
      opportunity: byKey(this.opportunities.get(`${tenantId}/${pair.opportunityId}`)),
      ...(pair.eventKey
        ? { processed: clone(this.processed.get(`${tenantId}/${pair.eventKey}`) ?? null) }
        : {}),
    };
  }

  /**
   * Like the adapter's references, a link once committed stays: a quote that moved on is still
   * listed here, its header naming where it went (callers check `opportunityId`).
   */
  async listQuotesOfOpportunity(tenantId: string, opportunityId: string): Promise<QuoteRecord[]> {
    return [...(this.links.get(`${tenantId}/${opportunityId}`) ?? [])].sort().flatMap((quoteId) => {
      const found = this.quotes.get(`${tenantId}/${quoteId}`);
      return found ? [clone(found.header)] : [];
    });
  }

  async findProcessedEvent(tenantId: string, key: string): Promise<SyncResponse | null> {
    return clone(this.processed.get(`${tenantId}/${key}`) ?? null);
  }

  async commit(changes: ChangeSet): Promise<void> {
    const { tenantId } = changes;
    this.checkCommit(changes);
    this.commits++;
    if (changes.opportunity) {
      const { record, lines } = changes.opportunity;
      const key = `${tenantId}/${record.id}`;
      const previous = this.opportunities.get(key);
      this.opportunities.set(key, {
        header: { ...clone(record), version: (record.version ?? 0) + 1 },
        lines: storedLines(previous?.lines, lines),
      });
    }
    for (const { record, lines, linked } of changes.quotes) {
      const key = `${tenantId}/${record.id}`;
      if (linked && record.opportunityId) {
        const link = `${tenantId}/${record.opportunityId}`;
        this.links.set(link, new Set([...(this.links.get(link) ?? []), record.id]));
      }
      const previous = this.quotes.get(key);
      this.quotes.set(key, {
        header: { ...clone(record), version: (record.version ?? 0) + 1 },
        lines: storedLines(previous?.lines, lines),
      });
    }
    const at = new Date(this.now()).toISOString();
    const log = this.outboxOf(tenantId);
    for (const mirror of changes.outbox) {
      log.push({ cursor: encodeOutboxCursor(tenantId, log.length + 1), at, mirror: clone(mirror) });
    }
    for (const { opportunityId, entry } of changes.audit) {
      const key = `${tenantId}/${opportunityId}`;
      // Positions sort by time, then write order, as the DynamoDB adapter's audit keys do.
      const position = `${entry.at}#${String(++this.auditWrites % 1_000_000).padStart(6, "0")}`;
      this.audits.set(key, [...(this.audits.get(key) ?? []), { position, entry: clone(entry) }]);
    }
    if (changes.processedEvent) {
      this.processed.set(`${tenantId}/${changes.processedEvent.key}`, clone(changes.processedEvent.response));
    }
  }

  /** The commit's conditions, as the DynamoDB adapter's transaction checks them. */
  private checkCommit(changes: ChangeSet): void {
    const { tenantId } = changes;
    const stale: string[] = [];
    if (changes.opportunity) {
      const current = this.opportunities.get(`${tenantId}/${changes.opportunity.record.id}`);
      if ((current?.header.version ?? null) !== changes.opportunity.record.version)
        stale.push(`opportunity ${changes.opportunity.record.id}`);
    }
    for (const { record } of changes.quotes) {
      const current = this.quotes.get(`${tenantId}/${record.id}`);
      if ((current?.header.version ?? null) !== record.version) stale.push(`quote ${record.id}`);
    }
    for (const { kind, id, version } of changes.unchanged ?? []) {
      const current =
        kind === "opportunity"
          ? this.opportunities.get(`${tenantId}/${id}`)
          : this.quotes.get(`${tenantId}/${id}`);
      if ((current?.header.version ?? null) !== version) stale.push(`${kind} ${id}`);
    }
    if (changes.processedEvent && this.processed.has(`${tenantId}/${changes.processedEvent.key}`)) {
      throw new DuplicateEvent(changes.processedEvent.key);
    }
    if (stale.length > 0) throw new ConcurrentModification({ items: stale });
  }

  private outboxOf(tenantId: string): OutboxEntry[] {
    const log = this.outboxes.get(tenantId) ?? [];
    this.outboxes.set(tenantId, log);
    return log;
  }

  async readOutbox(tenantId: string, after: string | null, limit: number): Promise<Page<OutboxEntry>> {
    const all = this.outboxes.get(tenantId) ?? [];
    // Entry n is numbered n, as the DynamoDB adapter numbers them (without its voided gaps).
    const start = after === null ? 0 : decodeOutboxCursor(after, tenantId);
    if (start > all.length) throw cursorPastEnd(after ?? "");
    const entries = all.slice(start, start + limit);
    return { entries: clone(entries), next: entries.at(-1)?.cursor ?? after };
  }

  async readAudit(
    tenantId: string,
    opportunityId: string,
    cursor: string | null,
    limit: number,
  ): Promise<Page<AuditEntry>> {
    const before = cursor === null ? null : decodeAuditCursor(cursor);
    const newestFirst = [...(this.audits.get(`${tenantId}/${opportunityId}`) ?? [])]
      .filter(({ position }) => before === null || position < before)
      .sort((a, b) => (a.position < b.position ? 1 : -1));
    const page = newestFirst.slice(0, limit);
    const last = page.at(-1);
    return {
      entries: clone(page.map(({ entry }) => entry)),
      // Like a DynamoDB query with a limit: a full page says more may follow.
      next: page.length === limit && last ? encodeKeyCursor(last.position) : null,
    };
  }

  async listTenantIds(after: string | null, limit: number): Promise<Page<string>> {
    return idPage([...this.tenants.keys()], after, limit);
  }

  async listPendingQuoteIds(tenantId: string, after: string | null, limit: number): Promise<Page<string>> {
    const ids = [...this.quotes.values()]
      .map((quote) => quote.header)
      .filter((q) => q.tenantId === tenantId && q.syncing && q.pendingChanges > 0 && !q.deleted)
      .map((q) => q.id);
    return idPage(ids, after, limit);
  }

  async listSyncedOpportunityIds(
    tenantId: string,
    after: string | null,
    limit: number,
  ): Promise<Page<string>> {
    const ids = [...this.opportunities.values()]
      .map((opportunity) => opportunity.header)
      .filter((o) => o.tenantId === tenantId && o.syncedQuoteId !== null && !o.deleted)
      .map((o) => o.id);
    return idPage(ids, after, limit);
  }

  async listOpportunityIds(
    tenantId: string,
    after: string | null,
    limit: number,
    stage?: string,
  ): Promise<Page<string>> {
    const ids = [...this.opportunities.values()]
      .map((opportunity) => opportunity.header)
      .filter((o) => o.tenantId === tenantId && o.known && !o.deleted)
      .filter((o) => stage === undefined || o.stage === stage)
      .map((o) => o.id);
    return idPage(ids, after, limit);
  }

  async listPipelineEntries(tenantId: string, stage?: string): Promise<PipelineEntry[]> {
    return [...this.opportunities.values()]
      .map((opportunity) => opportunity.header)
      .filter((o) => o.tenantId === tenantId && o.known && !o.deleted)
      .filter((o) => stage === undefined || o.stage === stage)
      .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
      .map((o) => ({
        id: o.id,
        stage: o.stage,
        amount: o.amount,
        currency: o.currency,
        changedAt: o.changedAt,
      }));
  }

  async loadOpportunityHeaders(tenantId: string, ids: string[]): Promise<OpportunityRecord[]> {
    return [...new Set(ids)].flatMap((id) => {
      const found = this.opportunities.get(`${tenantId}/${id}`);
      return found ? [clone(found.header)] : [];
    });
  }

  async loadQuoteHeaders(tenantId: string, ids: string[]): Promise<QuoteRecord[]> {
    return [...new Set(ids)].flatMap((id) => {
      const found = this.quotes.get(`${tenantId}/${id}`);
      return found ? [clone(found.header)] : [];
    });
  }

  async loadDriftFindings(tenantId: string, ids: string[]): Promise<DriftFinding[]> {
    return [...new Set(ids)].flatMap((id) => {
      const found = this.drift.get(`${tenantId}/${id}`);
      return found ? [clone(found)] : [];
    });
  }

  async loadScheduleCheckpoint(): Promise<ScheduleCheckpoint | null> {
    return clone(this.checkpoint);
  }

  async saveScheduleCheckpoint(checkpoint: ScheduleCheckpoint): Promise<boolean> {
    if ((this.checkpoint?.version ?? null) !== checkpoint.version) return false;
    this.checkpoint = { ...clone(checkpoint), version: (checkpoint.version ?? 0) + 1 };
    return true;
  }

  async loadDriftFinding(tenantId: string, opportunityId: string): Promise<DriftFinding | null> {
    return clone(this.drift.get(`${tenantId}/${opportunityId}`) ?? null);
  }

  async saveDriftFinding(tenantId: string, finding: DriftFinding): Promise<void> {
    this.drift.set(`${tenantId}/${finding.opportunityId}`, clone(finding));
  }

  async deleteDriftFinding(tenantId: string, opportunityId: string): Promise<void> {
    this.drift.delete(`${tenantId}/${opportunityId}`);
  }

  async readDriftReport(tenantId: string, cursor: string | null, limit: number): Promise<Page<DriftFinding>> {
    const findings = new Map(
      [...this.drift.entries()]
        .filter(([key]) => key.startsWith(`${tenantId}/`))
        .map(([, finding]) => [finding.opportunityId, finding]),
    );
    const after = cursor === null ? null : decodeDriftCursor(cursor);
    const ids = [...findings.keys()].filter((id) => after === null || id > after).sort();
    const page = ids.slice(0, limit);
    const last = page.at(-1);
    return {
      entries: page.map((id) => clone(findings.get(id) as DriftFinding)),
      next: page.length === limit && last ? encodeKeyCursor(last) : null,
    };
  }
}

/** The line set after a commit: the decision's whole set, or the stored one with its changes. */
function storedLines(
  previous: Map<string, StoredLine> | undefined,
  change: LineSetChange | undefined,
): Map<string, StoredLine> {
  if (!change) return previous ?? new Map();
  if (!change.partial) return clone(change.all);
  const lines = new Map(previous ?? []);
  for (const syncKey of change.changed) {
    const line = change.all.get(syncKey);
    if (line) lines.set(syncKey, clone(line));
  }
  return lines;
}

/**
 * A page of ids in id order after `after`, as the sparse indexes of the DynamoDB adapter give
 * them: a full page names its last id as `next` (DynamoDB's LastEvaluatedKey), even when no id
 * follows; the next page is then empty.
 */
function idPage(ids: string[], after: string | null, limit: number): Page<string> {
  const sorted = ids.filter((id) => after === null || id > after).sort();
  const entries = sorted.slice(0, limit);
  return { entries, next: entries.length === limit ? (entries.at(-1) ?? null) : null };
}
