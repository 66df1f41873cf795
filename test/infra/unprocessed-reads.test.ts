import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import type { OpportunityRecord, QuoteRecord, StoredLine } from "../../domain/model.js";
import { placeholderOpportunity, placeholderQuote } from "../../domain/records.js";
import { DynamoSyncStore } from "../../infra/dynamodb/store.js";
import { localDynamoClientConfig } from "../../infra/dynamodb-local.js";
import { createTestTable, dynamoEndpoint, type TestTable } from "../support/dynamo.js";
import { aStoredLine } from "../support/stored-line.js";

/**
 * Reads by key when DynamoDB leaves keys unprocessed (BatchGetItem's answer under load, made here by
 * middleware in front of DynamoDB Local): the keys are read again until every item is in.
 */
let table: TestTable;
let client: DynamoDBClient;
let store: DynamoSyncStore;
/** BatchGetItem calls answered with every key unprocessed (not sent), before the real ones. */
let unprocessedAnswers = 0;
let batchGets = 0;

beforeAll(async () => {
  table = await createTestTable();
  client = new DynamoDBClient(localDynamoClientConfig(dynamoEndpoint()));
  client.middlewareStack.add(
    (next, context) => async (args) => {
      if (context.commandName !== "BatchGetItemCommand") return next(args);
      batchGets++;
      if (unprocessedAnswers > 0) {
        unprocessedAnswers--;
        const { RequestItems } = args.input as { RequestItems: Record<string, { Keys: unknown[] }> };
        const unprocessed = Object.fromEntries(
          Object.entries(RequestItems).map(([name, request]) => [name, { Keys: request.Keys }]),
        );
        return {
          output: { Responses: {}, UnprocessedKeys: unprocessed, $metadata: {} },
          response: {},
        } as never;
      }
      return next(args);
    },
    { step: "initialize", name: "unprocessedKeys" },
  );
  store = new DynamoSyncStore({
    doc: DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } }),
    tableName: table.tableName,
  });
  const line: StoredLine = aStoredLine("k1", { name: "Line" });

  const opportunity: OpportunityRecord = { ...placeholderOpportunity("ur", "o-1"), known: true, stage: "S" };
  const quote = (id: string): QuoteRecord => ({
    ...placeholderQuote("ur", id),
    known: true,
    opportunityId: "o-1",
  });
  await store.commit({
    tenantId: "ur",
    opportunity: { record: opportunity },
    quotes: [
      {
        record: quote("q-1"),
        linked: true,
        lines: { all: new Map([["k1", line]]), changed: new Set(["k1"]) },
      },
      { record: quote("q-2"), linked: true },
    ],
    outbox: [],
    audit: [],
  });
});
afterEach(() => {
  unprocessedAnswers = 0;
  batchGets = 0;
  vi.restoreAllMocks();
});
afterAll(async () => {
  client.destroy();
  await table.dispose();
});

describe("reads by key with unprocessed keys (DynamoDB Local)", () => {
  it("a pair's headers and lines: read again until every key is in", async () => {
    vi.spyOn(Math, "random").mockReturnValue(0); // no backoff: the waits are not what is tested
    unprocessedAnswers = 2;
    const pair = await store.loadPairLines("ur", { quoteId: "q-1", opportunityId: "o-1", syncKeys: ["k1"] });
    // Twice unprocessed, then the headers; then the lines, under the generation the header names.
    expect(batchGets).toBe(4);
    expect(pair.opportunity?.header.id).toBe("o-1");
    expect(pair.quote?.header.id).toBe("q-1");
    expect([...(pair.quote?.lines.keys() ?? [])]).toEqual(["k1"]);
  });

  it("the quotes of an opportunity: read again until every header is in", async () => {
    unprocessedAnswers = 1;
    const quotes = await store.listQuotesOfOpportunity("ur", "o-1");
    expect(batchGets).toBe(2);
    expect(quotes.map((quote) => quote.id)).toEqual(["q-1", "q-2"]);
  });

  it("headers for the pipeline page: read again until every header is in", async () => {
    unprocessedAnswers = 1;
    const headers = await store.loadQuoteHeaders("ur", ["q-1", "q-2", "q-1"]);
    expect(batchGets).toBe(2);
    expect(headers.map((quote) => quote.id).sort()).toEqual(["q-1", "q-2"]);
  });
});
