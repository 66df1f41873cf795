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
export const TABLE_DEFINITION = definition as Omit<CreateTableCommandInput, "TableName">;
