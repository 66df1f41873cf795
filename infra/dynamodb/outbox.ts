import { type DynamoDBDocumentClient, PutCommand, QueryCommand, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import type { Mirror } from "../../domain/model.js";
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

type Item = {
  Put: { TableName: string; Item: Record<string, unknown>; ConditionExpression: string };
};

/**
 * The tenant's outbox: every mirror, in one total order a connector can poll with `after=`.
 * Order comes from an atomic counter (UpdateItem ADD, which never conflicts); the entries are
 * written in the same transaction as the state change. A failed transaction leaves a gap that is
 * marked void; a crashed writer's gap is skipped by readers after GAP_GRACE_MS. So a cursor only
 * moves past an entry that is written or can never be written: nothing is missed or repeated.
 */
export class OutboxLog {
  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly tableName: string,
    private readonly clock: () => number,
  ) {}

  /** Large mirrors become several entries; each is a valid mirror on its own (upserts are idempotent). */
  split(mirror: Mirror): Mirror[] {
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

  entryCount(mirrors: Mirror[]): number {
    return mirrors.reduce((sum, mirror) => sum + this.split(mirror).length, 0);
  }

  /**
   * Allocates sequence numbers for the mirrors and hands their items to `write`, which must
   * commit them atomically with the state change. If `write` fails, the numbers are voided.
   */
  async appendWithin(
    tenantId: string,
    mirrors: Mirror[],
    write: (items: Item[]) => Promise<void>,
  ): Promise<void> {
    const entries = mirrors.flatMap((mirror) => this.split(mirror));
    if (entries.length === 0) return write([]);
    const allocatedAt = this.clock();
    const last = await this.allocate(tenantId, entries.length);
    const first = last - entries.length + 1;
    const at = new Date(this.clock()).toISOString();
    const items = entries.map((mirror, index) => ({
      Put: {
        TableName: this.tableName,
        Item: { pk: keys.outboxPartition(tenantId), sk: outboxSortKey(first + index), at, mirror },
        // A number voided after a failure whose outcome was unknown stays void: a late commit of
        // that transaction fails here as a whole, so no reader has skipped an entry it then gets.
        ConditionExpression: "attribute_not_exists(pk)",
      },
    }));
    try {
      if (this.clock() - allocatedAt > WRITE_DEADLINE_MS)
        throw new Error("outbox sequence allocation expired");
      await write(items);
    } catch (error) {
      await Promise.allSettled(entries.map((_, index) => this.markVoid(tenantId, first + index)));
      throw error;
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
    let position = after === null ? 0 : decodeCursor(after);
    const entries: OutboxEntry[] = [];
    let consumed: number | null = null;
    reading: while (entries.length < limit) {
      let result: { Items?: Record<string, unknown>[]; LastEvaluatedKey?: Record<string, unknown> };
      try {
        result = await this.doc.send(
          new QueryCommand({
            TableName: this.tableName,
            KeyConditionExpression: "pk = :pk AND sk > :after",
            ExpressionAttributeValues: {
              ":pk": keys.outboxPartition(tenantId),
              ":after": outboxSortKey(position),
            },
            ConsistentRead: true,
            Limit: limit - entries.length + 1,
          }),
        );
      } catch (error) {
        throw translateStorageError(error);
      }
      for (const item of result.Items ?? []) {
        const sequence = Number(item.sk);
        if (sequence !== position + 1 && this.clock() - Date.parse(String(item.at)) < GAP_GRACE_MS) {
          break reading; // an earlier entry may still be committing: stop before the gap
        }
        position = sequence;
        consumed = sequence;
        if (!item.void) {
          entries.push({
            cursor: encodeCursor(sequence),
            at: String(item.at),
            mirror: item.mirror as Mirror,
          });
          if (entries.length >= limit) break reading;
        }
      }
      if ((result.Items ?? []).length === 0 || !result.LastEvaluatedKey) break;
    }
    // Caught up: `next` repeats `after`, so a connector can always poll with the `next` it got.
    return { entries, next: consumed === null ? after : encodeCursor(consumed) };
  }
}

/** Cursors are opaque to connectors: base64url of the sequence number. */
export function encodeCursor(sequence: number): string {
  return Buffer.from(`o:${sequence}`).toString("base64url");
}

export function decodeCursor(cursor: string): number {
  const text = Buffer.from(cursor, "base64url").toString("utf8");
  const match = /^o:(\d{1,15})$/.exec(text);
  if (!match) throw new InvalidCursor(cursor);
  return Number(match[1]);
}

export class InvalidCursor extends Error {
  constructor(cursor: string, options?: ErrorOptions) {
    super(`invalid outbox cursor ${JSON.stringify(cursor.slice(0, 40))}`, options);
    this.name = "InvalidCursor";
  }
}
