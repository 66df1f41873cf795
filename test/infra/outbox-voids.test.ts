import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { DynamoSyncStore } from "../../infra/dynamodb/store.js";
import { localDynamoClientConfig } from "../../infra/dynamodb-local.js";
import { createTestTable, dynamoEndpoint, outboxGaps, partition, type TestTable } from "../support/dynamo.js";

/**
 * Voiding outbox numbers a decision took and did not use (DynamoDB Local; faults on the void's
 * PutItem made by middleware): each void is tried three times, a number already filled is left
 * as it is, and a void that keeps failing leaves a gap readers wait out (never an error).
 */
let table: TestTable;
let client: DynamoDBClient;
let store: DynamoSyncStore;
let failures: Array<() => Error> = [];
let voidPuts = 0;
let tenants = 0;

beforeAll(async () => {
  table = await createTestTable();
  client = new DynamoDBClient(localDynamoClientConfig(dynamoEndpoint()));
  client.middlewareStack.add(
    (next, context) => async (args) => {
      if (context.commandName === "PutItemCommand") {
        voidPuts++;
        const failure = failures.shift();
        if (failure) throw failure();
      }
      return next(args);
    },
    { step: "initialize", name: "voidFaults" },
  );
  store = new DynamoSyncStore({ doc: DynamoDBDocumentClient.from(client), tableName: table.tableName });
});
afterEach(() => {
  failures = [];
  voidPuts = 0;
  vi.restoreAllMocks();
});
afterAll(async () => {
  client.destroy();
  await table.dispose();
});

const throttled = () => Object.assign(new Error("slow down"), { name: "ThrottlingException" });

async function voids(tenantId: string): Promise<number[]> {
  return (await partition(table.tableName, `T#${tenantId}#OUTBOX`))
    .filter((item) => item.void)
    .map((item) => Number(item.sk));
}

describe("voiding unused outbox numbers (DynamoDB Local)", () => {
  it("a void throttled twice is written on its third try", async () => {
    vi.spyOn(Math, "random").mockReturnValue(0); // no backoff: the waits are not what is tested
    const tenantId = `ov${++tenants}`;
    failures = [throttled, throttled];
    await store.beginCommit(tenantId, "unused").abandon();
    expect(voidPuts).toBe(3);
    expect(await voids(tenantId)).toEqual([1]);
    expect(await outboxGaps(table.tableName, tenantId)).toEqual([]);
  });

  it("a void throttled three times is given up: a gap, and no error", async () => {
    vi.spyOn(Math, "random").mockReturnValue(0);
    const tenantId = `ov${++tenants}`;
    failures = [throttled, throttled, throttled];
    await store.beginCommit(tenantId, "unused").abandon();
    expect(voidPuts).toBe(3);
    expect(await outboxGaps(table.tableName, tenantId)).toEqual([1]);
  });

  it("a number found filled already is left as it is, not tried again", async () => {
    const tenantId = `ov${++tenants}`;
    failures = [() => Object.assign(new Error("filled"), { name: "ConditionalCheckFailedException" })];
    await store.beginCommit(tenantId, "unused").abandon();
    expect(voidPuts).toBe(1);
  });
});
