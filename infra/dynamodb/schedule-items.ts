import {
  DeleteCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
} from "@aws-sdk/lib-dynamodb";
import type { DriftFinding, ScheduleCheckpoint } from "../../domain/schedule.js";
import type { Page } from "../../domain/store.js";
import { decodeDriftCursor, encodeKeyCursor } from "./cursors.js";
import { translateStorageError } from "./errors.js";
import { keys } from "./keys.js";

const INDEX = "gsi1";

/**
 * The scheduled function's items: pages of the sparse index `gsi1` (tenants, synced quotes with
 * pending changes, synced opportunities — never a table scan), its checkpoint, and each tenant's
 * drift report.
 */
export class ScheduleItems {
  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  /**
   * One page of ids under a sparse index partition, in id order after `after`. The index is
   * KEYS_ONLY and eventually consistent; callers re-read what they act on.
   */
  async indexPage(partition: string, after: string | null, limit: number): Promise<Page<string>> {
    const result = await guard(
      this.doc.send(
        new QueryCommand({
          TableName: this.tableName,
          IndexName: INDEX,
          KeyConditionExpression: after === null ? "gsi1pk = :pk" : "gsi1pk = :pk AND gsi1sk > :after",
          ExpressionAttributeValues: { ":pk": partition, ...(after === null ? {} : { ":after": after }) },
          Limit: limit,
        }),
      ),
    );
    const entries = (result.Items ?? []).map((item) => String(item.gsi1sk));
    return { entries, next: result.LastEvaluatedKey ? (entries.at(-1) ?? null) : null };
  }

  async loadCheckpoint(): Promise<ScheduleCheckpoint | null> {
    const result = await guard(
      this.doc.send(
        new GetCommand({ TableName: this.tableName, Key: keys.scheduleCheckpoint, ConsistentRead: true }),
      ),
    );
    if (!result.Item) return null;
    return { ...(result.Item.checkpoint as ScheduleCheckpoint), version: result.Item.version as number };
  }

  /** Conditional on the version read, so two overlapping runs cannot move the cursor backwards. */
  async saveCheckpoint(checkpoint: ScheduleCheckpoint): Promise<boolean> {
    const { version, ...positions } = checkpoint;
    try {
      await this.doc.send(
        new PutCommand({
          TableName: this.tableName,
          Item: { ...keys.scheduleCheckpoint, version: (version ?? 0) + 1, checkpoint: positions },
          ...(version === null
            ? { ConditionExpression: "attribute_not_exists(pk)" }
            : {
                ConditionExpression: "#version = :read",
                ExpressionAttributeNames: { "#version": "version" },
                ExpressionAttributeValues: { ":read": version },
              }),
        }),
      );
      return true;
    } catch (error) {
      if ((error as { name?: string }).name === "ConditionalCheckFailedException") return false;
      throw translateStorageError(error);
    }
  }

  async loadDriftFinding(tenantId: string, opportunityId: string): Promise<DriftFinding | null> {
    const result = await guard(
      this.doc.send(
        new GetCommand({
          TableName: this.tableName,
          Key: { pk: keys.driftPartition(tenantId), sk: opportunityId },
          ConsistentRead: true,
        }),
      ),
    );
    return result.Item ? (result.Item.finding as DriftFinding) : null;
  }

  /** Unconditional: only the scheduled audit writes findings, and the last check is the truth. */
  async saveDriftFinding(tenantId: string, finding: DriftFinding): Promise<void> {
    await guard(
      this.doc.send(
        new PutCommand({
          TableName: this.tableName,
          Item: { pk: keys.driftPartition(tenantId), sk: finding.opportunityId, finding },
        }),
      ),
    );
  }

  async deleteDriftFinding(tenantId: string, opportunityId: string): Promise<void> {
    await guard(
      this.doc.send(
        new DeleteCommand({
          TableName: this.tableName,
          Key: { pk: keys.driftPartition(tenantId), sk: opportunityId },
        }),
      ),
    );
  }

  async readDriftReport(tenantId: string, cursor: string | null, limit: number): Promise<Page<DriftFinding>> {
    const after = cursor === null ? null : decodeDriftCursor(cursor);
    const result = await guard(
      this.doc.send(
        new QueryCommand({
          TableName: this.tableName,
          KeyConditionExpression: after === null ? "pk = :pk" : "pk = :pk AND sk > :after",
          ExpressionAttributeValues: {
            ":pk": keys.driftPartition(tenantId),
            ...(after === null ? {} : { ":after": after }),
          },
          Limit: limit,
        }),
      ),
    );
    const items = result.Items ?? [];
    const last = items.at(-1);
    return {
      entries: items.map((item) => item.finding as DriftFinding),
      next: result.LastEvaluatedKey && last ? encodeKeyCursor(String(last.sk)) : null,
    };
  }
}

async function guard<T>(request: Promise<T>): Promise<T> {
  try {
    return await request;
  } catch (error) {
    throw translateStorageError(error);
  }
}
