import { randomUUID } from "node:crypto";
import { gunzipSync, gzipSync } from "node:zlib";
import {
  BatchGetCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  paginateQuery,
  QueryCommand,
  TransactWriteCommand,
  type TransactWriteCommandInput,
} from "@aws-sdk/lib-dynamodb";
import { InvalidEvent } from "../../domain/errors.js";
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
import type { ChangeSet, LineSetChange, OutboxEntry, Page, SyncStore } from "../../domain/store.js";
import { TenantConfig } from "../../domain/tenant.js";
import { type CapacityReport, reportConsumedCapacity } from "./capacity.js";
import {
  isAmbiguousWriteFailure,
  type TransactionRole,
  translateStorageError,
  translateTransactionError,
} from "./errors.js";
import { keys } from "./keys.js";
import { batchWrite, deleteGeneration, lineItem, newGeneration } from "./line-sets.js";
import { OutboxLog } from "./outbox.js";
import { ScheduleItems } from "./schedule-items.js";

type TransactItem = NonNullable<TransactWriteCommandInput["TransactItems"]>[number];

/** DynamoDB's limit on actions in one TransactWriteItems. */
const TRANSACTION_LIMIT = 100;
/** Responses larger than this are stored gzip-compressed in the processed-event item. */
const COMPRESS_ABOVE = 32 * 1024;
/** Attempts at a transaction whose earlier attempts timed out or failed with a 500. */
const AMBIGUOUS_WRITE_ATTEMPTS = 3;

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
 * The storage port on one DynamoDB table. A decision's writes go in one TransactWriteItems whose
 * header conditions (`version = :read`) make it fail whole when any record it read has changed.
 * Line sets too large for one transaction are written first under a new generation that no
 * reader looks at, then switched to by the same conditional header write.
 */
export class DynamoSyncStore implements SyncStore {
  private readonly doc: DynamoDBDocumentClient;
  private readonly tableName: string;
  private readonly outboxLog: OutboxLog;
  private readonly schedule: ScheduleItems;

  constructor(options: DynamoSyncStoreOptions) {
    this.doc = options.doc;
    this.tableName = options.tableName;
    this.outboxLog = new OutboxLog(options.doc, options.tableName, options.clock ?? Date.now);
    this.schedule = new ScheduleItems(options.doc, options.tableName);
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
    await guard(
      this.doc.send(
        new PutCommand({
          TableName: this.tableName,
          Item: {
            ...keys.tenant(config.tenantId),
            gsi1pk: keys.tenantsIndex,
            gsi1sk: config.tenantId,
            config,
          },
        }),
      ),
    );
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
          if (item.sk === keys.header) header = { ...(item.record as R), version: item.version as number };
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
    if (!result.Item) return null;
    const body = result.Item.response;
    const json = body instanceof Uint8Array ? gunzipSync(body).toString("utf8") : String(body);
    return JSON.parse(json) as SyncResponse;
  }

  async commit(changes: ChangeSet): Promise<void> {
    const items: TransactItem[] = [];
    const roles: TransactionRole[] = [];
    const add = (item: TransactItem, role: TransactionRole = { kind: "other" }) => {
      items.push(item);
      roles.push(role);
    };
    const { tenantId } = changes;

    const sides: Array<{
      partition: string;
      record: { version: number | null; lineGeneration: string };
      lines: LineSetChange;
    }> = [];
    if (changes.opportunity?.lines) {
      sides.push({
        partition: keys.opportunityPartition(tenantId, changes.opportunity.record.id),
        record: changes.opportunity.record,
        lines: changes.opportunity.lines,
      });
    }
    for (const quote of changes.quotes) {
      if (quote.lines)
        sides.push({
          partition: keys.quotePartition(tenantId, quote.record.id),
          record: quote.record,
          lines: quote.lines,
        });
    }

    const fixedCount =
      (changes.opportunity ? 1 : 0) +
      changes.quotes.length +
      changes.quotes.filter((quote) => quote.linked && quote.record.opportunityId).length +
      (changes.unchanged?.length ?? 0) +
      changes.audit.length +
      (changes.processedEvent ? 1 : 0) +
      this.outboxLog.entryCount(changes.outbox);
    // Lines go into the transaction while they fit; larger sets switch generation (see class doc).
    let inPlace = sides.reduce((sum, side) => sum + side.lines.changed.size, 0);
    const switched: Array<{ partition: string; from: string; to: string; lines: LineSetChange }> = [];
    for (const side of [...sides].sort((a, b) => b.lines.changed.size - a.lines.changed.size)) {
      if (fixedCount + inPlace <= TRANSACTION_LIMIT) break;
      switched.push({
        partition: side.partition,
        from: side.record.lineGeneration,
        to: newGeneration(),
        lines: side.lines,
      });
      inPlace -= side.lines.changed.size;
    }
    const generationOf = (partition: string, current: string) =>
      switched.find((entry) => entry.partition === partition)?.to ?? current;

    if (changes.opportunity) {
      const { record } = changes.opportunity;
      const partition = keys.opportunityPartition(tenantId, record.id);
      const stored = { ...record, lineGeneration: generationOf(partition, record.lineGeneration) };
      add(this.headerPut(partition, stored, record.version, this.opportunityIndex(stored)), {
        kind: "header",
        label: `opportunity ${record.id}`,
      });
    }
    for (const { record, linked } of changes.quotes) {
      const partition = keys.quotePartition(tenantId, record.id);
      const stored = { ...record, lineGeneration: generationOf(partition, record.lineGeneration) };
      add(this.headerPut(partition, stored, record.version, this.quoteIndex(stored)), {
        kind: "header",
        label: `quote ${record.id}`,
      });
      if (linked && record.opportunityId) {
        // The reference lets the status list an opportunity's quotes without a scan.
        add({
          Put: {
            TableName: this.tableName,
            Item: {
              pk: keys.opportunityPartition(tenantId, record.opportunityId),
              sk: keys.quoteRef(record.id),
              quoteId: record.id,
            },
          },
        });
      }
    }
    for (const side of sides) {
      if (switched.some((entry) => entry.partition === side.partition)) continue;
      for (const syncKey of side.lines.changed) {
        const line = side.lines.all.get(syncKey);
        if (line)
          add({
            Put: {
              TableName: this.tableName,
              Item: lineItem(side.partition, side.record.lineGeneration, line),
            },
          });
      }
    }
    for (const { kind, id, version } of changes.unchanged ?? []) {
      const partition =
        kind === "opportunity" ? keys.opportunityPartition(tenantId, id) : keys.quotePartition(tenantId, id);
      add(this.headerCheck(partition, version), { kind: "header", label: `${kind} ${id}` });
    }
    for (const { opportunityId, entry } of changes.audit) {
      add({ Put: { TableName: this.tableName, Item: auditItem(tenantId, opportunityId, entry) } });
    }
    if (changes.processedEvent) {
      const { key, response } = changes.processedEvent;
      const json = JSON.stringify(response);
      add(
        {
          Put: {
            TableName: this.tableName,
            Item: {
              ...keys.processedEvent(tenantId, key),
              response: json.length > COMPRESS_ABOVE ? gzipSync(json) : json,
              at: new Date().toISOString(),
            },
            // Exactly one delivery of an event commits; a concurrent copy fails here as a whole.
            ConditionExpression: "attribute_not_exists(pk)",
          },
        },
        { kind: "processed", eventKey: key },
      );
    }

    assertItemsFit([
      ...items.map((item) => item.Put?.Item),
      ...changes.outbox.flatMap((mirror) => this.outboxLog.split(mirror)).map((mirror) => ({ mirror })),
      ...switched.flatMap((entry) => [...entry.lines.all.values()].map((line) => ({ line }))),
    ]);
    // Set when the transaction's fate is unknown (timeout, 500): it may have switched to the new
    // generations, so they must not be deleted.
    let outcomeUnknown = false;
    try {
      for (const entry of switched) {
        await batchWrite(
          this.doc,
          this.tableName,
          [...entry.lines.all.values()].map((line) => ({
            PutRequest: { Item: lineItem(entry.partition, entry.to, line) },
          })),
        );
      }
      await this.outboxLog.appendWithin(tenantId, changes.outbox, async (outboxItems) => {
        for (const item of outboxItems) add(item);
        if (items.length > TRANSACTION_LIMIT)
          throw new Error(`a decision needs ${items.length} writes; the limit is ${TRANSACTION_LIMIT}`);
        if (items.length === 0) return;
        try {
          await this.transactWrite(items);
        } catch (error) {
          outcomeUnknown = isAmbiguousWriteFailure(error);
          throw translateTransactionError(error, roles);
        }
      });
    } catch (error) {
      if (!outcomeUnknown) {
        await Promise.allSettled(
          switched.map((entry) =>
            deleteGeneration(this.doc, this.tableName, entry.partition, entry.to, entry.lines.all.keys()),
          ),
        );
      }
      throw error;
    }
    await Promise.allSettled(
      switched.map((entry) =>
        deleteGeneration(this.doc, this.tableName, entry.partition, entry.from, entry.lines.all.keys()),
      ),
    );
  }

  /**
   * Sends one TransactWriteItems, retrying a bounded number of times (with jitter) when its fate
   * is unknown — a timeout or a 500 may come after DynamoDB applied it. Every attempt carries the
   * same ClientRequestToken, so DynamoDB applies the transaction at most once and answers a repeat
   * of an applied one with success (within its 10-minute token window). The SDK's own retries
   * reuse the request it serialized, token included; this loop extends that guarantee to retries
   * after the SDK gave up.
   */
  private async transactWrite(items: TransactItem[]): Promise<void> {
    const input = { TransactItems: items, ClientRequestToken: randomUUID() };
    for (let attempt = 1; ; attempt++) {
      try {
        await this.doc.send(new TransactWriteCommand(input));
        return;
      } catch (error) {
        if (!isAmbiguousWriteFailure(error) || attempt >= AMBIGUOUS_WRITE_ATTEMPTS) throw error;
        await new Promise((resolve) => setTimeout(resolve, Math.random() * 25 * 2 ** attempt));
      }
    }
  }

  /** A header the decision relied on without writing it must still be at the version it read. */
  private headerCheck(partition: string, readVersion: number | null): TransactItem {
    const Key = { pk: partition, sk: keys.header };
    if (readVersion === null) {
      return {
        ConditionCheck: { TableName: this.tableName, Key, ConditionExpression: "attribute_not_exists(pk)" },
      };
    }
    return {
      ConditionCheck: {
        TableName: this.tableName,
        Key,
        ConditionExpression: "#version = :readVersion",
        ExpressionAttributeNames: { "#version": "version" },
        ExpressionAttributeValues: { ":readVersion": readVersion },
      },
    };
  }

  /**
   * A header write: created only if absent, else only if still at the version the decision read
   * (optimistic concurrency: the single-synced-quote rule rests on this condition).
   */
  private headerPut(
    partition: string,
    record: { version: number | null },
    readVersion: number | null,
    index: Record<string, string>,
  ): TransactItem {
    const { version: _ignored, ...rest } = record;
    const base = {
      TableName: this.tableName,
      Item: { pk: partition, sk: keys.header, version: (readVersion ?? 0) + 1, record: rest, ...index },
    };
    if (readVersion === null) return { Put: { ...base, ConditionExpression: "attribute_not_exists(pk)" } };
    return {
      Put: {
        ...base,
        ConditionExpression: "#version = :readVersion",
        ExpressionAttributeNames: { "#version": "version" },
        ExpressionAttributeValues: { ":readVersion": readVersion },
      },
    };
  }

  /** Synced opportunities carry the sparse index key the scheduled audit pages through. */
  private opportunityIndex(record: OpportunityRecord): Record<string, string> {
    return record.syncedQuoteId && !record.deleted
      ? { gsi1pk: keys.syncedPairsIndex(record.tenantId), gsi1sk: record.id }
      : {};
  }

  /** Synced quotes with pending changes carry the sparse index key the scheduled push pages through. */
  private quoteIndex(record: QuoteRecord): Record<string, string> {
    return record.syncing && record.pendingChanges > 0 && !record.deleted
      ? { gsi1pk: keys.pendingQuotesIndex(record.tenantId), gsi1sk: record.id }
      : {};
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
    const result = await guard(
      this.doc.send(
        new QueryCommand({
          TableName: this.tableName,
          KeyConditionExpression: cursor ? "pk = :pk AND sk < :cursor" : "pk = :pk",
          ExpressionAttributeValues: {
            ":pk": keys.auditPartition(tenantId, opportunityId),
            ...(cursor ? { ":cursor": Buffer.from(cursor, "base64url").toString("utf8") } : {}),
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
      next: result.LastEvaluatedKey && last ? Buffer.from(String(last.sk)).toString("base64url") : null,
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

/** DynamoDB's item size limit, less a margin for the key and bookkeeping attributes. */
const ITEM_LIMIT_BYTES = 400 * 1024 - 2048;

/**
 * Refuses a decision with an item DynamoDB would reject (400 KB), before anything is written —
 * the outbox counter included — so it is a clear 422 rather than a ValidationException mid-commit.
 * JSON length over-approximates DynamoDB's size, so what passes fits.
 */
function assertItemsFit(items: Array<Record<string, unknown> | undefined>): void {
  for (const item of items) {
    if (!item) continue;
    const size = Buffer.byteLength(
      JSON.stringify(item, (_key, value) =>
        value instanceof Uint8Array ? "x".repeat(value.length) : value instanceof Map ? [...value] : value,
      ),
    );
    if (size > ITEM_LIMIT_BYTES) {
      throw new InvalidEvent(`storing this event would need an item of ${size} bytes; the limit is 400 KB`, [
        { path: [], message: "the event's records or mirrors are too large to store" },
      ]);
    }
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

let auditSequence = 0;

function auditItem(tenantId: string, opportunityId: string, entry: AuditEntry): Record<string, unknown> {
  // Sorts by time; the suffix keeps entries of the same millisecond apart and in write order.
  auditSequence = (auditSequence + 1) % 1_000_000;
  const suffix = `${String(auditSequence).padStart(6, "0")}${Math.random().toString(36).slice(2, 8)}`;
  return { pk: keys.auditPartition(tenantId, opportunityId), sk: `${entry.at}#${suffix}`, entry };
}
