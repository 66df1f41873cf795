import { randomUUID } from "node:crypto";
import type { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { hubSpotPortalOf, type TenantConfig } from "../../domain/tenant.js";
import { DynamoConnectorStore } from "../../infra/dynamodb/connector-store.js";
import type { DynamoSyncStore } from "../../infra/dynamodb/store.js";
import { type CliIo, CommandFailed, parseOptions, UsageError } from "../io.js";
import { withTenantTable } from "../table-client.js";

export const reconcileUsage = (
  invokedAs: string,
) => `Usage: ${invokedAs} --tenant <id> --table <table name> [--endpoint <url>] [--region <region>]

Compares every synced pair of a tenant on Salesforce or HubSpot with that system, by reading, and
corrects what differs. Salesforce: the same work a relayed GAP_OVERFLOW event starts
(docs/salesforce.md); run it after a relay gap or whenever you doubt an org is in step. HubSpot:
each synced deal and quote with their line items (docs/hubspot.md); run it after webhooks were
lost (HubSpot gives up after 10 tries in 24 hours) or subscriptions were paused. Prints what was
fed to quotesync, pair by pair.

Options:
  --tenant <id>       the tenant to reconcile
  --table <name>      the quotesync table, e.g. quotesync-dev (default: $TABLE_NAME)
  --endpoint <url>    a DynamoDB endpoint other than AWS's, e.g. the local server's DynamoDB Local
  --region <region>   AWS region (default: $AWS_REGION, then $AWS_DEFAULT_REGION)
  -h, --help          show this help

Salesforce and HubSpot credentials come from the tenant (its credentialsParameter in SSM when
deployed); AWS credentials from the usual chain.
`;

/** `reconcile`: a Salesforce or HubSpot tenant's synced pairs read back from that system and corrected. */
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
  return withTenantTable(values, io.env, tenantId, "reconcile", async ({ table, doc, store, tenant }) => {
    const crm = tenant.connectors.crm;
    if (hubSpotPortalOf(tenant) !== null) {
      return await reconcileHubSpot(tenant, doc, store, table, io);
    }
    if (crm.kind !== "salesforce") {
      throw new CommandFailed(
        `tenant ${tenantId} is on neither Salesforce nor HubSpot (CRM side ${crm.kind}): nothing to read back`,
      );
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
  });
}

/** A HubSpot tenant's synced pairs read back from HubSpot and corrected (connectors/hubspot/reconcile.ts). */
async function reconcileHubSpot(
  stored: TenantConfig,
  doc: DynamoDBDocumentClient,
  store: DynamoSyncStore,
  table: string,
  io: CliIo,
): Promise<number> {
  // Loaded only here: the CLI's other commands do not need HubSpot's code.
  const [
    { reconcileHubSpotTenant },
    { clientFor },
    { hubSpotSide },
    { createRuntime },
    { ssmConnectorResolver },
  ] = await Promise.all([
    import("../../connectors/hubspot/reconcile.js"),
    import("../../connectors/hubspot/applier.js"),
    import("../../connectors/hubspot/decisions.js"),
    import("../../functions/lib/runtime.js"),
    import("../../functions/lib/connector-credentials.js"),
  ]);
  // Credentials kept in SSM (credentialsParameter) are merged in, as the functions do.
  const resolve = ssmConnectorResolver(0);
  const [crm, cpq] = await Promise.all([resolve(stored, "crm"), resolve(stored, "cpq")]);
  const tenant = { ...stored, connectors: { crm, cpq } } as TenantConfig;
  const connectorStore = new DynamoConnectorStore(doc, table);
  const client = clientFor(hubSpotSide(tenant), {
    fetch,
    now: Date.now,
    connectorStore,
    tenantId: tenant.tenantId,
  });
  const result = await reconcileHubSpotTenant(
    {
      tenant,
      client,
      store,
      connectorStore,
      engine: createRuntime(store, { tenantCacheMs: 0 }).engine,
      log: (message, facts) => io.stderr(`${message} ${JSON.stringify(facts)}\n`),
    },
    `reconcile-${randomUUID()}`,
  );
  for (const fed of result.fed) {
    io.stdout(`${fed.type} ${fed.eventId}: ${fed.replayed ? "already applied" : fed.status}\n`);
  }
  io.stderr(
    `tenant ${tenant.tenantId}: ${result.pairs} synced pair(s) read back, ${result.fed.length} event(s) fed from HubSpot, ${client.calls} HubSpot call(s)\n`,
  );
  return 0;
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
