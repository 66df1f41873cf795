import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import { StorageBusy } from "../../domain/errors.js";
import type { Mirror, StoredLine } from "../../domain/model.js";
import { placeholderQuote } from "../../domain/records.js";
import type { ChangeSet, LineSetChange } from "../../domain/store.js";
import { DynamoSyncStore } from "../../infra/dynamodb/store.js";
import { localDynamoClientConfig } from "../../infra/dynamodb-local.js";
import { createTestTable, dynamoEndpoint, outboxGaps, partition, type TestTable } from "../support/dynamo.js";
import { aStoredLine } from "../support/stored-line.js";

/**
 * The batches a large line set is written in before its generation switch (DynamoDB Local, the
 * calls watched by middleware): 25 lines each, at most four at once, none started after one failed.
 */
let table: TestTable;
let client: DynamoDBClient;
let store: DynamoSyncStore;
let inFlight = 0;
let mostInFlight = 0;
/** Sizes of the BatchWriteItem calls that put lines, in the order sent. */
const putBatches: number[] = [];
let failNextPut = false;
let failNextCounter = false;
/** Times the batch holding line k000 is answered with all its items unprocessed (not sent). */
let unprocessedAnswers = 0;
/** Sends of the batch holding line k000, answered or not. */
let firstBatchSends = 0;

beforeAll(async () => {
  table = await createTestTable();
  client = new DynamoDBClient(localDynamoClientConfig(dynamoEndpoint()));
  client.middlewareStack.add(
    (next, context) => async (args) => {
      if (context.commandName === "UpdateItemCommand" && failNextCounter) {
        failNextCounter = false;
        throw Object.assign(new Error("slow down"), { name: "ThrottlingException" });
      }
      if (context.commandName !== "BatchWriteItemCommand") return next(args);
      const requests = Object.values(
        (args.input as { RequestItems: Record<string, Array<{ PutRequest?: unknown }>> }).RequestItems,
      ).flat();
      if (!requests.some((request) => request.PutRequest)) return next(args);
      putBatches.push(requests.length);
      const first = requests[0] as { PutRequest?: { Item?: { sk?: string } } };
      if (first.PutRequest?.Item?.sk?.endsWith("#k000")) {
        firstBatchSends++;
        if (unprocessedAnswers > 0) {
          unprocessedAnswers--;
          const { RequestItems } = args.input as { RequestItems: unknown };
          return { output: { UnprocessedItems: RequestItems, $metadata: {} }, response: {} } as never;
        }
      }
      if (failNextPut) {
        failNextPut = false;
        throw Object.assign(new Error("refused"), { name: "ValidationException" });
      }
      inFlight++;
      mostInFlight = Math.max(mostInFlight, inFlight);
      try {
        return await next(args);
      } finally {
        inFlight--;
      }
    },
    { step: "initialize", name: "watchBatches" },
  );
  store = new DynamoSyncStore({
    doc: DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } }),
    tableName: table.tableName,
  });
});
afterAll(async () => {
  client.destroy();
  await table.dispose();
});
beforeEach(() => {
  putBatches.length = 0;
  mostInFlight = 0;
  failNextPut = false;
  failNextCounter = false;
  unprocessedAnswers = 0;
  firstBatchSends = 0;
});
afterEach(() => {
  vi.restoreAllMocks();
});

const storedLine = (syncKey: string): StoredLine => aStoredLine(syncKey, { name: syncKey });

function quoteWithLines(tenantId: string, count: number): ChangeSet {
  const all = new Map(
    Array.from({ length: count }, (_, index) => {
      const key = `k${String(index).padStart(3, "0")}`;
      return [key, storedLine(key)] as const;
    }),
  );
  const lines: LineSetChange = { all, changed: new Set(all.keys()) };
  return {
    tenantId,
    quotes: [{ record: { ...placeholderQuote(tenantId, "q-1"), known: true }, lines }],
    outbox: [],
    audit: [],
  };
}

describe("writing a switched line set in batches (DynamoDB Local)", () => {
  it("200 lines: eight batches of 25, at most four in flight", async () => {
    await store.commit(quoteWithLines("lb1", 200));
    expect(putBatches).toEqual([25, 25, 25, 25, 25, 25, 25, 25]);
    expect(mostInFlight).toBe(4);
    expect((await store.loadQuote("lb1", "q-1"))?.lines.size).toBe(200);
  });

  it("a failed batch: no batch starts after it, the commit fails, the quote is not written", async () => {
    failNextPut = true;
    await expect(store.commit(quoteWithLines("lb2", 200))).rejects.toMatchObject({
      name: "ValidationException",
    });
    // The failed one and the three sent beside it; the other four never start.
    expect(putBatches).toEqual([25, 25, 25, 25]);
    expect(await store.loadQuote("lb2", "q-1")).toBeNull();
    // The lines written by the batches beside it are deleted again.
    expect(await partition(table.tableName, "T#lb2#Q#q-1")).toEqual([]);
  });

  it("unprocessed items are sent again, up to nine sends of a batch; then StorageBusy", async () => {
    vi.spyOn(Math, "random").mockReturnValue(0); // no backoff: the waits are not what is tested
    unprocessedAnswers = 8;
    await store.commit(quoteWithLines("lb3", 125));
    expect(firstBatchSends).toBe(9);
    expect((await store.loadQuote("lb3", "q-1"))?.lines.size).toBe(125);

    firstBatchSends = 0;
    unprocessedAnswers = 9;
    await expect(store.commit(quoteWithLines("lb4", 125))).rejects.toBeInstanceOf(StorageBusy);
    expect(firstBatchSends).toBe(9);
    expect(await store.loadQuote("lb4", "q-1")).toBeNull();
  });

  it("a failed batch beside the entries' numbering: the numbers taken are voided", async () => {
    failNextPut = true;
    const changes = { ...quoteWithLines("lb5", 100), outbox: [mirrorOf("lb5")] };
    await expect(store.commit(changes)).rejects.toMatchObject({ name: "ValidationException" });
    expect(await outboxGaps(table.tableName, "lb5")).toEqual([]);
    expect(await store.readOutbox("lb5", null, 10)).toEqual({ entries: [], next: expect.any(String) });
  });

  it("a failed batch while the numbering failed too: the batch's error, not another", async () => {
    failNextPut = true;
    failNextCounter = true;
    const changes = { ...quoteWithLines("lb6", 100), outbox: [mirrorOf("lb6")] };
    await expect(store.commit(changes)).rejects.toMatchObject({ name: "ValidationException" });
    expect(await store.loadQuote("lb6", "q-1")).toBeNull();
  });
});

function mirrorOf(tenantId: string): Mirror {
  return {
    target: "crm",
    opportunityId: "o-1",
    quoteId: "q-1",
    quote: { syncing: true, fields: { tenantId } },
  };
}
