import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { GetParameterCommand, SSMClient } from "@aws-sdk/client-ssm";
import {
  DynamoDBDocumentClient,
  GetCommand,
  QueryCommand,
  TransactWriteCommand,
  UpdateCommand,
} from "@aws-sdk/lib-dynamodb";
import { marshall } from "@aws-sdk/util-dynamodb";
import type { DynamoDBRecord } from "aws-lambda";
import { mockClient } from "aws-sdk-client-mock";
import { afterAll, beforeEach, describe, expect, it } from "vitest";
import { demoTenant, TenantConfig } from "../../domain/tenant.js";
import { deliverBatch } from "../../functions/deliver.js";
import { ssmConnectorResolver } from "../../functions/lib/connector-credentials.js";
import { createDeliveryRuntime, outboxInsertsOf } from "../../functions/lib/delivery-runtime.js";

process.env.AWS_REGION ??= "us-east-1";
const dynamo = mockClient(DynamoDBDocumentClient);
const ssm = mockClient(SSMClient);
afterAll(() => {
  dynamo.restore();
  ssm.restore();
});

const tenant = TenantConfig.parse({
  ...demoTenant({ crm: "crm-secret-1", cpq: "cpq-secret-1" }),
  connectors: {
    crm: {
      kind: "native",
      delivery: { kind: "webhook", url: "https://hooks.example.com/in" },
      credentialsParameter: "/quotesync/demo/crm",
    },
  },
});

let sequenceNumber = 100;
function record(image: Record<string, unknown>, eventName: "INSERT" | "MODIFY" = "INSERT"): DynamoDBRecord {
  sequenceNumber++;
  return {
    eventName,
    eventSource: "aws:dynamodb",
    dynamodb: {
      SequenceNumber: String(sequenceNumber),
      NewImage: marshall(image, { removeUndefinedValues: true }) as never,
      StreamViewType: "NEW_IMAGE",
    },
  };
}

function outboxRecord(sequence: number, opportunityId = "opp-1"): DynamoDBRecord {
  return record({
    pk: "T#demo#OUTBOX",
    sk: String(sequence).padStart(16, "0"),
    at: "2026-11-30T04:00:00.000Z",
    mirror: { target: "crm", opportunityId, quoteId: "q-1", quote: { syncing: true } },
  });
}

describe("the deliver function's stream records", () => {
  it("takes outbox INSERTs with a mirror only: not void markers, queue items, other items or MODIFYs", () => {
    const records = [
      outboxRecord(7),
      record({ pk: "T#demo#OUTBOX", sk: "0000000000000008", at: "x", void: true }),
      record({ pk: "T#demo#D#crm#opp-1", sk: "Q#0000000000000007", payload: {} }),
      record({ pk: "T#demo#O#opp-1", sk: "H", mirror: {} }),
      record({ pk: "T#demo#OUTBOX", sk: "0000000000000009", at: "x", mirror: { target: "crm" } }, "MODIFY"),
    ];
    const found = outboxInsertsOf(records);
    expect(found).toHaveLength(1);
    expect(found[0]).toMatchObject({ index: 0, insert: { tenantId: "demo", sequence: 7, entryId: "7" } });
  });
});

describe("deliver when the table refuses to queue (aws-sdk-client-mock)", () => {
  beforeEach(() => {
    dynamo.reset();
  });

  /** The tenant's dispatch cursor at `cursor` and its outbox holding `entries` after it. */
  function outboxHolds(cursor: number, entries: Array<{ sequence: number; opportunityId: string }>) {
    dynamo
      .on(GetCommand, { Key: { pk: "T#demo#D#DISPATCH", sk: "CURSOR" } })
      .resolves({ Item: { seq: cursor } });
    dynamo.on(QueryCommand).resolves({
      Items: [
        {
          pk: "T#demo#OUTBOX",
          sk: String(cursor).padStart(16, "0"),
          at: "2026-11-30T04:00:00.000Z",
          void: true,
        },
        ...entries.map(({ sequence, opportunityId }) => ({
          pk: "T#demo#OUTBOX",
          sk: String(sequence).padStart(16, "0"),
          at: "2026-11-30T04:00:00.000Z",
          mirror: { target: "crm", opportunityId, quoteId: "q-1", quote: { syncing: true } },
        })),
      ],
    });
  }

  it("reports the tenant's first record when its entries could not all be queued, and keeps its cursor", async () => {
    const refusals = [outboxRecord(11), outboxRecord(12), outboxRecord(13)];
    outboxHolds(10, [
      { sequence: 11, opportunityId: "opp-1" },
      { sequence: 12, opportunityId: "opp-1" },
      { sequence: 13, opportunityId: "opp-1" },
    ]);
    // The pair's three mirrors go in one transaction, which is throttled.
    let calls = 0;
    dynamo.on(TransactWriteCommand).callsFake(() => {
      calls++;
      if (calls === 1) {
        throw Object.assign(new Error("Throughput exceeds the current capacity"), {
          name: "ProvisionedThroughputExceededException",
        });
      }
      return {};
    });
    dynamo.on(UpdateCommand).resolves({});
    const rt = createDeliveryRuntime({
      doc: DynamoDBDocumentClient.from(new DynamoDBClient({})),
      tableName: "quotesync-test",
      loadTenant: async () => tenant,
      resolveConnector: async (t, side) => t.connectors[side],
    });
    const result = await deliverBatch({ Records: refusals }, () => 60_000, rt);
    // The stream hands the batch again from the tenant's first record; dispatch re-reads from 10.
    expect(result.batchItemFailures).toEqual([{ itemIdentifier: refusals[0]?.dynamodb?.SequenceNumber }]);
    expect(calls).toBe(1);
    expect(dynamo.commandCalls(TransactWriteCommand)[0]?.args[0].input.TransactItems).toHaveLength(4);
    const advanced = dynamo
      .commandCalls(UpdateCommand)
      .filter((call) => call.args[0].input.Key?.pk === "T#demo#D#DISPATCH");
    expect(advanced).toHaveLength(0);
  });

  it("never fails a batch because a queue could not be drained: the queued mirrors wait for the retry pass", async () => {
    outboxHolds(20, [
      { sequence: 21, opportunityId: "opp-1" },
      { sequence: 22, opportunityId: "opp-2" },
    ]);
    dynamo.on(TransactWriteCommand).resolves({});
    dynamo.on(UpdateCommand).rejects(
      Object.assign(new Error("Rate of requests exceeds the allowed throughput"), {
        name: "ThrottlingException",
      }),
    );
    dynamo.on(UpdateCommand, { Key: { pk: "T#demo#D#DISPATCH", sk: "CURSOR" } }).resolves({});
    const rt = createDeliveryRuntime({
      doc: DynamoDBDocumentClient.from(new DynamoDBClient({})),
      tableName: "quotesync-test",
      loadTenant: async () => tenant,
      resolveConnector: async (t, side) => t.connectors[side],
    });
    const result = await deliverBatch(
      { Records: [outboxRecord(21), outboxRecord(22, "opp-2")] },
      () => 60_000,
      rt,
    );
    expect(result.batchItemFailures).toEqual([]);
    expect(dynamo.commandCalls(TransactWriteCommand)).toHaveLength(2);
  });
});

describe("connector credentials from SSM Parameter Store", () => {
  it("merges the parameter's credentials into the side, validated, and keeps them out of errors", async () => {
    ssm.on(GetParameterCommand, { Name: "/quotesync/demo/crm", WithDecryption: true }).resolves({
      Parameter: { Value: JSON.stringify({ delivery: { secret: "ssm-delivery-secret-0123456789" } }) },
    });
    const resolve = ssmConnectorResolver(0);
    expect(await resolve(tenant, "crm")).toEqual({
      kind: "native",
      delivery: {
        kind: "webhook",
        url: "https://hooks.example.com/in",
        secret: "ssm-delivery-secret-0123456789",
      },
      credentialsParameter: "/quotesync/demo/crm",
    });
    // A side without a parameter is used as stored, without a call.
    ssm.resetHistory();
    expect(await resolve(tenant, "cpq")).toEqual({ kind: "native" });
    expect(ssm.calls()).toHaveLength(0);

    ssm.on(GetParameterCommand, { Name: "/quotesync/demo/crm", WithDecryption: true }).resolves({
      Parameter: { Value: JSON.stringify({ delivery: { secret: "short" } }) },
    });
    const failure = await resolve(tenant, "crm").catch((error: unknown) => error as Error);
    expect((failure as Error).message).toBe(
      "SSM parameter /quotesync/demo/crm does not complete the crm connector (check: delivery.secret)",
    );
    expect((failure as Error).message).not.toContain("short");
  });
});
