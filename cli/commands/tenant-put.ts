import { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { secretsRuleForStage } from "../../domain/tenant.js";
import { maskedTenant, parseTenantRegistration } from "../../domain/tenant-registration.js";
import { DynamoSyncStore } from "../../infra/dynamodb/store.js";
import { type CliIo, CommandFailed, parseOptions, readInput, UsageError } from "../io.js";
import { tableClient } from "../table-client.js";

export const tenantPutUsage = (
  invokedAs: string,
) => `Usage: ${invokedAs} --file <tenant.json> --table <table name> [--stage <stage>] [--endpoint <url>] [--region <region>]

Registers a tenant, or replaces its configuration, from a JSON file validated against the tenant
schema (docs/deploy.md "Tenants and their secrets"; examples/tenant.json is a complete one). Prints
the stored configuration with its secrets and connector credentials masked.

Connectors (docs/delivery.md): outside the local stage, connector credentials (a webhook delivery's
secret, API tokens, client secrets) must live in SSM Parameter Store under /quotesync/, named by the
side's credentialsParameter; inline credentials are refused, and delivery URLs must be https.

Options:
  --file <file>       the tenant configuration (JSON); '-' reads stdin
  --table <name>      the quotesync table, e.g. quotesync-dev (default: $TABLE_NAME)
  --endpoint <url>    a DynamoDB endpoint other than AWS's, e.g. the local server's DynamoDB Local
                      (npm start prints it)
  --region <region>   AWS region (default: $AWS_REGION, then $AWS_DEFAULT_REGION)
  --stage <stage>     the deployment stage (default: $QUOTESYNC_STAGE, else local with --endpoint,
                      else the table name's quotesync-<stage>); outside local the tenant must keep
                      its secrets in SSM (secretsParameter under /quotesync/, secrets empty) and its
                      connector credentials too (credentialsParameter)
  -h, --help          show this help

AWS credentials come from the usual chain (environment, profile, SSO). Against --endpoint, dummy
credentials are used when none are set.
`;

/** `tenant put`: validates a tenant configuration and writes it to the table. */
export async function tenantPutCommand(
  argv: string[],
  io: CliIo,
  invokedAs = "npx quotesync tenant put",
): Promise<number> {
  const values = parseOptions(argv, {
    file: { type: "string" },
    table: { type: "string" },
    stage: { type: "string" },
    endpoint: { type: "string" },
    region: { type: "string" },
    help: { type: "boolean", short: "h" },
  });
  if (values.help) {
    io.stdout(tenantPutUsage(invokedAs));
    return 0;
  }
  if (values.file === undefined) throw new UsageError("--file is required, e.g. --file examples/tenant.json");
  const { table, client } = tableClient(values, io.env);

  const text = (await readInput(io, values.file, "--file")).toString("utf8");
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new CommandFailed(`${values.file} is not JSON: ${(error as Error).message}`);
  }
  const stageName =
    values.stage ??
    io.env.QUOTESYNC_STAGE ??
    (values.endpoint ? "local" : (/^quotesync-(.+)$/.exec(table)?.[1] ?? "deployed"));
  const parsed = parseTenantRegistration(json, stageName === "local" ? "local" : "deployed");
  if (!parsed.ok) {
    const issue = parsed.issues[0];
    const where = issue?.path.length ? issue.path.map(String).join(".") : "(top level)";
    throw new CommandFailed(`${values.file} is not a valid tenant: ${where}: ${issue?.message}`);
  }
  const tenant = parsed.tenant;
  const refusal = secretsRuleForStage(tenant, stageName);
  if (refusal) throw new CommandFailed(`${values.file} is not a valid tenant: secretsParameter: ${refusal}`);

  try {
    const doc = DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } });
    await new DynamoSyncStore({ doc, tableName: table }).putTenant(tenant);
  } catch (error) {
    const reason = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    throw new CommandFailed(`cannot write tenant ${tenant.tenantId} to ${table}: ${reason.split("\n")[0]}`);
  } finally {
    client.destroy();
  }
  const shown = maskedTenant(tenant);
  io.stderr(`tenant ${tenant.tenantId} stored in ${table}\n`);
  io.stdout(`${JSON.stringify(shown, null, 2)}\n`);
  return 0;
}
