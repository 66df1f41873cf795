import { gzipSync } from "node:zlib";
import type { TransactWriteCommandInput } from "@aws-sdk/lib-dynamodb";
import { InvalidEvent } from "../../domain/errors.js";
import type { Mirror, OpportunityRecord, QuoteRecord } from "../../domain/model.js";
import type { ChangeSet, LineSetChange } from "../../domain/store.js";
import { auditItem } from "./audit-items.js";
import type { TransactionRole } from "./errors.js";
import type { HeaderWrite } from "./header-writes.js";
import { keys } from "./keys.js";
import { lineItem } from "./line-sets.js";
import { listingOf } from "./listing-hints.js";
import { splitMirror } from "./outbox.js";

export type TransactItem = NonNullable<TransactWriteCommandInput["TransactItems"]>[number];

/** DynamoDB's limit on actions in one TransactWriteItems. */
export const TRANSACTION_LIMIT = 100;
/** Responses larger than this are stored gzip-compressed in the processed-event item. */
const COMPRESS_ABOVE = 32 * 1024;
/** DynamoDB's item size limit, less a margin for the key and bookkeeping attributes. */
const ITEM_LIMIT_BYTES = 400 * 1024 - 2048;

/** A line set written outside the transaction under generation `to`, then switched to from `from`. */
export interface GenerationSwitch {
  partition: string;
  from: string;
  to: string;
  lines: LineSetChange;
}

/**
 * Everything a commit writes, built before anything is written: the headers (their items are
 * made at commit, once the outbox numbers they record are known), the other items of the
 * transaction with what each stands for, the outbox entries to number, and the line sets too large
 * for the transaction.
 */
export interface CommitPlan {
  tenantId: string;
  headers: HeaderWrite[];
  items: TransactItem[];
  roles: TransactionRole[];
  entries: Mirror[];
  switched: GenerationSwitch[];
}

/** What planning needs beyond the change set: the table, the time, fresh ids, and read hints. */
export interface PlanContext {
  tableName: string;
  /** The store's clock, read once for the commit. */
  now: number;
  /** A new line-set generation id, unique. */
  newGeneration(): string;
  /** The audit key's suffix: keeps entries of one millisecond apart and in write order. */
  auditSuffix(): string;
  /** The pipeline listing an opportunity header had at `version` when read (see `ListingHints`). */
  listingAt(partition: string, version: number | null): string | null | undefined;
}

interface Side {
  partition: string;
  record: { version: number | null; lineGeneration: string };
  lines: LineSetChange;
}

/**
 * Plans the commit of a decision's `ChangeSet`: one TransactWriteItems whose header conditions
 * (`version = :read`) make it fail whole when any record it read has changed. Line sets too large
 * for one transaction are planned under a new generation no reader looks at, switched to by the
 * same conditional header write. Refuses (InvalidEvent) a decision with an item DynamoDB would
 * reject, before anything is written. No I/O.
 */
export function planCommit(changes: ChangeSet, context: PlanContext): CommitPlan {
  const sides = changedSides(changes);
  const entries = changes.outbox.flatMap(splitMirror);
  const switched = planSwitches(sides, fixedItemCount(changes, entries.length), context);
  const generationOf = (partition: string, current: string) =>
    switched.find((entry) => entry.partition === partition)?.to ?? current;
  const plan: CommitPlan = {
    tenantId: changes.tenantId,
    headers: [],
    items: [],
    roles: [],
    entries,
    switched,
  };
  const add = (item: TransactItem, role: TransactionRole = { kind: "other" }) => {
    plan.items.push(item);
    plan.roles.push(role);
  };
  planOpportunity(changes, context, generationOf, plan, add);
  planQuotes(changes, context, generationOf, plan, add);
  for (const side of sides) {
    if (switched.some((entry) => entry.partition === side.partition)) continue;
    for (const syncKey of side.lines.changed) {
      const line = side.lines.all.get(syncKey);
      if (line) add(put(context, lineItem(side.partition, side.record.lineGeneration, line)));
    }
  }
  for (const { kind, id, version } of changes.unchanged ?? []) {
    const partition =
      kind === "opportunity"
        ? keys.opportunityPartition(changes.tenantId, id)
        : keys.quotePartition(changes.tenantId, id);
    plan.headers.push({ partition, label: `${kind} ${id}`, readVersion: version });
  }
  for (const { opportunityId, entry } of changes.audit) {
    add(put(context, auditItem(changes.tenantId, opportunityId, entry, context.auditSuffix())));
  }
  if (changes.processedEvent) add(processedEventPut(changes, context), processedRole(changes));
  assertFits(plan);
  return plan;
}

/** The sides whose line sets the decision changed. */
function changedSides(changes: ChangeSet): Side[] {
  const { tenantId } = changes;
  const sides: Side[] = [];
  if (changes.opportunity?.lines) {
    const { record, lines } = changes.opportunity;
    sides.push({ partition: keys.opportunityPartition(tenantId, record.id), record, lines });
  }
  for (const { record, lines } of changes.quotes) {
    if (lines) sides.push({ partition: keys.quotePartition(tenantId, record.id), record, lines });
  }
  return sides;
}

/** Items of the transaction other than changed lines (a pipeline entry counted whether or not written). */
function fixedItemCount(changes: ChangeSet, entryCount: number): number {
  return (
    (changes.opportunity ? 2 : 0) +
    changes.quotes.length +
    changes.quotes.filter((quote) => quote.linked && quote.record.opportunityId).length +
    (changes.unchanged?.length ?? 0) +
    changes.audit.length +
    (changes.processedEvent ? 1 : 0) +
    entryCount
  );
}

/** Lines go into the transaction while they fit; the largest sets switch generation first. */
function planSwitches(sides: Side[], fixedCount: number, context: PlanContext): GenerationSwitch[] {
  let inPlace = sides.reduce((sum, side) => sum + side.lines.changed.size, 0);
  const switched: GenerationSwitch[] = [];
  for (const side of [...sides].sort((a, b) => b.lines.changed.size - a.lines.changed.size)) {
    if (fixedCount + inPlace <= TRANSACTION_LIMIT) break;
    // A set read by key holds only some lines: it is written in place, never copied whole.
    if (side.lines.partial) throw new Error("a line set read by key cannot switch generation");
    switched.push({
      partition: side.partition,
      from: side.record.lineGeneration,
      to: context.newGeneration(),
      lines: side.lines,
    });
    inPlace -= side.lines.changed.size;
  }
  return switched;
}

type GenerationOf = (partition: string, current: string) => string;
type Add = (item: TransactItem, role?: TransactionRole) => void;

function planOpportunity(
  changes: ChangeSet,
  context: PlanContext,
  generationOf: GenerationOf,
  plan: CommitPlan,
  add: Add,
): void {
  if (!changes.opportunity) return;
  const { record } = changes.opportunity;
  const partition = keys.opportunityPartition(changes.tenantId, record.id);
  const stored = { ...record, lineGeneration: generationOf(partition, record.lineGeneration) };
  const listing = listingOf(stored);
  plan.headers.push({
    partition,
    label: `opportunity ${record.id}`,
    readVersion: record.version,
    stored,
    index: opportunityIndex(stored),
    listing,
  });
  if (context.listingAt(partition, record.version) !== listing) add(pipelineEntry(context, stored));
}

function planQuotes(
  changes: ChangeSet,
  context: PlanContext,
  generationOf: GenerationOf,
  plan: CommitPlan,
  add: Add,
): void {
  for (const { record, linked } of changes.quotes) {
    const partition = keys.quotePartition(changes.tenantId, record.id);
    const stored = { ...record, lineGeneration: generationOf(partition, record.lineGeneration) };
    plan.headers.push({
      partition,
      label: `quote ${record.id}`,
      readVersion: record.version,
      stored,
      index: quoteIndex(stored),
    });
    if (linked && record.opportunityId) {
      // The reference lets the status list an opportunity's quotes without a scan.
      const pk = keys.opportunityPartition(changes.tenantId, record.opportunityId);
      add(put(context, { pk, sk: keys.quoteRef(record.id), quoteId: record.id }));
    }
  }
}

function put(context: PlanContext, Item: Record<string, unknown>): TransactItem {
  return { Put: { TableName: context.tableName, Item } };
}

function processedEventPut(changes: ChangeSet, context: PlanContext): TransactItem {
  const { key, response } = changes.processedEvent as NonNullable<ChangeSet["processedEvent"]>;
  const json = JSON.stringify(response);
  return {
    Put: {
      TableName: context.tableName,
      Item: {
        ...keys.processedEvent(changes.tenantId, key),
        response: json.length > COMPRESS_ABOVE ? gzipSync(json) : json,
        at: new Date(context.now).toISOString(),
      },
      // Exactly one delivery of an event commits; a concurrent copy fails here as a whole.
      ConditionExpression: "attribute_not_exists(pk)",
    },
  };
}

function processedRole(changes: ChangeSet): TransactionRole {
  return { kind: "processed", eventKey: changes.processedEvent?.key ?? "" };
}

/** Synced opportunities carry the sparse index key the scheduled audit pages through. */
function opportunityIndex(record: OpportunityRecord): Record<string, string> {
  return record.syncedQuoteId && !record.deleted
    ? { gsi1pk: keys.syncedPairsIndex(record.tenantId), gsi1sk: record.id }
    : {};
}

/** Synced quotes with pending changes carry the sparse index key the scheduled push pages through. */
function quoteIndex(record: QuoteRecord): Record<string, string> {
  return record.syncing && record.pendingChanges > 0 && !record.deleted
    ? { gsi1pk: keys.pendingQuotesIndex(record.tenantId), gsi1sk: record.id }
    : {};
}

/**
 * The opportunity's entry in the tenant's pipeline list, kept in the same transaction as its
 * header (so the list never names an opportunity that was not committed): present while the
 * opportunity is known and not deleted, with a `gsi1` entry under its stage and the values the
 * page sorts by. Written when the listing changes (see `ListingHints`).
 */
function pipelineEntry(context: PlanContext, record: OpportunityRecord): TransactItem {
  const Key = { pk: keys.opportunitiesPartition(record.tenantId), sk: record.id };
  if (!record.known || record.deleted) return { Delete: { TableName: context.tableName, Key } };
  return put(context, pipelineEntryItem(record));
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

/**
 * Refuses a decision DynamoDB would reject, before anything is written — the outbox counter
 * included: an item over 400 KB is a clear 422 rather than a ValidationException mid-commit (JSON
 * length over-approximates DynamoDB's size, so what passes fits); more writes than one
 * transaction takes is a fault of the planner.
 */
function assertFits(plan: CommitPlan): void {
  const count = plan.headers.length + plan.items.length + plan.entries.length;
  if (count > TRANSACTION_LIMIT)
    throw new Error(`a decision needs ${count} writes; the limit is ${TRANSACTION_LIMIT}`);
  const items = [
    ...plan.headers.map((header) => header.stored),
    ...plan.items.map((item) => item.Put?.Item),
    ...plan.entries.map((mirror) => ({ mirror })),
    ...plan.switched.flatMap((entry) => [...entry.lines.all.values()].map((line) => ({ line }))),
  ];
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
