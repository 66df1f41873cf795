import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { UsageError } from "./io.js";

/** The options of a command that works on a quotesync table directly (`tenant put`, `reconcile`). */
export interface TableOptions {
  table?: string | undefined;
  endpoint?: string | undefined;
  region?: string | undefined;
}

/**
 * The table and a DynamoDB client for it: `--table` (else $TABLE_NAME), `--region` (else the
 * environment's; us-east-1 against a local `--endpoint`), and dummy credentials against a local
 * endpoint when none are set.
 */
export function tableClient(
  values: TableOptions,
  env: NodeJS.ProcessEnv,
): { table: string; client: DynamoDBClient } {
  const table = values.table ?? env.TABLE_NAME;
  if (!table) throw new UsageError("--table is required (or set TABLE_NAME)");
  const region =
    values.region ?? env.AWS_REGION ?? env.AWS_DEFAULT_REGION ?? (values.endpoint ? "us-east-1" : undefined);
  if (!region) throw new UsageError("no region: pass --region or set AWS_REGION");
  const localCredentials =
    values.endpoint && !env.AWS_ACCESS_KEY_ID && !env.AWS_PROFILE
      ? { credentials: { accessKeyId: "local", secretAccessKey: "local" } }
      : {};
  const client = new DynamoDBClient({
    region,
    ...(values.endpoint ? { endpoint: values.endpoint } : {}),
    ...localCredentials,
  });
  return { table, client };
}
