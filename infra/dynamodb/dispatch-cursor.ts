import { type DynamoDBDocumentClient, GetCommand, QueryCommand, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import type { DispatchCursorStore, OutboxSource } from "../../connectors/dispatch.js";
import { translateStorageError } from "./errors.js";
import { keys } from "./keys.js";
import { decodeCursor, encodeCursor, type OutboxLog } from "./outbox.js";

/** The sparse gsi1 partition of tenants whose dispatch stopped at a gap with entries after it. */
export const DISPATCH_STALLED_INDEX = "DELIVERIES#DISPATCH";

/**
 * Where delivery stands in each tenant's outbox: the sequence number up to which every entry has
 * been put in its pair's queue. The stream only says "something was committed"; `deliver` reads the
 * outbox itself from this cursor, in the outbox's own total order (the reader stops at a number
 * still committing), so an entry is queued only after every earlier one of the tenant — whichever
 * shard, retry or concurrent invocation handed its record first.
 */
export class DispatchCursors implements DispatchCursorStore {
  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  private key(tenantId: string) {
    // Under `T#<tenant>#D#`: the delivery functions may write only there (serverless.yml).
    return { pk: `T#${tenantId}#D#DISPATCH`, sk: "CURSOR" };
  }

  /** The tenant's cursor, or null before its first delivery. */
  async get(tenantId: string): Promise<number | null> {
    try {
      const { Item } = await this.doc.send(
        new GetCommand({ TableName: this.tableName, Key: this.key(tenantId), ConsistentRead: true }),
      );
      return Item ? Number(Item.seq) : null;
    } catch (error) {
      throw translateStorageError(error);
    }
  }

  /**
   * Moves the cursor forward to `to` (creating it there); never backwards, so two invocations
   * dispatching the same range concurrently leave it at the furthest either reached.
   */
  async advance(tenantId: string, to: number): Promise<void> {
    try {
      await this.doc.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: this.key(tenantId),
          UpdateExpression: "SET seq = :to, tenantId = :tenant",
          ConditionExpression: "attribute_not_exists(seq) OR seq < :to",
          ExpressionAttributeValues: { ":to": to, ":tenant": tenantId },
        }),
      );
    } catch (error) {
      if ((error as Error).name === "ConditionalCheckFailedException") return;
      throw translateStorageError(error);
    }
  }

  /**
   * Starts a tenant's dispatch after the last outbox number handed out so far, unless it has a
   * cursor already: called when a tenant is registered with a side that delivers, so mirrors
   * committed from then on are delivered (none of its history is).
   */
  async startAtCounter(tenantId: string): Promise<void> {
    try {
      const { Item } = await this.doc.send(
        new GetCommand({
          TableName: this.tableName,
          Key: keys.outboxCounter(tenantId),
          ConsistentRead: true,
        }),
      );
      await this.doc.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: this.key(tenantId),
          UpdateExpression: "SET seq = if_not_exists(seq, :counter), tenantId = :tenant",
          ExpressionAttributeValues: { ":counter": Number(Item?.seq ?? 0), ":tenant": tenantId },
        }),
      );
    } catch (error) {
      throw translateStorageError(error);
    }
  }

  /** Marks the tenant for the retry pass: entries past a gap wait for it to resolve (or time out). */
  async markStalled(tenantId: string): Promise<void> {
    try {
      await this.doc.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: this.key(tenantId),
          UpdateExpression: "SET gsi1pk = :index, gsi1sk = :tenant, tenantId = :tenant",
          ExpressionAttributeValues: { ":index": DISPATCH_STALLED_INDEX, ":tenant": tenantId },
        }),
      );
    } catch (error) {
      throw translateStorageError(error);
    }
  }

  async clearStalled(tenantId: string): Promise<void> {
    try {
      await this.doc.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: this.key(tenantId),
          UpdateExpression: "REMOVE gsi1pk, gsi1sk",
          ConditionExpression: "attribute_exists(pk)",
        }),
      );
    } catch (error) {
      if ((error as Error).name === "ConditionalCheckFailedException") return;
      throw translateStorageError(error);
    }
  }

  /** A page of stalled tenants (the retry pass dispatches them again). */
  async stalled(
    limit: number,
    startKey?: Record<string, unknown>,
  ): Promise<{ tenantIds: string[]; next?: Record<string, unknown> }> {
    try {
      const result = await this.doc.send(
        new QueryCommand({
          TableName: this.tableName,
          IndexName: "gsi1",
          KeyConditionExpression: "gsi1pk = :index",
          ExpressionAttributeValues: { ":index": DISPATCH_STALLED_INDEX },
          Limit: limit,
          ...(startKey ? { ExclusiveStartKey: startKey } : {}),
        }),
      );
      return {
        tenantIds: (result.Items ?? []).map((item) => String(item.gsi1sk)),
        ...(result.LastEvaluatedKey ? { next: result.LastEvaluatedKey } : {}),
      };
    } catch (error) {
      throw translateStorageError(error);
    }
  }
}

/** The tenant's outbox as dispatch reads it: `OutboxLog.read` with numbers instead of cursors. */
export function outboxSource(log: OutboxLog): OutboxSource {
  return {
    async readAfter(tenantId, afterSeq, limit) {
      const page = await log.read(tenantId, afterSeq === 0 ? null : encodeCursor(tenantId, afterSeq), limit);
      const entries = page.entries.map((entry) => {
        const sequence = decodeCursor(entry.cursor, tenantId);
        return {
          tenantId,
          sequence,
          entryId: String(sequence),
          cursor: entry.cursor,
          at: entry.at,
          mirror: entry.mirror,
        };
      });
      return { entries, last: page.next === null ? afterSeq : decodeCursor(page.next, tenantId) };
    },
    lastHandedOut: (tenantId) => log.counterValue(tenantId),
  };
}
