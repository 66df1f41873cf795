import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import type { TenantConfig } from "../domain/tenant.js";
import { DynamoSyncStore } from "../infra/dynamodb/store.js";
import { CommandFailed, UsageError } from "./io.js";

/** The options of a command that works on a quotesync table directly (`tenant put`, `reconcile`, `pipeline backfill`). */
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

/** A registered tenant's table, opened for a command: its clients, store and configuration. */
export interface TenantTable {
  table: string;
  doc: DynamoDBDocumentClient;
  store: DynamoSyncStore;
  tenant: TenantConfig;
}

/**
 * Runs `work` on a registered tenant's table (`--table`, `--endpoint`, `--region` as
 * `tableClient` reads them), then closes the client. An unknown tenant, and any failure that is
 * not already a `CommandFailed`, ends the command as `cannot <verb> <tenant>: <reason>`.
 */
export async function withTenantTable<T>(
  values: TableOptions,
  env: NodeJS.ProcessEnv,
  tenantId: string,
  verb: string,
  work: (opened: TenantTable) => Promise<T>,
): Promise<T> {
  const { table, client } = tableClient(values, env);
  try {
    const doc = DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } });
    const store = new DynamoSyncStore({ doc, tableName: table });
    const tenant = await store.loadTenant(tenantId);
    if (!tenant) throw new CommandFailed(`no tenant ${tenantId} in ${table}`);
    return await work({ table, doc, store, tenant });
  } catch (error) {
    if (error instanceof CommandFailed) throw error;
    const reason = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    throw new CommandFailed(`cannot ${verb} ${tenantId}: ${reason.split("\n")[0]}`, { cause: error });
  } finally {
    client.destroy();
  }
}
