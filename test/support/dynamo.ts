import { randomUUID } from "node:crypto";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient, paginateQuery, paginateScan } from "@aws-sdk/lib-dynamodb";
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

/**
 * The DynamoDB Local this test file uses: one of the run's (test/global-setup.ts), chosen by the
 * file's worker, so the workers' files spread over them and every table of one file is on one.
 */
export function dynamoEndpoint(): string {
  const endpoints = inject("dynamoEndpoints");
  const worker = Number(process.env.VITEST_POOL_ID ?? 1);
  return endpoints[worker % endpoints.length] as string;
}

let shared: { client: DynamoDBClient; doc: DynamoDBDocumentClient } | undefined;

function clients(): { client: DynamoDBClient; doc: DynamoDBDocumentClient } {
  if (!shared) {
    const client = new DynamoDBClient(localDynamoClientConfig(dynamoEndpoint()));
    shared = { client, doc: DynamoDBDocumentClient.from(client) };
  }
  return shared;
}

/**
 * A fresh, uniquely named quotesync table on this file's DynamoDB Local (`dynamoEndpoint()`,
 * started by `test/global-setup.ts`), so test files never see each other's items.
 */
export async function createTestTable(options: { stream?: boolean } = {}): Promise<TestTable> {
  const client = new DynamoDBClient(localDynamoClientConfig(dynamoEndpoint()));
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
 * decision took ahead of its reads and did not use (no reader ever returns them). Real outbox
 * entries are included. Prefer `writesBeyondVoidedNumbers` over two `scanAll`s: it also proves
 * the bookkeeping left no gap.
 */
export async function scanState(tableName: string): Promise<Record<string, unknown>[]> {
  return (await scanAll(tableName)).filter(
    (item) => !String(item.pk).endsWith("#OUTBOX#SEQ") && !(String(item.pk).endsWith("#OUTBOX") && item.void),
  );
}

/**
 * What was written between two `scanAll`s of the whole table, beyond one thing a request that
 * changes nothing may still write: the outbox numbers its decision took ahead of its reads (the
 * counter's advance), each voided. Fails when a number the counter advanced past has neither an
 * entry nor a void marker (a gap every outbox reader would wait on), or a void marker was written
 * for a number the counter did not advance past. Returns every other item added, changed or
 * removed (`[]`: the request wrote nothing else).
 */
export function writesBeyondVoidedNumbers(
  before: Record<string, unknown>[],
  after: Record<string, unknown>[],
  tenantId = "demo",
): Record<string, unknown>[] {
  const id = (item: Record<string, unknown>) => `${String(item.pk)}\u0000${String(item.sk)}`;
  const counterKey = `T#${tenantId}#OUTBOX#SEQ`;
  const outbox = `T#${tenantId}#OUTBOX`;
  const seq = (items: Record<string, unknown>[]) =>
    Number(items.find((item) => item.pk === counterKey)?.seq ?? 0);
  const [from, to] = [seq(before), seq(after)];
  const old = new Map(before.map((item) => [id(item), JSON.stringify(item)]));
  const now = new Map(after.map((item) => [id(item), item]));
  const other: Record<string, unknown>[] = [];
  for (const item of after) {
    if (old.get(id(item)) === JSON.stringify(item) || item.pk === counterKey) continue;
    if (item.pk === outbox && item.void && !old.has(id(item))) {
      const number = Number(item.sk);
      if (number <= from || number > to)
        throw new Error(`void marker ${number} outside the numbers taken (${from}, ${to}]`);
      continue;
    }
    other.push(item);
  }
  for (const item of before) if (!now.has(id(item))) other.push({ removed: item });
  for (let number = from + 1; number <= to; number++) {
    const written = after.some((item) => item.pk === outbox && Number(item.sk) === number);
    if (!written) throw new Error(`outbox number ${number} was taken but neither written nor voided`);
  }
  return other;
}

/**
 * The tenant's outbox numbers taken from its counter but neither written nor voided: each holds
 * back every outbox reader until the gap's grace period ends.
 */
export async function outboxGaps(tableName: string, tenantId = "demo"): Promise<number[]> {
  // The two partitions that matter, read whole (a scan of the whole table gets slow as it grows).
  const [items, counters] = await Promise.all([
    partition(tableName, `T#${tenantId}#OUTBOX`),
    partition(tableName, `T#${tenantId}#OUTBOX#SEQ`),
  ]);
  const counter = counters[0];
  const present = new Set(
    items.filter((item) => item.pk === `T#${tenantId}#OUTBOX`).map((item) => Number(item.sk)),
  );
  const gaps: number[] = [];
  for (let sequence = 1; sequence <= Number(counter?.seq ?? 0); sequence++) {
    if (!present.has(sequence)) gaps.push(sequence);
  }
  return gaps;
}

/** Every item of one partition (unmarshalled), read consistently. */
export async function partition(tableName: string, pk: string): Promise<Record<string, unknown>[]> {
  const items: Record<string, unknown>[] = [];
  for await (const page of paginateQuery(
    { client: clients().doc },
    {
      TableName: tableName,
      KeyConditionExpression: "pk = :pk",
      ExpressionAttributeValues: { ":pk": pk },
      ConsistentRead: true,
    },
  )) {
    items.push(...(page.Items ?? []));
  }
  return items;
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** The DynamoDB operations `client` sent while `work` ran, in order (`PutItem`, `Query`…). */
export async function callsOn(client: DynamoDBClient, work: () => Promise<unknown>): Promise<string[]> {
  const calls: string[] = [];
  client.middlewareStack.add(
    (next, context) => async (args) => {
      calls.push(String(context.commandName).replace(/Command$/, ""));
      return next(args);
    },
    { step: "initialize", name: "countCalls" },
  );
  try {
    await work();
  } finally {
    client.middlewareStack.remove("countCalls");
  }
  return calls;
}
