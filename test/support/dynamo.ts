import { randomUUID } from "node:crypto";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient, paginateScan } from "@aws-sdk/lib-dynamodb";
import { inject } from "vitest";
import { deleteTable, ensureTable } from "../../infra/create-table.js";
import { localDynamoClientConfig } from "../../infra/dynamodb-local.js";

export interface TestTable {
  client: DynamoDBClient;
  doc: DynamoDBDocumentClient;
  tableName: string;
  /** Deletes the table and destroys the clients. */
  dispose(): Promise<void>;
}

let shared: { client: DynamoDBClient; doc: DynamoDBDocumentClient } | undefined;

function clients(): { client: DynamoDBClient; doc: DynamoDBDocumentClient } {
  if (!shared) {
    const client = new DynamoDBClient(localDynamoClientConfig(inject("dynamoEndpoint")));
    shared = { client, doc: DynamoDBDocumentClient.from(client) };
  }
  return shared;
}

/**
 * A fresh, uniquely named quotesync table on the run's shared DynamoDB Local (started by
 * `test/global-setup.ts`), so test files never see each other's items.
 */
export async function createTestTable(options: { stream?: boolean } = {}): Promise<TestTable> {
  const client = new DynamoDBClient(localDynamoClientConfig(inject("dynamoEndpoint")));
  const doc = DynamoDBDocumentClient.from(client);
  const tableName = `quotesync-test-${randomUUID()}`;
  await ensureTable(client, tableName, options);
  return {
    client,
    doc,
    tableName,
    async dispose() {
      try {
        await deleteTable(client, tableName);
      } finally {
        client.destroy();
      }
    },
  };
}

/** Every item of the table (unmarshalled), sorted by pk then sk: handy to prove "nothing written". */
export async function scanAll(tableName: string): Promise<Record<string, unknown>[]> {
  const items: Record<string, unknown>[] = [];
  for await (const page of paginateScan(
    { client: clients().doc },
    { TableName: tableName, ConsistentRead: true },
  )) {
    items.push(...(page.Items ?? []));
  }
  const key = (item: Record<string, unknown>, name: string): string => String(item[name] ?? "");
  return items.sort((a, b) => compare(key(a, "pk"), key(b, "pk")) || compare(key(a, "sk"), key(b, "sk")));
}

/**
 * Every item but the outbox's bookkeeping: its counter, and the void markers of sequence numbers a
 * decision took ahead of its reads and did not use (no reader ever returns them). What a refused
 * or repeated event must leave exactly as it was; real outbox entries are included.
 */
export async function scanState(tableName: string): Promise<Record<string, unknown>[]> {
  return (await scanAll(tableName)).filter(
    (item) => !String(item.pk).endsWith("#OUTBOX#SEQ") && !(String(item.pk).endsWith("#OUTBOX") && item.void),
  );
}

/**
 * The tenant's outbox numbers taken from its counter but neither written nor voided: each holds
 * back every outbox reader until the gap's grace period ends.
 */
export async function outboxGaps(tableName: string, tenantId = "demo"): Promise<number[]> {
  const items = await scanAll(tableName);
  const counter = items.find((item) => item.pk === `T#${tenantId}#OUTBOX#SEQ`);
  const present = new Set(
    items.filter((item) => item.pk === `T#${tenantId}#OUTBOX`).map((item) => Number(item.sk)),
  );
  const gaps: number[] = [];
  for (let sequence = 1; sequence <= Number(counter?.seq ?? 0); sequence++) {
    if (!present.has(sequence)) gaps.push(sequence);
  }
  return gaps;
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
