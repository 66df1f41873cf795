import type { CreateTableCommandInput } from "@aws-sdk/client-dynamodb";

/**
 * The one quotesync table. `serverless.yml`, the tests, the benchmark and the local server all
 * derive their table from this definition (serverless.yml reads it through `infra/table.cjs`
 * equivalent values kept in sync by test/infra/table.test.ts).
 *
 * Keys are strings built by `domain/keys.ts`; every key starts with the tenant id so that no id a
 * tenant sends can address another tenant's items. `gsi1` is sparse: only synced pairs and
 * scheduled-mode quotes carry `gsi1pk`, so the scheduled function pages through them without a scan.
 */
export const TABLE_DEFINITION = {
  AttributeDefinitions: [
    { AttributeName: "pk", AttributeType: "S" },
    { AttributeName: "sk", AttributeType: "S" },
    { AttributeName: "gsi1pk", AttributeType: "S" },
    { AttributeName: "gsi1sk", AttributeType: "S" },
  ],
  KeySchema: [
    { AttributeName: "pk", KeyType: "HASH" },
    { AttributeName: "sk", KeyType: "RANGE" },
  ],
  GlobalSecondaryIndexes: [
    {
      IndexName: "gsi1",
      KeySchema: [
        { AttributeName: "gsi1pk", KeyType: "HASH" },
        { AttributeName: "gsi1sk", KeyType: "RANGE" },
      ],
      Projection: { ProjectionType: "KEYS_ONLY" },
    },
  ],
  BillingMode: "PAY_PER_REQUEST",
} satisfies Omit<CreateTableCommandInput, "TableName">;
