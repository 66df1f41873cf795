import type { CreateTableCommandInput } from "@aws-sdk/client-dynamodb";
import definition from "./table.json" with { type: "json" };

/**
 * The one quotesync table, defined once in `table.json`: `serverless.yml` reads that file for the
 * CloudFormation resource, and the tests, the benchmark and the local server create their tables
 * from this same definition.
 *
 * Keys are built by `infra/dynamodb/keys.ts`; every key starts with the tenant id so that no id a
 * tenant sends can address another tenant's items. `gsi1` is sparse: only synced opportunities
 * and quotes with pending changes carry `gsi1pk`, so the scheduled function pages through them
 * without a scan.
 */
const { StreamSpecification, ...withoutStream } = definition as Omit<CreateTableCommandInput, "TableName">;

/**
 * The table as tests and the benchmark create it by default: without its stream, which DynamoDB
 * Local keeps at a cost to large writes. Deployed, the table has `TABLE_STREAM` (serverless.yml);
 * the local server and the delivery tests ask for it (`ensureTable(..., { stream: true })`).
 */
export const TABLE_DEFINITION: Omit<CreateTableCommandInput, "TableName"> = withoutStream;

/** The table's stream (new images), which feeds the deliver function. */
export const TABLE_STREAM = StreamSpecification as NonNullable<
  CreateTableCommandInput["StreamSpecification"]
>;
