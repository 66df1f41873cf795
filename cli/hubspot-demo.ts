import type { AddressInfo } from "node:net";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { HubSpotClient } from "../connectors/hubspot/client.js";
import { setupCustomProperties } from "../connectors/hubspot/custom-properties.js";
import { FakeHubSpot } from "../connectors/hubspot/fake/fake-hubspot.js";
import { staticToken } from "../connectors/hubspot/tokens.js";
import { TenantConfig } from "../domain/tenant.js";
import { deliverBatch } from "../functions/deliver.js";
import { retryDueDeliveries } from "../functions/deliver-retry.js";
import { createDeliveryRuntime, setDeliveryRuntime } from "../functions/lib/delivery-runtime.js";
import { setHubSpotEnvironment } from "../functions/lib/hubspot-deps.js";
import { createRuntime, runtime, setRuntime } from "../functions/lib/runtime.js";
import { ensureTable } from "../infra/create-table.js";
import { DynamoConnectorStore } from "../infra/dynamodb/connector-store.js";
import { DynamoSyncStore } from "../infra/dynamodb/store.js";
import { localDynamoClientConfig, startDynamoDbLocal } from "../infra/dynamodb-local.js";
import { createLocalHttpServer } from "../local/http-adapter.js";
import { localRoutes } from "../local/routes.js";
import { startRetryTimer, startStreamReader } from "../local/stream-reader.js";
import type { CliIo } from "./io.js";

/**
 * `npm run demo -- --crm hubspot --cpq hubspot`: the SPEC story told through HubSpot — a fake
 * HubSpot portal (signed webhooks, its CRM API) and quotesync's own handlers, DynamoDB Local and the
 * deliver function on its stream, all in this process. Self-contained: nothing else to start.
 */
export async function runHubSpotDemo(io: CliIo): Promise<Record<string, string | undefined>> {
  process.env.AWS_REGION ||= "us-east-1";
  process.env.AWS_ACCESS_KEY_ID ||= "local";
  process.env.AWS_SECRET_ACCESS_KEY ||= "local";
  const dynamo = await startDynamoDbLocal();
  const client = new DynamoDBClient(localDynamoClientConfig(dynamo.endpoint));
  const fake = new FakeHubSpot({
    portalId: 62515,
    appId: 54321,
    clientSecret: "demo-hubspot-app-secret",
    accessToken: "pat-demo",
    autoFlush: true,
  });
  const server = createLocalHttpServer({ routes: localRoutes });
  const stops: Array<() => Promise<void>> = [];
  try {
    const { fakeUrl, publicUrl, propertiesCreated } = await startQuotesync(client, fake, server, stops);
    const story = new HubSpotStory(fake, io);
    story.print(
      `HubSpot portal 62515: ${propertiesCreated} quotesync_* custom properties created (setup-properties)`,
    );
    story.print(`Fake HubSpot portal 62515 at ${fakeUrl}; quotesync at ${publicUrl}/connectors/hubspot.`);
    const ids = await createDealAndQuote(story);
    await publishAndEdit(story, ids);
    await discountAndAccept(story, ids);
    story.print(
      `\n${fake.calls.length} HubSpot API calls in all; ${fake.violations.length} requests outside HubSpot's documented shapes.`,
    );
    return story.deal(ids.dealId);
  } finally {
    for (const stop of stops.reverse()) await stop().catch(() => undefined);
    setDeliveryRuntime(undefined);
    setHubSpotEnvironment({});
    setRuntime(undefined);
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await fake.close();
    client.destroy();
    await dynamo.stop();
  }
}

const TABLE_NAME = "quotesync-hubspot-demo";

/**
 * quotesync as deployed, in this process: the table, the demo tenant on the fake portal (both
 * sides), the HTTP routes HubSpot's webhooks reach, and delivery from the table's stream. What must
 * be stopped afterwards is pushed onto `stops`.
 */
async function startQuotesync(
  client: DynamoDBClient,
  fake: FakeHubSpot,
  server: ReturnType<typeof createLocalHttpServer>,
  stops: Array<() => Promise<void>>,
): Promise<{ fakeUrl: string; publicUrl: string; propertiesCreated: number }> {
  await ensureTable(client, TABLE_NAME, { stream: true });
  const doc = DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } });
  const store = new DynamoSyncStore({ doc, tableName: TABLE_NAME });
  const connectorStore = new DynamoConnectorStore(doc, TABLE_NAME);
  const fakeUrl = await fake.listen();
  // What an admin runs once per portal: `quotesync hubspot setup-properties`.
  const created = await setupCustomProperties(
    new HubSpotClient({
      baseUrl: fakeUrl,
      tokens: staticToken("pat-demo"),
      fetch,
      budget: { take: async () => {} },
    }),
  );
  await registerDemoTenant(store, fakeUrl);
  setRuntime(createRuntime(store, { tenantCacheMs: 0 }));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
  const publicUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  setHubSpotEnvironment({ publicUrl, connectorStore });
  fake.setWebhookUrl(`${publicUrl}/connectors/hubspot`);
  const delivery = createDeliveryRuntime({
    doc,
    tableName: TABLE_NAME,
    loadTenant: (tenantId) => runtime().loadTenant(tenantId),
    connectorStore,
  });
  setDeliveryRuntime(delivery);
  const reader = await startStreamReader({
    client,
    tableName: TABLE_NAME,
    pollMs: 50,
    handle: (event) => deliverBatch(event, () => Number.POSITIVE_INFINITY, delivery),
  });
  stops.push(() => reader.stop());
  const retries = startRetryTimer(() => retryDueDeliveries(() => Number.POSITIVE_INFINITY, delivery), 200);
  stops.push(() => retries.stop());
  return { fakeUrl, publicUrl, propertiesCreated: created.length };
}

/** The tenant `hubspot-demo`: HubSpot deals as its CRM and HubSpot quotes as its CPQ. */
async function registerDemoTenant(store: DynamoSyncStore, fakeUrl: string): Promise<void> {
  const side = {
    kind: "hubspot",
    portalId: 62515,
    appId: 54321,
    baseUrl: fakeUrl,
    accessToken: "pat-demo",
    clientSecret: "demo-hubspot-app-secret",
    stages: { "Closed Won": "closedwon", Negotiation: "contractsent" },
  };
  await store.putTenant(
    TenantConfig.parse({
      tenantId: "hubspot-demo",
      secrets: { crm: ["demo-crm-secret"], cpq: ["demo-cpq-secret"] },
      approvals: { maxDiscountPercent: "20" },
      connectors: { crm: side, cpq: side },
    }),
  );
}

/** Telling the story: numbered steps, and waiting for the portal and quotesync to go quiet. */
class HubSpotStory {
  private step = 0;

  constructor(
    readonly fake: FakeHubSpot,
    private readonly io: CliIo,
  ) {}

  print(text: string): void {
    this.io.stdout(`${text}\n`);
  }

  say(text: string): void {
    this.print(`\n${++this.step}. ${text}`);
  }

  /** Waits until the portal has made no call, queued no event and recorded no change for a while. */
  async settle(): Promise<void> {
    let seen = -1;
    for (let stable = 0; stable < 6; ) {
      await new Promise((resolve) => setTimeout(resolve, 150));
      const now =
        this.fake.calls.length + this.fake.queuedEvents.length * 1e6 + this.fake.history.length * 1e3;
      stable = now === seen ? stable + 1 : 0;
      seen = now;
    }
  }

  /** Waits (up to 30 s) for what the story says next: a mirror for a quote just unlocked waits its turn. */
  async until(condition: () => boolean): Promise<void> {
    for (let waited = 0; !condition() && waited < 30_000; waited += 200) {
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    await this.settle();
  }

  lines(type: "deals" | "quotes", id: string): string {
    return this.fake
      .lineItemsOf(type, id)
      .map(
        (item) =>
          `${item.properties.name} ×${item.properties.quantity} @ ${item.properties.price}${Number(item.properties.hs_discount_percentage ?? 0) > 0 ? ` −${item.properties.hs_discount_percentage} %` : ""}`,
      )
      .join("; ");
  }

  deal(dealId: string): Record<string, string | undefined> {
    return this.fake.objects.deals.get(dealId)?.properties ?? {};
  }
}

interface DemoIds {
  dealId: string;
  quoteId: string;
}

async function createDealAndQuote(story: HubSpotStory): Promise<DemoIds> {
  const { fake } = story;
  story.say(
    'A rep creates the deal "Acme renewal" with two line items, then a quote from it (HubSpot copies the lines once).',
  );
  const dealId = fake.createDeal({ dealname: "Acme renewal", deal_currency_code: "USD", amount: "0" });
  fake.addLineItem(
    { type: "deals", id: dealId },
    { name: "Seats", hs_sku: "SEAT", quantity: "10", price: "100.00" },
  );
  fake.addLineItem(
    { type: "deals", id: dealId },
    { name: "Support", hs_sku: "SUP", quantity: "1", price: "500.00" },
  );
  const quoteId = fake.createQuote(dealId, { hs_title: "Acme Q-1", hs_template_type: "CPQ_QUOTE" });
  await story.settle();
  story.print(`   deal ${dealId}: ${story.lines("deals", dealId)}`);
  story.print(`   quote ${quoteId}: ${story.lines("quotes", quoteId)}`);
  return { dealId, quoteId };
}

async function publishAndEdit(story: HubSpotStory, { dealId, quoteId }: DemoIds): Promise<void> {
  const { fake } = story;
  const deal = () => story.deal(dealId);
  story.say(
    "The quote is published (hs_status APPROVAL_NOT_NEEDED): quotesync's cart.finalized starts sync.",
  );
  fake.update("quotes", quoteId, { hs_status: "APPROVAL_NOT_NEEDED" });
  await story.settle();
  story.print(
    `   deal amount ${deal().amount} (locked: ${deal().quotesync_amount_locked}), synced quote ${deal().quotesync_synced_quote_id}`,
  );
  story.print(`   deal lines now: ${story.lines("deals", dealId)}`);

  story.say(
    "The quote goes back to DRAFT for an edit; a rep edits the deal's Seats line to 12: the quote line follows.",
  );
  fake.update("quotes", quoteId, { hs_status: "DRAFT" });
  await story.settle();
  const seats = fake.lineItemsOf("deals", dealId).find((item) => item.properties.name === "Seats");
  if (seats) fake.update("line_items", seats.id, { quantity: "12" });
  await story.until(() =>
    fake
      .lineItemsOf("quotes", quoteId)
      .some((item) => item.properties.name === "Seats" && item.properties.quantity === "12"),
  );
  story.print(`   quote lines: ${story.lines("quotes", quoteId)}`);
  story.print(`   deal amount ${deal().amount}`);
}

async function discountAndAccept(story: HubSpotStory, { dealId, quoteId }: DemoIds): Promise<void> {
  const { fake } = story;
  const deal = () => story.deal(dealId);
  story.say(
    "On the quote, Support gets a 25 % discount: over the 20 % rule, the deal is flagged for approval.",
  );
  const support = fake.lineItemsOf("quotes", quoteId).find((item) => item.properties.name === "Support");
  if (support) fake.update("line_items", support.id, { hs_discount_percentage: "25" });
  await story.settle();
  story.print(`   deal lines: ${story.lines("deals", dealId)}`);
  story.print(
    `   approval required: ${deal().quotesync_approval_required} (${deal().quotesync_approval_reasons}); amount ${deal().amount}`,
  );

  story.say(
    "The quote is approved, published, and the buyer accepts it (hs_status ACCEPTED): the deal moves to Closed Won.",
  );
  fake.update("quotes", quoteId, { hs_status: "APPROVED" });
  await story.settle();
  fake.update("quotes", quoteId, { hs_status: "ACCEPTED" });
  await story.settle();
  story.print(
    `   dealstage ${deal().dealstage}, approval required: ${deal().quotesync_approval_required}, amount ${deal().amount}`,
  );
}
