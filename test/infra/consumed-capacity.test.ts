import { DescribeTableCommand, DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { placeholderOpportunity } from "../../domain/records.js";
import type { CapacityReport } from "../../infra/dynamodb/capacity.js";
import { DynamoSyncStore } from "../../infra/dynamodb/store.js";
import { localDynamoClientConfig } from "../../infra/dynamodb-local.js";
import { createTestTable, dynamoEndpoint, type TestTable } from "../support/dynamo.js";

/** The capacity figures a store hands to `onConsumedCapacity`, as DynamoDB Local reports them. */
let table: TestTable;
const clients: DynamoDBClient[] = [];

beforeAll(async () => {
  table = await createTestTable();
});
afterAll(async () => {
  for (const client of clients) client.destroy();
  await table.dispose();
});

function documentClient(): DynamoDBDocumentClient {
  const client = new DynamoDBClient(localDynamoClientConfig(dynamoEndpoint()));
  clients.push(client);
  return DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } });
}

const opportunity = (tenantId: string) => ({
  ...placeholderOpportunity(tenantId, "o-1"),
  known: true,
  stage: "S",
});

describe("onConsumedCapacity (DynamoDB Local)", () => {
  it("reports each data call once: its command, read or write, and the units DynamoDB counted", async () => {
    const reports: CapacityReport[] = [];
    const doc = documentClient();
    const store = new DynamoSyncStore({
      doc,
      tableName: table.tableName,
      onConsumedCapacity: (c) => reports.push(c),
    });

    await store.commit({
      tenantId: "cap",
      opportunity: { record: opportunity("cap") },
      quotes: [],
      outbox: [],
      audit: [],
    });
    expect(reports).toHaveLength(1);
    const [commit] = reports;
    expect(commit).toMatchObject({ operation: "TransactWriteItemsCommand", kind: "write" });
    // A header and its pipeline list item, each written (and conditioned) in a transaction.
    expect(commit?.units).toBeGreaterThanOrEqual(4);

    reports.length = 0;
    expect(await store.findTenantIdByHubSpotPortal(12)).toBeNull();
    expect(await store.loadOpportunity("cap", "o-1")).not.toBeNull();
    await store.loadPairLines("cap", { quoteId: "q-1", opportunityId: "o-1", syncKeys: [] });
    expect(reports.map(({ operation, kind }) => [operation, kind])).toEqual([
      ["GetItemCommand", "read"],
      ["QueryCommand", "read"],
      ["BatchGetItemCommand", "read"],
    ]);
    // Consistent reads of less than 4 KB each, as DynamoDB Local counts them.
    expect(reports.map((report) => report.units)).toEqual([1, 1, 1]);

    // Calls other than data reads and writes are not reported, nor asked for capacity.
    reports.length = 0;
    await doc.send(new DescribeTableCommand({ TableName: table.tableName }));
    expect(reports).toEqual([]);
  });

  it("one reporter per client: a second store on the same client takes the reports over", async () => {
    const first: CapacityReport[] = [];
    const second: CapacityReport[] = [];
    const doc = documentClient();
    new DynamoSyncStore({ doc, tableName: table.tableName, onConsumedCapacity: (c) => first.push(c) });
    const store = new DynamoSyncStore({
      doc,
      tableName: table.tableName,
      onConsumedCapacity: (c) => second.push(c),
    });
    await store.loadTenant("nobody");
    expect(first).toEqual([]);
    expect(second).toEqual([{ operation: "GetItemCommand", kind: "read", units: 1 }]);
  });
});
