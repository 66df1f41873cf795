import { randomUUID } from "node:crypto";
import { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { DynamoConnectorStore } from "../../infra/dynamodb/connector-store.js";
import { DynamoSyncStore } from "../../infra/dynamodb/store.js";
import { type CliIo, CommandFailed, parseOptions, UsageError } from "../io.js";
import { tableClient } from "../table-client.js";

export const reconcileUsage = (
  invokedAs: string,
) => `Usage: ${invokedAs} --tenant <id> --table <table name> [--endpoint <url>] [--region <region>]

Compares every synced pair of a tenant whose CRM is Salesforce with Salesforce itself, by reading,
and corrects what differs: the same work a relayed GAP_OVERFLOW event starts (docs/salesforce.md).
Run it after a relay gap (a relay in error drops events past its recovery point) or whenever you
doubt an org is in step. Prints what was fed to quotesync, pair by pair.

Options:
  --tenant <id>       the tenant to reconcile
  --table <name>      the quotesync table, e.g. quotesync-dev (default: $TABLE_NAME)
  --endpoint <url>    a DynamoDB endpoint other than AWS's, e.g. the local server's DynamoDB Local
  --region <region>   AWS region (default: $AWS_REGION, then $AWS_DEFAULT_REGION)
  -h, --help          show this help

Salesforce credentials come from the tenant (its credentialsParameter in SSM when deployed); AWS
credentials from the usual chain.
`;

/** `reconcile`: a Salesforce tenant's synced pairs read back from Salesforce and corrected. */
export async function reconcileCommand(
  argv: string[],
  io: CliIo,
  invokedAs = "quotesync reconcile",
): Promise<number> {
  const values = parseOptions(argv, {
    tenant: { type: "string" },
    table: { type: "string" },
    endpoint: { type: "string" },
    region: { type: "string" },
    help: { type: "boolean", short: "h" },
  });
  if (values.help) {
    io.stdout(reconcileUsage(invokedAs));
    return 0;
  }
  const tenantId = values.tenant;
  if (!tenantId) throw new UsageError("--tenant is required");
  const { table, client } = tableClient(values, io.env);
  try {
    const doc = DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } });
    const store = new DynamoSyncStore({ doc, tableName: table });
    const tenant = await store.loadTenant(tenantId);
    if (!tenant) throw new CommandFailed(`no tenant ${tenantId} in ${table}`);
    const crm = tenant.connectors.crm;
    if (crm.kind !== "salesforce") {
      throw new CommandFailed(`tenant ${tenantId}'s CRM side is ${crm.kind}: reconcile reads Salesforce`);
    }
    // The function a relayed event runs, loaded only here: the CLI's other commands do not need it.
    const [{ handleRelayedEvent }, { createRuntime }] = await Promise.all([
      import("../../functions/salesforce-event.js"),
      import("../../functions/lib/runtime.js"),
    ]);
    const runtime = createRuntime(store, { tenantCacheMs: 0 });
    const result = await handleRelayedEvent(
      gapOverflow(crm.orgId),
      runtime,
      new DynamoConnectorStore(doc, table),
    );
    for (const fed of result.fed) {
      io.stdout(`${fed.type} ${fed.eventId}: ${fed.replayed ? "already applied" : fed.status}\n`);
    }
    io.stderr(
      `tenant ${tenantId}: ${result.fed.length} event(s) fed from Salesforce, ${result.apiCalls} Salesforce call(s)\n`,
    );
    return 0;
  } catch (error) {
    if (error instanceof CommandFailed) throw error;
    const reason = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    throw new CommandFailed(`cannot reconcile ${tenantId}: ${reason.split("\n")[0]}`, { cause: error });
  } finally {
    client.destroy();
  }
}

/** The event a relay sends when it lost track: reconcile the whole tenant (CONNECTORS §4). */
function gapOverflow(orgId: string): unknown {
  const now = Date.now();
  return {
    version: "0",
    id: randomUUID(),
    "detail-type": "OpportunityChangeEvent",
    source: `aws.partner/salesforce.com/${orgId}/reconcile`,
    time: new Date(now).toISOString(),
    detail: {
      payload: {
        ChangeEventHeader: {
          entityName: "Opportunity",
          recordIds: [],
          changeType: "GAP_OVERFLOW",
          changeOrigin: "",
          // Unique per run: each reconcile is a new reading, never a duplicate of the last one.
          transactionKey: `reconcile-${randomUUID()}`,
          sequenceNumber: 0,
          commitTimestamp: now,
          commitUser: null,
          changedFields: [],
          nulledFields: [],
        },
      },
    },
  };
}
