import { DeleteCommand, DynamoDBDocumentClient, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "../../cli/main.js";
import { SyncEngine } from "../../domain/engine/sync-engine.js";
import { CrmEvent } from "../../domain/events.js";
import { demoTenant } from "../../domain/tenant.js";
import { DynamoSyncStore } from "../../infra/dynamodb/store.js";
import { createTestTable, dynamoEndpoint, scanAll, type TestTable } from "../support/dynamo.js";
import { at, opportunityUpserted } from "../support/events.js";

async function cli(argv: string[]) {
  let stdout = "";
  let stderr = "";
  const code = await runCli(argv, {
    stdout: (text) => {
      stdout += text;
    },
    stderr: (text) => {
      stderr += text;
    },
    stdin: async () => Buffer.from(""),
    env: {},
  });
  return { code, stdout, stderr };
}

/**
 * `quotesync pipeline backfill` on DynamoDB Local: opportunities stored before the pipeline list
 * existed (a header with no `listing`, no list item) or before it carried sort values are put in
 * it, for that tenant only, conditioned on the header's version.
 */
describe("quotesync pipeline backfill", () => {
  let table: TestTable;
  let doc: DynamoDBDocumentClient;
  let store: DynamoSyncStore;
  const acme = { ...demoTenant({ crm: "crm-secret-0001", cpq: "cpq-secret-0001" }), tenantId: "acme" };
  const other = { ...acme, tenantId: "acme-2" };
  const args = (tenant: string, ...more: string[]) => [
    "pipeline",
    "backfill",
    "--tenant",
    tenant,
    "--table",
    table.tableName,
    "--endpoint",
    dynamoEndpoint(),
    ...more,
  ];

  beforeAll(async () => {
    table = await createTestTable();
    doc = DynamoDBDocumentClient.from(table.client, { marshallOptions: { removeUndefinedValues: true } });
    store = new DynamoSyncStore({ doc, tableName: table.tableName });
    const engine = new SyncEngine({ store, clock: () => Date.parse(at(100)), newSyncKey: () => "k" });
    for (const tenant of [acme, other]) {
      await store.putTenant(tenant);
      for (const [id, stage, amount] of [
        ["o-1", "Proposal", "500.00"],
        ["o-2", "Negotiation", "9000.00"],
        ["o-3", "Proposal", null],
      ] as const) {
        await engine.handleCrmEvent(
          tenant,
          CrmEvent.parse(opportunityUpserted(id, { stage, amount }, { occurredAt: at(1) })),
        );
      }
    }
    // As stored before the list existed: no list item, no `listing` on the header (o-1, o-2), and
    // one entry written before the list carried sort values (o-3: id and stage only).
    for (const tenantId of ["acme", "acme-2"]) {
      for (const id of ["o-1", "o-2", "o-3"]) {
        await doc.send(
          new UpdateCommand({
            TableName: table.tableName,
            Key: { pk: `T#${tenantId}#O#${id}`, sk: "H" },
            UpdateExpression: "REMOVE listing",
          }),
        );
        await doc.send(
          new DeleteCommand({ TableName: table.tableName, Key: { pk: `T#${tenantId}#OPPS`, sk: id } }),
        );
      }
      await doc.send(
        new UpdateCommand({
          TableName: table.tableName,
          Key: { pk: `T#${tenantId}#OPPS`, sk: "o-3" },
          UpdateExpression: "SET stage = :stage, gsi1pk = :gsi1pk, gsi1sk = :id",
          ExpressionAttributeValues: {
            ":stage": "Proposal",
            ":gsi1pk": `T#${tenantId}#STAGE#Proposal`,
            ":id": "o-3",
          },
        }),
      );
    }
  });
  afterAll(async () => {
    await table?.dispose();
  });

  const ids = async (tenantId: string, stage?: string) =>
    (await store.listOpportunityIds(tenantId, null, 100, stage)).entries;

  it("counts with --dry-run and writes nothing", async () => {
    const before = await scanAll(table.tableName);
    const run = await cli(args("acme", "--dry-run"));
    expect(run.code).toBe(0);
    expect(run.stdout).toBe(
      "tenant acme: 3 opportunity header(s), 3 listed; 3 list entries to write (dry run)\n",
    );
    expect(await scanAll(table.tableName)).toEqual(before);
  });

  it("lists the tenant's older opportunities with their sort values, by stage too, and no other tenant's", async () => {
    expect(await ids("acme")).toEqual(["o-3"]);
    const run = await cli(args("acme"));
    expect(run.code).toBe(0);
    expect(run.stdout).toBe("tenant acme: 3 opportunity header(s), 3 listed; 3 list entries written\n");
    expect(await ids("acme")).toEqual(["o-1", "o-2", "o-3"]);
    expect(await ids("acme", "Proposal")).toEqual(["o-1", "o-3"]);
    expect(await store.listPipelineEntries("acme")).toEqual([
      { id: "o-1", stage: "Proposal", amount: "500", currency: "USD", changedAt: Date.parse(at(1)) },
      { id: "o-2", stage: "Negotiation", amount: "9000", currency: "USD", changedAt: Date.parse(at(1)) },
      { id: "o-3", stage: "Proposal", amount: null, currency: "USD", changedAt: Date.parse(at(1)) },
    ]);
    // The other tenant (whose id starts the same) is untouched.
    expect(await ids("acme-2")).toEqual(["o-3"]);
  });

  it("writes nothing the second time", async () => {
    const run = await cli(args("acme"));
    expect(run.code).toBe(0);
    expect(run.stdout).toBe("tenant acme: 3 opportunity header(s), 3 listed; 0 list entries written\n");
  });

  it("refuses an unknown tenant and a missing --tenant", async () => {
    const unknown = await cli(args("nobody"));
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/^pipeline backfill: no tenant nobody in /);
    const missing = await cli(["pipeline", "backfill", "--table", table.tableName]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/--tenant is required/);
  });
});
