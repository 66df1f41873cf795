import { randomUUID } from "node:crypto";
import { gzipSync } from "node:zlib";
import {
  type DynamoDBDocumentClient,
  TransactWriteCommand,
  type TransactWriteCommandInput,
} from "@aws-sdk/lib-dynamodb";
import { InvalidEvent } from "../../domain/errors.js";
import type { AuditEntry, OpportunityRecord, QuoteRecord } from "../../domain/model.js";
import type { ChangeSet, LineSetChange } from "../../domain/store.js";
import { isAmbiguousWriteFailure, type TransactionRole, translateTransactionError } from "./errors.js";
import { type HeaderWrite, headerWrite, onlyOrderRefused } from "./header-writes.js";
import { keys } from "./keys.js";
import { batchWrite, deleteGeneration, lineItem, newGeneration } from "./line-sets.js";
import { type ListingHints, listingOf } from "./listing-hints.js";
import { type OutboxLog, type Reservation, StaleSequence } from "./outbox.js";
import type { SequenceHints } from "./outbox-numbers.js";

type TransactItem = NonNullable<TransactWriteCommandInput["TransactItems"]>[number];

/** DynamoDB's limit on actions in one TransactWriteItems. */
const TRANSACTION_LIMIT = 100;
/** Responses larger than this are stored gzip-compressed in the processed-event item. */
const COMPRESS_ABOVE = 32 * 1024;
/** Attempts at a transaction whose earlier attempts timed out or failed with a 500. */
const AMBIGUOUS_WRITE_ATTEMPTS = 3;

/**
 * Commits a decision's `ChangeSet` as one TransactWriteItems whose header conditions
 * (`version = :read`) make it fail whole when any record it read has changed. Line sets too large
 * for one transaction are written first under a new generation that no reader looks at, then
 * switched to by the same conditional header write; the old generation is deleted afterwards.
 */
export class ChangeSetWriter {
  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly tableName: string,
    private readonly outboxLog: OutboxLog,
    private readonly hints: SequenceHints,
    private readonly listings: ListingHints,
  ) {}

  async write(changes: ChangeSet, reservation?: Reservation): Promise<void> {
    // Headers go first; they are built at commit, when the outbox range they record is known.
    const headers: HeaderWrite[] = [];
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
      (changes.opportunity ? 2 : 0) +
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
      const listing = listingOf(stored);
      headers.push({
        partition,
        label: `opportunity ${record.id}`,
        readVersion: record.version,
        stored,
        index: this.opportunityIndex(stored),
        listing,
      });
      if (this.listings.at(partition, record.version) !== listing) add(this.pipelineEntry(stored));
    }
    for (const { record, linked } of changes.quotes) {
      const partition = keys.quotePartition(tenantId, record.id);
      const stored = { ...record, lineGeneration: generationOf(partition, record.lineGeneration) };
      headers.push({
        partition,
        label: `quote ${record.id}`,
        readVersion: record.version,
        stored,
        index: this.quoteIndex(stored),
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
      headers.push({ partition, label: `${kind} ${id}`, readVersion: version });
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
      ...headers.map((header) => header.stored),
      ...items.map((item) => item.Put?.Item),
      ...changes.outbox.flatMap((mirror) => this.outboxLog.split(mirror)).map((mirror) => ({ mirror })),
      ...switched.flatMap((entry) => [...entry.lines.all.values()].map((line) => ({ line }))),
    ]);
    // Set when the transaction's fate is unknown (timeout, 500): it may have switched to the new
    // generations, so they must not be deleted.
    let outcomeUnknown = false;
    // Line batches can take a while: reserved numbers held through them would stall every reader
    // of the tenant's outbox. They are voided alongside; the entries are numbered after the batches.
    const released = switched.length > 0 && reservation ? this.outboxLog.release(reservation) : undefined;
    const numbers = released ? undefined : reservation;
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
      await released;
      await this.outboxLog.appendWithin(
        tenantId,
        changes.outbox,
        async (outboxItems, range) => {
          const all = [
            ...headers.map((header) => headerWrite(this.tableName, header, range)),
            ...items,
            ...outboxItems,
          ];
          const allRoles = [
            ...headers.map((header): TransactionRole => ({ kind: "header", label: header.label })),
            ...roles,
          ];
          if (all.length > TRANSACTION_LIMIT)
            throw new Error(`a decision needs ${all.length} writes; the limit is ${TRANSACTION_LIMIT}`);
          if (all.length === 0) return;
          try {
            await this.transactWrite(all);
          } catch (error) {
            outcomeUnknown = isAmbiguousWriteFailure(error);
            if (onlyOrderRefused(error, headers)) throw new StaleSequence({ cause: error });
            throw translateTransactionError(error, allRoles);
          }
        },
        numbers,
        this.hints.floor(headers),
      );
    } catch (error) {
      await released;
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

  /** Synced opportunities carry the sparse index key the scheduled audit pages through. */
  private opportunityIndex(record: OpportunityRecord): Record<string, string> {
    return record.syncedQuoteId && !record.deleted
      ? { gsi1pk: keys.syncedPairsIndex(record.tenantId), gsi1sk: record.id }
      : {};
  }

  /**
   * The opportunity's entry in the tenant's pipeline list, kept in the same transaction as its
   * header (so the list never names an opportunity that was not committed): present while the
   * opportunity is known and not deleted, with a `gsi1` entry under its stage and the values the
   * page sorts by. Written when the listing changes (see `ListingHints`).
   */
  private pipelineEntry(record: OpportunityRecord): TransactItem {
    const Key = { pk: keys.opportunitiesPartition(record.tenantId), sk: record.id };
    if (!record.known || record.deleted) return { Delete: { TableName: this.tableName, Key } };
    return {
      Put: {
        TableName: this.tableName,
        Item: pipelineEntryItem(record),
      },
    };
  }

  /** Synced quotes with pending changes carry the sparse index key the scheduled push pages through. */
  private quoteIndex(record: QuoteRecord): Record<string, string> {
    return record.syncing && record.pendingChanges > 0 && !record.deleted
      ? { gsi1pk: keys.pendingQuotesIndex(record.tenantId), gsi1sk: record.id }
      : {};
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

let auditSequence = 0;

export function auditItem(
  tenantId: string,
  opportunityId: string,
  entry: AuditEntry,
): Record<string, unknown> {
  // Sorts by time; the suffix keeps entries of the same millisecond apart and in write order.
  auditSequence = (auditSequence + 1) % 1_000_000;
  const suffix = `${String(auditSequence).padStart(6, "0")}${Math.random().toString(36).slice(2, 8)}`;
  return { pk: keys.auditPartition(tenantId, opportunityId), sk: `${entry.at}#${suffix}`, entry };
}

/**
 * The pipeline list item of a known, undeleted opportunity: its id, stage (with the sparse `gsi1`
 * entry by stage), amount, currency and last change — what the page filters and sorts by.
 */
export function pipelineEntryItem(record: OpportunityRecord): Record<string, unknown> {
  return {
    pk: keys.opportunitiesPartition(record.tenantId),
    sk: record.id,
    ...(record.stage
      ? { gsi1pk: keys.opportunitiesByStageIndex(record.tenantId, record.stage), gsi1sk: record.id }
      : {}),
    stage: record.stage,
    amount: record.amount,
    currency: record.currency,
    changedAt: record.changedAt,
  };
}
