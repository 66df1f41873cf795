import { ConcurrentModification, DuplicateEvent } from "./errors.js";
import type {
  AuditEntry,
  OpportunityAggregate,
  OpportunityRecord,
  QuoteAggregate,
  QuoteRecord,
  StoredLine,
  SyncResponse,
} from "./model.js";
import type { DriftFinding, ScheduleCheckpoint } from "./schedule.js";
import type { ChangeSet, OutboxEntry, Page, PipelineEntry, SyncStore } from "./store.js";
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
  private readonly processed = new Map<string, SyncResponse>();
  private readonly outbox: Array<{ tenantId: string; entry: OutboxEntry }> = [];
  private readonly audits = new Map<string, AuditEntry[]>();
  private readonly drift = new Map<string, DriftFinding>();
  private checkpoint: ScheduleCheckpoint | null = null;
  /** Counts commits, so tests can assert that nothing was written. */
  commits = 0;

  constructor(private readonly now: () => number = Date.now) {}

  async loadTenant(tenantId: string): Promise<TenantConfig | null> {
    return clone(this.tenants.get(tenantId) ?? null);
  }

  async putTenant(config: TenantConfig): Promise<void> {
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

  async listQuotesOfOpportunity(tenantId: string, opportunityId: string): Promise<QuoteRecord[]> {
    return [...this.quotes.values()]
      .map((quote) => quote.header)
      .filter((header) => header.tenantId === tenantId && header.opportunityId === opportunityId)
      .map(clone);
  }

  async findProcessedEvent(tenantId: string, key: string): Promise<SyncResponse | null> {
    return clone(this.processed.get(`${tenantId}/${key}`) ?? null);
  }

  async commit(changes: ChangeSet): Promise<void> {
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

    this.commits++;
    if (changes.opportunity) {
      const { record, lines } = changes.opportunity;
      const key = `${tenantId}/${record.id}`;
      const previous = this.opportunities.get(key);
      this.opportunities.set(key, {
        header: { ...clone(record), version: (record.version ?? 0) + 1 },
        lines: lines ? clone(lines.all) : (previous?.lines ?? new Map()),
      });
    }
    for (const { record, lines } of changes.quotes) {
      const key = `${tenantId}/${record.id}`;
      const previous = this.quotes.get(key);
      this.quotes.set(key, {
        header: { ...clone(record), version: (record.version ?? 0) + 1 },
        lines: lines ? clone(lines.all) : (previous?.lines ?? new Map()),
      });
    }
    const at = new Date(this.now()).toISOString();
    for (const mirror of changes.outbox) {
      const cursor = String(this.outbox.length + 1).padStart(12, "0");
      this.outbox.push({ tenantId, entry: { cursor, at, mirror: clone(mirror) } });
    }
    for (const { opportunityId, entry } of changes.audit) {
      const key = `${tenantId}/${opportunityId}`;
      this.audits.set(key, [...(this.audits.get(key) ?? []), clone(entry)]);
    }
    if (changes.processedEvent) {
      this.processed.set(`${tenantId}/${changes.processedEvent.key}`, clone(changes.processedEvent.response));
    }
  }

  async readOutbox(tenantId: string, after: string | null, limit: number): Promise<Page<OutboxEntry>> {
    const all = this.outbox.filter((item) => item.tenantId === tenantId).map((item) => item.entry);
    const start = after === null ? 0 : all.findIndex((entry) => entry.cursor === after) + 1;
    const entries = all.slice(start, start + limit);
    const last = entries.at(-1);
    return { entries: clone(entries), next: last?.cursor ?? after };
  }

  async readAudit(
    tenantId: string,
    opportunityId: string,
    cursor: string | null,
    limit: number,
  ): Promise<Page<AuditEntry>> {
    const all = [...(this.audits.get(`${tenantId}/${opportunityId}`) ?? [])].reverse();
    const start = cursor === null ? 0 : Number(cursor);
    const entries = all.slice(start, start + limit);
    return { entries: clone(entries), next: start + limit < all.length ? String(start + limit) : null };
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
    const page = idPage([...findings.keys()], cursor, limit);
    return { entries: page.entries.map((id) => clone(findings.get(id) as DriftFinding)), next: page.next };
  }
}

/** A page of ids in id order after `after`, as the sparse indexes of the DynamoDB adapter give them. */
function idPage(ids: string[], after: string | null, limit: number): Page<string> {
  const sorted = ids.filter((id) => after === null || id > after).sort();
  const entries = sorted.slice(0, limit);
  return { entries, next: sorted.length > limit ? (entries.at(-1) ?? null) : null };
}
