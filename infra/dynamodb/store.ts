import { gunzipSync } from "node:zlib";
import {
  BatchGetCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  paginateQuery,
  QueryCommand,
} from "@aws-sdk/lib-dynamodb";
import { deliversTo } from "../../domain/connectors.js";
import type {
  AuditEntry,
  OpportunityAggregate,
  OpportunityRecord,
  QuoteAggregate,
  QuoteRecord,
  StoredLine,
  SyncResponse,
} from "../../domain/model.js";
import type { DriftFinding, ScheduleCheckpoint } from "../../domain/schedule.js";
import type {
  ChangeSet,
  OutboxEntry,
  Page,
  PendingCommit,
  PipelineEntry,
  SyncStore,
} from "../../domain/store.js";
import { hubSpotPortalOf, TenantConfig } from "../../domain/tenant.js";
import { type CapacityReport, reportConsumedCapacity } from "./capacity.js";
import { decodeAuditCursor, encodeKeyCursor } from "./cursors.js";
import { DispatchCursors } from "./dispatch-cursor.js";
import { translateStorageError } from "./errors.js";
import { keys } from "./keys.js";
import { ListingHints } from "./listing-hints.js";
import { OutboxLog, type Reservation } from "./outbox.js";
import { beginWithReservation, ReservationPolicy, SequenceHints } from "./outbox-numbers.js";
import { PipelineReads } from "./pipeline-reads.js";
import { putTenantOnPortal } from "./portal-index.js";
import { ScheduleItems } from "./schedule-items.js";
import { ChangeSetWriter } from "./transaction.js";

export interface DynamoSyncStoreOptions {
  doc: DynamoDBDocumentClient;
  tableName: string;
  clock?: () => number;
  /**
   * Receives the capacity DynamoDB reports for every call (requested with
   * `ReturnConsumedCapacity: TOTAL` on the client this store uses): for measurements.
   */
  onConsumedCapacity?: (capacity: CapacityReport) => void;
}

/**
 * The storage port on one DynamoDB table: consistent reads of whole aggregates here, commits by
 * `ChangeSetWriter` (one conditional transaction), the outbox by `OutboxLog`, the scheduled
 * function's items by `ScheduleItems`.
 */
export class DynamoSyncStore implements SyncStore {
  private readonly doc: DynamoDBDocumentClient;
  private readonly tableName: string;
  private readonly outboxLog: OutboxLog;
  private readonly writer: ChangeSetWriter;
  private readonly schedule: ScheduleItems;
  private readonly pipeline: PipelineReads;
  private readonly hints = new SequenceHints();
  private readonly listings = new ListingHints();
  private readonly reservations = new ReservationPolicy();
  /** The line generation each partition was last read at: where a read by key looks first. */
  private readonly generations = new GenerationHints();

  constructor(options: DynamoSyncStoreOptions) {
    this.doc = options.doc;
    this.tableName = options.tableName;
    const clock = options.clock ?? Date.now;
    this.outboxLog = new OutboxLog(options.doc, options.tableName, clock);
    this.writer = new ChangeSetWriter(
      options.doc,
      options.tableName,
      this.outboxLog,
      this.hints,
      this.listings,
      clock,
    );
    this.schedule = new ScheduleItems(options.doc, options.tableName);
    this.pipeline = new PipelineReads(options.doc, options.tableName);
    if (options.onConsumedCapacity) reportConsumedCapacity(options.doc, options.onConsumedCapacity);
  }

  async loadTenant(tenantId: string): Promise<TenantConfig | null> {
    const result = await guard(
      this.doc.send(
        new GetCommand({ TableName: this.tableName, Key: keys.tenant(tenantId), ConsistentRead: true }),
      ),
    );
    return result.Item ? TenantConfig.parse(result.Item.config) : null;
  }

  async putTenant(config: TenantConfig): Promise<void> {
    const tenantItem = {
      ...keys.tenant(config.tenantId),
      gsi1pk: keys.tenantsIndex,
      gsi1sk: config.tenantId,
      config,
    };
    const portalId = hubSpotPortalOf(config);
    if (portalId === null) {
      await guard(this.doc.send(new PutCommand({ TableName: this.tableName, Item: tenantItem })));
    } else {
      // HubSpot's webhooks name a portal, not a tenant: the index item is written with the tenant.
      await putTenantOnPortal(this.doc, this.tableName, tenantItem, config, portalId, (id) =>
        this.loadTenant(id),
      );
    }
    // A side that delivers starts at the outbox's last number (connectors/dispatch.ts).
    if (deliversTo(config.connectors.crm) || deliversTo(config.connectors.cpq)) {
      await new DispatchCursors(this.doc, this.tableName).startAtCounter(config.tenantId);
    }
  }

  async findTenantIdByHubSpotPortal(portalId: number): Promise<string | null> {
    const result = await guard(
      this.doc.send(
        new GetCommand({
          TableName: this.tableName,
          Key: keys.hubSpotPortal(portalId),
          ConsistentRead: true,
        }),
      ),
    );
    return typeof result.Item?.tenantId === "string" ? result.Item.tenantId : null;
  }

  async loadOpportunity(tenantId: string, opportunityId: string): Promise<OpportunityAggregate | null> {
    const loaded = await this.loadPartition<OpportunityRecord>(
      keys.opportunityPartition(tenantId, opportunityId),
    );
    return loaded ? { header: loaded.header, lines: loaded.lines } : null;
  }

  async loadQuote(tenantId: string, quoteId: string): Promise<QuoteAggregate | null> {
    const loaded = await this.loadPartition<QuoteRecord>(keys.quotePartition(tenantId, quoteId));
    return loaded ? { header: loaded.header, lines: loaded.lines } : null;
  }

  /**
   * One BatchGetItem of both headers and, under the line generation each side was last seen at,
   * the lines at `syncKeys`: a one-line change reads a few items whatever the size of its quote.
   * A side whose generation moved since (a large replace switched it) has its lines read again
   * under the right one.
   */
  async loadPairLines(
    tenantId: string,
    pair: { quoteId: string; opportunityId: string; syncKeys: string[]; eventKey?: string },
  ): Promise<{
    quote: QuoteAggregate | null;
    opportunity: OpportunityAggregate | null;
    processed?: SyncResponse | null;
  }> {
    const partitions = [
      keys.quotePartition(tenantId, pair.quoteId),
      keys.opportunityPartition(tenantId, pair.opportunityId),
    ];
    const lineKeys = (partition: string, generation: string | undefined) =>
      generation === undefined
        ? []
        : pair.syncKeys.map((syncKey) => ({ pk: partition, sk: keys.line(generation, syncKey) }));
    const guessed = partitions.map((partition) => this.generations.get(partition));
    const processedKey = pair.eventKey ? keys.processedEvent(tenantId, pair.eventKey) : null;
    const items = await this.batchGet(
      (processedKey ? [processedKey as Record<string, unknown>] : []).concat(
        partitions.flatMap((partition, index) => [
          { pk: partition, sk: keys.header },
          ...lineKeys(partition, guessed[index]),
        ]),
      ),
    );
    const headers = partitions.map((partition) =>
      this.noteHeader(
        partition,
        items.find((item) => item.pk === partition && item.sk === keys.header),
      ),
    );
    const missed = partitions.flatMap((partition, index) => {
      const generation = headers[index]?.lineGeneration;
      return generation !== undefined && generation !== guessed[index] ? lineKeys(partition, generation) : [];
    });
    if (missed.length > 0) items.push(...(await this.batchGet(missed)));
    const [quote, opportunity] = partitions.map((partition, index) => {
      const header = headers[index];
      if (!header) return null;
      const prefix = keys.linePrefix(header.lineGeneration);
      const lines = items
        .filter((item) => item.pk === partition && typeof item.sk === "string" && item.sk.startsWith(prefix))
        .sort((a, b) => (String(a.sk) < String(b.sk) ? -1 : 1))
        .map((item) => item.line as StoredLine);
      return { header, lines: new Map(lines.map((line) => [line.syncKey, line])) };
    });
    const processedItem = processedKey
      ? items.find((item) => item.pk === processedKey.pk && item.sk === processedKey.sk)
      : undefined;
    return {
      ...(processedKey ? { processed: processedItem ? processedResponse(processedItem) : null } : {}),
      quote: quote ? { header: quote.header as QuoteRecord, lines: quote.lines } : null,
      opportunity: opportunity
        ? { header: opportunity.header as OpportunityRecord, lines: opportunity.lines }
        : null,
    };
  }

  /** Consistent BatchGetItem of `keys` (any number), retrying unprocessed keys. */
  private async batchGet(itemKeys: Record<string, unknown>[]): Promise<Record<string, unknown>[]> {
    const items: Record<string, unknown>[] = [];
    for (let index = 0; index < itemKeys.length; index += 100) {
      let request = itemKeys.slice(index, index + 100);
      for (let attempt = 0; request.length > 0; attempt++) {
        if (attempt > 0)
          await new Promise((resolve) => setTimeout(resolve, Math.random() * 20 * 2 ** attempt));
        const result = await guard(
          this.doc.send(
            new BatchGetCommand({
              RequestItems: { [this.tableName]: { Keys: request, ConsistentRead: true } },
            }),
          ),
        );
        items.push(...(result.Responses?.[this.tableName] ?? []));
        request = (result.UnprocessedKeys?.[this.tableName]?.Keys ?? []) as Record<string, unknown>[];
      }
    }
    return items;
  }

  /** A header item as read: its record (with its version), noted for the commit that follows. */
  private noteHeader(
    partition: string,
    item: Record<string, unknown> | undefined,
  ): (OpportunityRecord | QuoteRecord) | undefined {
    if (!item) return undefined;
    const header = { ...(item.record as OpportunityRecord | QuoteRecord), version: item.version as number };
    this.hints.note(partition, item.version as number, item.outboxSeq);
    this.listings.note(partition, item.version as number, item.listing);
    this.generations.set(partition, header.lineGeneration);
    return header;
  }

  /**
   * One consistent Query reads the header and the lines (`sk < "M"`: `H` and `L#...`, not the
   * quote references); lines of other generations are ignored (left by an interrupted switch).
   */
  private async loadPartition<R extends { version: number | null; lineGeneration: string }>(
    partition: string,
  ): Promise<{ header: R; lines: Map<string, StoredLine> } | null> {
    for (let attempt = 1; ; attempt++) {
      const read = await this.readPartitionPages<R>(partition);
      if (!read.header) return null;
      // A read over several pages is whole only if no generation switch (which bumps the header
      // version, then deletes the old generation) happened while it paged: check, else read again.
      if (read.pages > 1 && attempt < 5 && (await this.headerVersion(partition)) !== read.header.version)
        continue;
      const prefix = keys.linePrefix(read.header.lineGeneration);
      const lines = new Map<string, StoredLine>();
      for (const item of read.items) {
        if (typeof item.sk === "string" && item.sk.startsWith(prefix)) {
          const line = item.line as StoredLine;
          lines.set(line.syncKey, line);
        }
      }
      return { header: read.header, lines };
    }
  }

  private async readPartitionPages<R extends { version: number | null }>(
    partition: string,
  ): Promise<{ header: R | undefined; items: Record<string, unknown>[]; pages: number }> {
    let header: R | undefined;
    const items: Record<string, unknown>[] = [];
    let pages = 0;
    try {
      for await (const page of paginateQuery(
        { client: this.doc },
        {
          TableName: this.tableName,
          KeyConditionExpression: "pk = :pk AND sk < :end",
          ExpressionAttributeValues: { ":pk": partition, ":end": "M" },
          ConsistentRead: true,
        },
      )) {
        pages++;
        for (const item of page.Items ?? []) {
          if (item.sk === keys.header) header = this.noteHeader(partition, item) as R | undefined;
          else items.push(item);
        }
      }
    } catch (error) {
      throw translateStorageError(error);
    }
    return { header, items, pages };
  }

  private async headerVersion(partition: string): Promise<number | null> {
    const result = await guard(
      this.doc.send(
        new GetCommand({
          TableName: this.tableName,
          Key: { pk: partition, sk: keys.header },
          ProjectionExpression: "#version",
          ExpressionAttributeNames: { "#version": "version" },
          ConsistentRead: true,
        }),
      ),
    );
    return (result.Item?.version as number | undefined) ?? null;
  }

  async listQuotesOfOpportunity(tenantId: string, opportunityId: string): Promise<QuoteRecord[]> {
    const refs = await guard(
      this.doc.send(
        new QueryCommand({
          TableName: this.tableName,
          KeyConditionExpression: "pk = :pk AND begins_with(sk, :prefix)",
          ExpressionAttributeValues: {
            ":pk": keys.opportunityPartition(tenantId, opportunityId),
            ":prefix": keys.quoteRefPrefix,
          },
          ConsistentRead: true,
        }),
      ),
    );
    const quoteIds = (refs.Items ?? []).map((item) => String(item.quoteId));
    const headers: QuoteRecord[] = [];
    for (let index = 0; index < quoteIds.length; index += 100) {
      const chunk = quoteIds.slice(index, index + 100);
      let request: Record<string, unknown>[] = chunk.map((quoteId) => ({
        pk: keys.quotePartition(tenantId, quoteId),
        sk: keys.header,
      }));
      while (request.length > 0) {
        const result = await guard(
          this.doc.send(
            new BatchGetCommand({
              RequestItems: { [this.tableName]: { Keys: request, ConsistentRead: true } },
            }),
          ),
        );
        for (const item of result.Responses?.[this.tableName] ?? []) {
          headers.push({ ...(item.record as QuoteRecord), version: item.version as number });
        }
        request = (result.UnprocessedKeys?.[this.tableName]?.Keys ?? []) as Record<string, unknown>[];
      }
    }
    return headers.sort((a, b) => (a.id < b.id ? -1 : 1));
  }

  async findProcessedEvent(tenantId: string, key: string): Promise<SyncResponse | null> {
    const result = await guard(
      this.doc.send(
        new GetCommand({
          TableName: this.tableName,
          Key: keys.processedEvent(tenantId, key),
          ConsistentRead: true,
        }),
      ),
    );
    return result.Item ? processedResponse(result.Item) : null;
  }

  /** `reservation`: the outbox number `beginCommit` took ahead, if this commit was begun. */
  commit(changes: ChangeSet, reservation?: Reservation): Promise<void> {
    return this.writer.write(changes, reservation);
  }

  /**
   * Takes the outbox numbers the commit will likely need (see `ReservationPolicy`) while the
   * decision reads, so a change costs one round trip of reads and one of writes.
   */
  beginCommit(tenantId: string, kind: string): PendingCommit {
    return beginWithReservation(this.outboxLog, this.reservations, tenantId, kind, (changes, reservation) =>
      this.commit(changes, reservation),
    );
  }

  readOutbox(tenantId: string, after: string | null, limit: number): Promise<Page<OutboxEntry>> {
    return this.outboxLog.read(tenantId, after, limit);
  }

  async readAudit(
    tenantId: string,
    opportunityId: string,
    cursor: string | null,
    limit: number,
  ): Promise<Page<AuditEntry>> {
    const before = cursor ? decodeAuditCursor(cursor) : null;
    const result = await guard(
      this.doc.send(
        new QueryCommand({
          TableName: this.tableName,
          KeyConditionExpression: before ? "pk = :pk AND sk < :cursor" : "pk = :pk",
          ExpressionAttributeValues: {
            ":pk": keys.auditPartition(tenantId, opportunityId),
            ...(before ? { ":cursor": before } : {}),
          },
          ScanIndexForward: false,
          Limit: limit,
        }),
      ),
    );
    const items = result.Items ?? [];
    const last = items.at(-1);
    return {
      entries: items.map((item) => item.entry as AuditEntry),
      next: result.LastEvaluatedKey && last ? encodeKeyCursor(String(last.sk)) : null,
    };
  }

  listTenantIds(after: string | null, limit: number): Promise<Page<string>> {
    return this.schedule.indexPage(keys.tenantsIndex, after, limit);
  }

  listPendingQuoteIds(tenantId: string, after: string | null, limit: number): Promise<Page<string>> {
    return this.schedule.indexPage(keys.pendingQuotesIndex(tenantId), after, limit);
  }

  listSyncedOpportunityIds(tenantId: string, after: string | null, limit: number): Promise<Page<string>> {
    return this.schedule.indexPage(keys.syncedPairsIndex(tenantId), after, limit);
  }

  listOpportunityIds(
    tenantId: string,
    after: string | null,
    limit: number,
    stage?: string,
  ): Promise<Page<string>> {
    return this.pipeline.opportunityIds(tenantId, after, limit, stage);
  }

  listPipelineEntries(
    tenantId: string,
    stage?: string,
    only?: "stage" | "amount" | "changedAt",
  ): Promise<PipelineEntry[]> {
    return this.pipeline.pipelineEntries(tenantId, stage, only);
  }

  loadOpportunityHeaders(tenantId: string, ids: string[]): Promise<OpportunityRecord[]> {
    return this.pipeline.opportunityHeaders(tenantId, ids);
  }

  loadQuoteHeaders(tenantId: string, ids: string[]): Promise<QuoteRecord[]> {
    return this.pipeline.quoteHeaders(tenantId, ids);
  }

  loadDriftFindings(tenantId: string, ids: string[]): Promise<DriftFinding[]> {
    return this.pipeline.driftFindings(tenantId, ids);
  }

  loadScheduleCheckpoint(): Promise<ScheduleCheckpoint | null> {
    return this.schedule.loadCheckpoint();
  }

  saveScheduleCheckpoint(checkpoint: ScheduleCheckpoint): Promise<boolean> {
    return this.schedule.saveCheckpoint(checkpoint);
  }

  loadDriftFinding(tenantId: string, opportunityId: string): Promise<DriftFinding | null> {
    return this.schedule.loadDriftFinding(tenantId, opportunityId);
  }

  saveDriftFinding(tenantId: string, finding: DriftFinding): Promise<void> {
    return this.schedule.saveDriftFinding(tenantId, finding);
  }

  deleteDriftFinding(tenantId: string, opportunityId: string): Promise<void> {
    return this.schedule.deleteDriftFinding(tenantId, opportunityId);
  }

  readDriftReport(tenantId: string, cursor: string | null, limit: number): Promise<Page<DriftFinding>> {
    return this.schedule.readDriftReport(tenantId, cursor, limit);
  }
}

/** The response a processed-event item stores (gzip-compressed when large). */
function processedResponse(item: Record<string, unknown>): SyncResponse {
  const body = item.response;
  const json = body instanceof Uint8Array ? gunzipSync(body).toString("utf8") : String(body);
  return JSON.parse(json) as SyncResponse;
}

/** A bounded map of partition → line generation, oldest dropped first. */
class GenerationHints {
  private readonly known = new Map<string, string>();

  get(partition: string): string | undefined {
    return this.known.get(partition);
  }

  set(partition: string, generation: string): void {
    this.known.delete(partition);
    this.known.set(partition, generation);
    if (this.known.size > 10_000) this.known.delete(this.known.keys().next().value as string);
  }
}

/** Storage errors leave the adapter as domain errors (throttling → StorageBusy). */
async function guard<T>(request: Promise<T>): Promise<T> {
  try {
    return await request;
  } catch (error) {
    throw translateStorageError(error);
  }
}
