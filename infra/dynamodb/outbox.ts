import {
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  UpdateCommand,
} from "@aws-sdk/lib-dynamodb";
import type { Mirror } from "../../domain/model.js";
import { cursorPastEnd, decodeOutboxCursor, encodeOutboxCursor } from "../../domain/page-cursors.js";
import type { OutboxEntry, Page } from "../../domain/store.js";
import { translateStorageError } from "./errors.js";
import { keys, outboxSortKey } from "./keys.js";

/** Lines per outbox entry: keeps every entry well under DynamoDB's 400 KB item limit. */
const LINES_PER_ENTRY = 400;
/**
 * A sequence number allocated but not written after this long is abandoned: its writer gives up
 * well before (see `WRITE_DEADLINE_MS`), so readers may skip the gap without missing an entry.
 */
export const GAP_GRACE_MS = 60_000;
const WRITE_DEADLINE_MS = 20_000;

/** Attempts at voiding one number (each after the SDK's own retries). */
const VOID_ATTEMPTS = 3;

/** Sequence numbers taken ahead of a decision (see `OutboxLog.reserve`); none if taking them failed. */
export interface Reservation {
  tenantId: string;
  allocatedAt: number;
  /** Consecutive and ascending. */
  sequences: Promise<number[]>;
  /**
   * Set once a commit (`OutboxLog.number`) or a release has taken charge of the numbers; whoever
   * set it writes or voids every one of them. A reservation nobody claimed is released by its owner.
   */
  claimed: boolean;
}

/** The numbers of one decision's entries: every header of its pair records `last`. */
export interface SequenceRange {
  first: number;
  last: number;
}

/**
 * Numbers handed to a commit, consecutive and ascending, one per entry. Whoever holds them writes
 * every one or voids them (`OutboxLog.voidAll`). `spareVoided` settles once the reserved numbers
 * the commit did not need are voided.
 */
export interface Numbering {
  tenantId: string;
  sequences: number[];
  allocatedAt: number;
  spareVoided: Promise<void>;
}

type Item = {
  Put: { TableName: string; Item: Record<string, unknown>; ConditionExpression: string };
};

/** Large mirrors become several entries; each is a valid mirror on its own (upserts are idempotent). */
export function splitMirror(mirror: Mirror): Mirror[] {
  const upsert = mirror.lines?.upsert ?? [];
  if (upsert.length <= LINES_PER_ENTRY) return [mirror];
  const parts: Mirror[] = [];
  for (let index = 0; index < upsert.length; index += LINES_PER_ENTRY) {
    const part: Mirror = {
      ...mirror,
      lines: {
        upsert: upsert.slice(index, index + LINES_PER_ENTRY),
        delete: index === 0 ? (mirror.lines?.delete ?? []) : [],
      },
    };
    if (index > 0) {
      delete part.opportunity;
      delete part.quote;
    }
    parts.push(part);
  }
  return parts;
}

/** How many outbox entries these mirrors take. */
export function entryCount(mirrors: Mirror[]): number {
  return mirrors.reduce((sum, mirror) => sum + splitMirror(mirror).length, 0);
}

/**
 * The tenant's outbox: every mirror, in one total order a connector can poll with `after=`.
 * Order comes from an atomic counter (UpdateItem ADD, which never conflicts); the entries are
 * written in the same transaction as the state change (`ChangeSetWriter`). Numbers a commit does
 * not write are marked void; a crashed writer's gap is skipped by readers after GAP_GRACE_MS. So a
 * cursor only moves past an entry that is written or can never be written: nothing is missed or
 * repeated. This class numbers and reads; it writes no entry itself.
 */
export class OutboxLog {
  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly tableName: string,
    private readonly clock: () => number,
  ) {}

  /**
   * Takes `count` sequence numbers now, before the decision that may use them has read anything,
   * so the counter call overlaps the reads instead of following them. Numbers taken this way can
   * be older than an entry a concurrent decision has since committed for the same pair; the header
   * conditions refuse them then (`outboxSeq < :first`), and the commit is renumbered. A failed
   * reservation is taken again at commit.
   */
  reserve(tenantId: string, count: number): Reservation {
    const sequences = this.allocate(tenantId, count).then(
      (last) => Array.from({ length: count }, (_, index) => last - count + 1 + index),
      () => [],
    );
    return { tenantId, allocatedAt: this.clock(), sequences, claimed: false };
  }

  /**
   * Voids a reservation no decision used, so readers need not wait out its gaps. Does nothing if
   * it was claimed already (by a commit or an earlier release). Never throws.
   */
  async release(reservation: Reservation): Promise<void> {
    if (reservation.claimed) return;
    reservation.claimed = true;
    await this.voidAll(reservation.tenantId, await reservation.sequences);
  }

  /**
   * Numbers `count` entries: with the reserved numbers first, if the reservation is unclaimed, in
   * time and (with entries to number) above `floor`, the highest number the pair's headers are
   * known to hold (a hint); then with freshly allocated ones. Reserved numbers left over are
   * voided beside (`spareVoided`); unusable ones before. On failure, nothing is left unvoided.
   */
  async number(tenantId: string, count: number, reservation?: Reservation, floor = 0): Promise<Numbering> {
    const claimed = reservation !== undefined && !reservation.claimed;
    if (reservation) reservation.claimed = true;
    let reserved = claimed ? await reservation.sequences : [];
    let allocatedAt = claimed ? reservation.allocatedAt : this.clock();
    if (this.expired(allocatedAt) || (count > 0 && (reserved[0] ?? 0) <= floor)) {
      await this.voidAll(tenantId, reserved);
      reserved = [];
    }
    const spareVoided = this.voidAll(tenantId, reserved.slice(count));
    const sequences = reserved.slice(0, count);
    const more = count - sequences.length;
    if (more > 0) {
      if (sequences.length === 0) allocatedAt = this.clock();
      try {
        const last = await this.allocate(tenantId, more);
        for (let sequence = last - more + 1; sequence <= last; sequence++) sequences.push(sequence);
      } catch (error) {
        await Promise.all([this.voidAll(tenantId, sequences), spareVoided]);
        throw error;
      }
    }
    return { tenantId, sequences, allocatedAt, spareVoided };
  }

  /**
   * True when numbers taken at `allocatedAt` are too old to write: a reader may already have
   * skipped them as abandoned.
   */
  expired(allocatedAt: number): boolean {
    return this.clock() - allocatedAt > WRITE_DEADLINE_MS;
  }

  /** The range of the numbers, or null when there are none. */
  range(numbering: Numbering): SequenceRange | null {
    const { sequences } = numbering;
    if (sequences.length === 0) return null;
    return { first: sequences[0] as number, last: sequences[sequences.length - 1] as number };
  }

  /** The entries' items under their numbers, for the commit's transaction, stamped with the clock. */
  entryItems(numbering: Numbering, entries: Mirror[]): Item[] {
    const at = new Date(this.clock()).toISOString();
    return entries.map((mirror, index) => ({
      Put: {
        TableName: this.tableName,
        Item: {
          pk: keys.outboxPartition(numbering.tenantId),
          sk: outboxSortKey(numbering.sequences[index] as number),
          at,
          mirror,
        },
        // A number voided after a failure whose outcome was unknown stays void: a late commit of
        // that transaction fails here as a whole, so no reader has skipped an entry it then gets.
        ConditionExpression: "attribute_not_exists(pk)",
      },
    }));
  }

  /**
   * Voids numbers that will not be written, each retried a few times (the tenant's outbox is one
   * partition: a throttle that refused the commit may well refuse its void). Best effort after
   * that: readers skip a gap after GAP_GRACE_MS. Never throws.
   */
  async voidAll(tenantId: string, sequences: number[]): Promise<void> {
    await Promise.allSettled(sequences.map((sequence) => this.voidWithRetries(tenantId, sequence)));
  }

  private async voidWithRetries(tenantId: string, sequence: number): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        await this.markVoid(tenantId, sequence);
        return;
      } catch (error) {
        // Written or voided already: nothing left to fill.
        if ((error as { name?: string }).name === "ConditionalCheckFailedException") return;
        if (attempt >= VOID_ATTEMPTS) throw error;
        await new Promise((resolve) => setTimeout(resolve, Math.random() * 25 * 2 ** attempt));
      }
    }
  }

  private async allocate(tenantId: string, count: number): Promise<number> {
    try {
      const result = await this.doc.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: keys.outboxCounter(tenantId),
          UpdateExpression: "ADD #seq :count",
          ExpressionAttributeNames: { "#seq": "seq" },
          ExpressionAttributeValues: { ":count": count },
          ReturnValues: "UPDATED_NEW",
        }),
      );
      return Number(result.Attributes?.seq);
    } catch (error) {
      throw translateStorageError(error);
    }
  }

  /** Fills an abandoned sequence number so readers need not wait for it (only if still empty). */
  private async markVoid(tenantId: string, sequence: number): Promise<void> {
    await this.doc.send(
      new PutCommand({
        TableName: this.tableName,
        Item: {
          pk: keys.outboxPartition(tenantId),
          sk: outboxSortKey(sequence),
          at: new Date(this.clock()).toISOString(),
          void: true,
        },
        ConditionExpression: "attribute_not_exists(pk)",
      }),
    );
  }

  async read(tenantId: string, after: string | null, limit: number): Promise<Page<OutboxEntry>> {
    const start = after === null ? 0 : decodeOutboxCursor(after, tenantId);
    let position = start;
    const entries: OutboxEntry[] = [];
    let consumed: number | null = null;
    // The first query also reads the cursor's own entry (written or void, it always exists), so
    // an idle poll learns in the same call that its cursor is one this outbox gave out.
    let cursorSeen = start === 0;
    reading: while (entries.length < limit) {
      const withCursor = !cursorSeen && position === start;
      let result: { Items?: Record<string, unknown>[]; LastEvaluatedKey?: Record<string, unknown> };
      try {
        result = await this.doc.send(
          new QueryCommand({
            TableName: this.tableName,
            KeyConditionExpression: withCursor ? "pk = :pk AND sk >= :after" : "pk = :pk AND sk > :after",
            ExpressionAttributeValues: {
              ":pk": keys.outboxPartition(tenantId),
              ":after": outboxSortKey(position),
            },
            ConsistentRead: true,
            Limit: limit - entries.length + (withCursor ? 2 : 1),
          }),
        );
      } catch (error) {
        throw translateStorageError(error);
      }
      for (const item of result.Items ?? []) {
        const sequence = Number(item.sk);
        if (sequence === start && !cursorSeen) {
          cursorSeen = true;
          continue;
        }
        if (sequence !== position + 1 && this.clock() - Date.parse(String(item.at)) < GAP_GRACE_MS) {
          break reading; // an earlier entry may still be committing: stop before the gap
        }
        position = sequence;
        consumed = sequence;
        if (!item.void) {
          entries.push({
            cursor: encodeOutboxCursor(tenantId, sequence),
            at: String(item.at),
            mirror: item.mirror as Mirror,
          });
          if (entries.length >= limit) break reading;
        }
      }
      if ((result.Items ?? []).length === 0 || !result.LastEvaluatedKey) break;
    }
    if (!cursorSeen && consumed === null && start > (await this.counterValue(tenantId))) {
      // A cursor no number was ever given for: another table (rebuilt, or the wrong stage), not
      // this one's. Polling on would return nothing forever; say so instead.
      throw cursorPastEnd(after ?? "");
    }
    // Caught up: `next` repeats `after`, so a connector can always poll with the `next` it got.
    return { entries, next: consumed === null ? after : encodeOutboxCursor(tenantId, consumed) };
  }

  /** The last sequence number handed out for the tenant (0 if none). */
  async counterValue(tenantId: string): Promise<number> {
    try {
      const result = await this.doc.send(
        new GetCommand({
          TableName: this.tableName,
          Key: keys.outboxCounter(tenantId),
          ConsistentRead: true,
        }),
      );
      return Number(result.Item?.seq ?? 0);
    } catch (error) {
      throw translateStorageError(error);
    }
  }
}

/** Outbox cursors are opaque to connectors (domain/page-cursors.ts). */
export { decodeOutboxCursor as decodeCursor, encodeOutboxCursor as encodeCursor };
