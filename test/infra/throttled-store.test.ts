import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { StorageBusy } from "../../domain/errors.js";
import { placeholderOpportunity } from "../../domain/records.js";
import { demoTenant } from "../../domain/tenant.js";
import { DynamoSyncStore } from "../../infra/dynamodb/store.js";
import { localDynamoClientConfig } from "../../infra/dynamodb-local.js";
import { createTestTable, dynamoEndpoint, scanAll, type TestTable } from "../support/dynamo.js";

/**
 * Every call of the DynamoDB store while DynamoDB throttles every request (middleware in front of
 * DynamoDB Local): each answers `StorageBusy` (a 503 with Retry-After at the edge), and nothing
 * is written. No call returns an empty answer for a throttled read.
 */
let table: TestTable;
let client: DynamoDBClient;
let store: DynamoSyncStore;

beforeAll(async () => {
  table = await createTestTable();
  client = new DynamoDBClient(localDynamoClientConfig(dynamoEndpoint()));
  client.middlewareStack.add(
    () => async () => {
      throw Object.assign(new Error("slow down"), { name: "ThrottlingException" });
    },
    { step: "initialize", name: "throttleAll" },
  );
  store = new DynamoSyncStore({ doc: DynamoDBDocumentClient.from(client), tableName: table.tableName });
});
afterAll(async () => {
  client.destroy();
  await table.dispose();
});

const T = "thr";
const finding = {
  opportunityId: "o-1",
  quoteId: "q-1",
  detectedAt: "2026-03-01T09:00:00.000Z",
  checkedAt: "2026-03-01T09:00:00.000Z",
  differences: [],
};

describe("the DynamoDB store when every request is throttled", () => {
  it("answers StorageBusy from every call and writes nothing", async () => {
    const calls: Array<[string, () => Promise<unknown>]> = [
      ["loadTenant", () => store.loadTenant(T)],
      [
        "putTenant",
        () =>
          store.putTenant({ ...demoTenant({ crm: "crm-secret-0001", cpq: "cpq-secret-0001" }), tenantId: T }),
      ],
      ["findTenantIdByHubSpotPortal", () => store.findTenantIdByHubSpotPortal(1)],
      ["loadOpportunity", () => store.loadOpportunity(T, "o-1")],
      ["loadQuote", () => store.loadQuote(T, "q-1")],
      [
        "loadPairLines",
        () => store.loadPairLines(T, { quoteId: "q-1", opportunityId: "o-1", syncKeys: ["k"] }),
      ],
      ["listQuotesOfOpportunity", () => store.listQuotesOfOpportunity(T, "o-1")],
      ["findProcessedEvent", () => store.findProcessedEvent(T, "e-1")],
      [
        "commit",
        () =>
          store.commit({
            tenantId: T,
            opportunity: { record: { ...placeholderOpportunity(T, "o-1"), known: true } },
            quotes: [],
            outbox: [],
            audit: [],
          }),
      ],
      ["readOutbox", () => store.readOutbox(T, null, 10)],
      ["readAudit", () => store.readAudit(T, "o-1", null, 10)],
      ["listTenantIds", () => store.listTenantIds(null, 10)],
      ["listPendingQuoteIds", () => store.listPendingQuoteIds(T, null, 10)],
      ["listSyncedOpportunityIds", () => store.listSyncedOpportunityIds(T, null, 10)],
      ["listOpportunityIds", () => store.listOpportunityIds(T, null, 10)],
      ["listOpportunityIds by stage", () => store.listOpportunityIds(T, null, 10, "S")],
      ["listPipelineEntries", () => store.listPipelineEntries(T)],
      ["loadOpportunityHeaders", () => store.loadOpportunityHeaders(T, ["o-1"])],
      ["loadQuoteHeaders", () => store.loadQuoteHeaders(T, ["q-1"])],
      ["loadDriftFindings", () => store.loadDriftFindings(T, ["o-1"])],
      ["loadScheduleCheckpoint", () => store.loadScheduleCheckpoint()],
      ["saveScheduleCheckpoint", () => store.saveScheduleCheckpoint({ version: null } as never)],
      ["loadDriftFinding", () => store.loadDriftFinding(T, "o-1")],
      ["saveDriftFinding", () => store.saveDriftFinding(T, finding as never)],
      ["deleteDriftFinding", () => store.deleteDriftFinding(T, "o-1")],
      ["readDriftReport", () => store.readDriftReport(T, null, 10)],
    ];
    const outcomes = [];
    for (const [name, call] of calls) {
      const outcome = await call().then(
        (value: unknown) => `resolved ${JSON.stringify(value)}`,
        (error: unknown) => (error instanceof StorageBusy ? "StorageBusy" : String(error)),
      );
      outcomes.push([name, outcome]);
    }
    expect(outcomes).toEqual(calls.map(([name]) => [name, "StorageBusy"]));
    expect(await scanAll(table.tableName)).toEqual([]);
  });
});
