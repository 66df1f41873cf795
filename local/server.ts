import type { AddressInfo } from "node:net";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { mintViewerToken } from "../functions/lib/viewer-link.js";
import { ensureTable } from "../infra/create-table.js";
import { localDynamoClientConfig, startDynamoDbLocal } from "../infra/dynamodb-local.js";
import { localExtraRoutes } from "./extra-routes.js";
import { createLocalHttpServer } from "./http-adapter.js";
import { localRoutes } from "./routes.js";
import { seedLocal } from "./seed.js";
import { startLocalDelivery } from "./stream-reader.js";

/**
 * `npm start`: the HTTP API on 127.0.0.1:$PORT through the same Lambda handlers AWS runs, against
 * an in-memory DynamoDB Local seeded with the tenant `demo` (SPEC §7).
 */
const startedAt = performance.now();
const port = parsePort(process.env.PORT ?? "3000");

// The environment is set before any function module loads (routes load handlers lazily).
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = "true";
process.env.AWS_REGION = "us-east-1";
process.env.AWS_ACCESS_KEY_ID = "local";
process.env.AWS_SECRET_ACCESS_KEY = "local";
process.env.TABLE_NAME ||= "quotesync-local";
const tableName = process.env.TABLE_NAME;

const dynamo = await startDynamoDbLocal();
process.env.DYNAMODB_ENDPOINT = dynamo.endpoint;

let server: ReturnType<typeof createLocalHttpServer> | undefined;
let delivery: { stop(): Promise<void> } | undefined;
let shuttingDown = false;

async function shutdown(exitCode: number): Promise<never> {
  if (!shuttingDown) {
    shuttingDown = true;
    const closing = server?.listening
      ? new Promise<void>((resolve) => server?.close(() => resolve()))
      : Promise.resolve();
    server?.closeAllConnections();
    await closing;
    await delivery?.stop();
    await dynamo.stop();
  }
  process.exit(exitCode);
}
process.once("SIGINT", () => void shutdown(0));
process.once("SIGTERM", () => void shutdown(0));

try {
  const client = new DynamoDBClient(localDynamoClientConfig(dynamo.endpoint));
  await ensureTable(client, tableName, { stream: true });
  await seedLocal({ client, tableName });
  // Mirrors for sides with a connector are delivered as deployed: the table's stream feeds the same
  // deliver function, and the retry pass runs every second instead of every minute.
  delivery = await startLocalDelivery({ client, tableName });

  server = createLocalHttpServer({ routes: localRoutes, extraRoutes: localExtraRoutes });
  const listening = server;
  await new Promise<void>((resolve, reject) => {
    listening.once("error", reject);
    listening.listen(port, "127.0.0.1", () => resolve());
  });
  const { port: actualPort } = listening.address() as AddressInfo;
  // HubSpot's signatures cover the URL it called: locally, this server's.
  process.env.QUOTESYNC_PUBLIC_URL ||= `http://127.0.0.1:${actualPort}`;
  if (process.env.FAKE_HUBSPOT === "1") await startFakeHubSpot(process.env.QUOTESYNC_PUBLIC_URL);
  const seconds = ((performance.now() - startedAt) / 1000).toFixed(1);
  console.log(
    `quotesync listening on http://127.0.0.1:${actualPort} (tenant demo; sign requests with: npx quotesync sign --help; Ctrl-C stops) — ready in ${seconds} s`,
  );
  const viewerLink = mintViewerToken(process.env.DEMO_CRM_SECRET || "demo-crm-secret", {
    tenantId: "demo",
    viewer: "demo-manager",
    hours: 8,
    actions: true,
  });
  console.log(
    `Pipeline page (8 h, with actions): http://127.0.0.1:${actualPort}/app/demo/enter?link=${viewerLink}\n` +
      `  demo opportunities: curl -X POST -H 'content-type: application/json' http://127.0.0.1:${actualPort}/local/demo-pipeline`,
  );
  // For `npx quotesync tenant put --endpoint ... --table ...` against this server's storage.
  console.log(`DynamoDB Local at ${dynamo.endpoint}, table ${tableName}`);
} catch (error) {
  console.error("quotesync: could not start", error);
  await shutdown(1);
}

function parsePort(value: string): number {
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < 0 || parsed > 65_535) {
    console.error(`quotesync: PORT must be an integer 0-65535, got ${JSON.stringify(value)}`);
    process.exit(1);
  }
  return parsed;
}

/**
 * `FAKE_HUBSPOT=1 npm start`: a fake HubSpot portal beside the server (docs/hubspot.md), posting
 * signed webhooks here; register a tenant pointing at it with `PUT /local/tenants/{tenantId}`.
 */
async function startFakeHubSpot(publicUrl: string): Promise<void> {
  const { FakeHubSpot } = await import("../connectors/hubspot/fake/fake-hubspot.js");
  const fake = new FakeHubSpot({
    portalId: 62515,
    appId: 54321,
    clientSecret: "local-hubspot-app-secret",
    accessToken: "pat-local",
    webhookUrl: `${publicUrl}/connectors/hubspot`,
    autoFlush: true,
  });
  const url = await fake.listen(Number(process.env.FAKE_HUBSPOT_PORT ?? 0));
  // The portal as an admin leaves it after `quotesync hubspot setup-properties`.
  const [{ HubSpotClient }, { setupCustomProperties }, { staticToken }] = await Promise.all([
    import("../connectors/hubspot/client.js"),
    import("../connectors/hubspot/custom-properties.js"),
    import("../connectors/hubspot/tokens.js"),
  ]);
  await setupCustomProperties(
    new HubSpotClient({
      baseUrl: url,
      tokens: staticToken("pat-local"),
      fetch,
      budget: { take: async () => {} },
    }),
  );
  console.log(
    `fake HubSpot portal 62515 at ${url} (app 54321, client secret local-hubspot-app-secret, token pat-local; user edits under ${url}/_fake/)`,
  );
}
