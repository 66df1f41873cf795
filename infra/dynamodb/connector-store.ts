import {
  BatchGetCommand,
  DeleteCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
} from "@aws-sdk/lib-dynamodb";
import type { ConnectorRecord, ConnectorStore } from "../../connectors/applier.js";
import { translateStorageError } from "./errors.js";
import { keys } from "./keys.js";

/** `ConnectorStore` on the quotesync table: items `T#<tenant>#CX / <key>`, versioned, optional TTL. */
export class DynamoConnectorStore implements ConnectorStore {
  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly tableName: string,
    private readonly clock: () => number = Date.now,
  ) {}

  async get(tenantId: string, key: string): Promise<ConnectorRecord | null> {
    try {
      const { Item } = await this.doc.send(
        new GetCommand({
          TableName: this.tableName,
          Key: keys.connectorRecord(tenantId, key),
          ConsistentRead: true,
        }),
      );
      return this.live(Item);
    } catch (error) {
      throw translateStorageError(error);
    }
  }

  async getMany(tenantId: string, wanted: readonly string[]): Promise<Map<string, ConnectorRecord>> {
    const found = new Map<string, ConnectorRecord>();
    const unique = [...new Set(wanted)];
    try {
      for (let start = 0; start < unique.length; start += 100) {
        let requestKeys = unique.slice(start, start + 100).map((key) => keys.connectorRecord(tenantId, key));
        for (let attempt = 0; requestKeys.length > 0; attempt++) {
          const answer = await this.doc.send(
            new BatchGetCommand({
              RequestItems: { [this.tableName]: { Keys: requestKeys, ConsistentRead: true } },
            }),
          );
          for (const item of answer.Responses?.[this.tableName] ?? []) {
            const record = this.live(item);
            if (record) found.set(String(item.sk), record);
          }
          requestKeys = (answer.UnprocessedKeys?.[this.tableName]?.Keys ?? []) as typeof requestKeys;
          if (requestKeys.length > 0) {
            if (attempt >= 5)
              throw Object.assign(new Error("unprocessed keys"), { name: "ThrottlingException" });
            await new Promise((resolve) => setTimeout(resolve, 20 * 2 ** attempt * Math.random()));
          }
        }
      }
      return found;
    } catch (error) {
      throw translateStorageError(error);
    }
  }

  async put(
    tenantId: string,
    key: string,
    value: unknown,
    expectedVersion: number | null,
    ttlSeconds?: number,
  ): Promise<boolean> {
    const item: Record<string, unknown> = {
      ...keys.connectorRecord(tenantId, key),
      value,
      version: (expectedVersion ?? 0) + 1,
    };
    if (ttlSeconds !== undefined) item.expiresAt = Math.floor(this.clock() / 1000) + ttlSeconds;
    try {
      await this.doc.send(
        new PutCommand({
          TableName: this.tableName,
          Item: item,
          // Compare-and-set on the version read: two functions racing for one record (a token
          // bucket, a refreshed token) cannot both win; the loser reloads.
          // "Must not exist" also holds for a record past its TTL that DynamoDB has not removed yet.
          ...(expectedVersion === null
            ? {
                ConditionExpression: "attribute_not_exists(pk) OR expiresAt <= :now",
                ExpressionAttributeValues: { ":now": Math.floor(this.clock() / 1000) },
              }
            : {
                ConditionExpression: "version = :expected",
                ExpressionAttributeValues: { ":expected": expectedVersion },
              }),
        }),
      );
      return true;
    } catch (error) {
      if ((error as Error).name === "ConditionalCheckFailedException") return false;
      throw translateStorageError(error);
    }
  }

  async delete(tenantId: string, key: string): Promise<void> {
    try {
      await this.doc.send(
        new DeleteCommand({ TableName: this.tableName, Key: keys.connectorRecord(tenantId, key) }),
      );
    } catch (error) {
      throw translateStorageError(error);
    }
  }

  /** A record whose TTL has passed may outlive it in DynamoDB for a while: treat it as gone. */
  private live(item: Record<string, unknown> | undefined): ConnectorRecord | null {
    if (!item) return null;
    if (typeof item.expiresAt === "number" && item.expiresAt * 1000 <= this.clock()) return null;
    return { value: item.value, version: Number(item.version) };
  }
}
