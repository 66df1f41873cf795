import type { FakeHubSpot } from "../../connectors/hubspot/fake/fake-hubspot.js";
import { deliverBatch } from "../../functions/deliver.js";
import { retryDueDeliveries } from "../../functions/deliver-retry.js";
import { createDeliveryRuntime } from "../../functions/lib/delivery-runtime.js";
import { runtime } from "../../functions/lib/runtime.js";
import { DynamoConnectorStore } from "../../infra/dynamodb/connector-store.js";
import { outboxInsertFilter, startRetryTimer, startStreamReader } from "../../local/stream-reader.js";
import type { Bench } from "../harness.js";
import { median, round } from "../stats.js";
import { enableStream } from "./delivery.js";
import { hubSpotPortal } from "./hubspot-portal.js";

export interface HubSpotEditResult {
  edits: number;
  /** From a user's edit of a deal line in the fake portal to the fake's quote line holding it. */
  p50Ms: number;
  maxMs: number;
  /** HubSpot API calls quotesync made per edit (the read, the quote check, the write; echoes none). */
  callsPerEdit: number;
}

const EDITS = 20;
const PORTAL = 7011;

/**
 * A deal line edited in HubSpot reaching the quote line, end to end as `npm start` runs it: the
 * fake portal posts its signed webhook 20 ms after the change (as it does for `npm start`),
 * `POST /connectors/hubspot` reads the line item back and decides, the table's stream is read every
 * 200 ms into `deliver`, and the `hubspot` applier writes the quote's line item. Timed on the
 * fake's own clock, from the edit to the write that changed the quote line.
 */
export async function hubSpotEditToQuote(bench: Bench): Promise<HubSpotEditResult> {
  const connectorStore = new DynamoConnectorStore(bench.doc, bench.tableName);
  const { fake, close } = await hubSpotPortal({
    store: bench.store,
    connectorStore,
    tenantId: "bench-hubspot-e2e",
    portalId: PORTAL,
    appId: 7012,
    clientSecret: "bench-hubspot-e2e-secret",
    accessToken: "pat-bench-e2e",
    autoFlush: true,
  });
  await enableStream(bench);
  const rt = createDeliveryRuntime({
    doc: bench.doc,
    tableName: bench.tableName,
    loadTenant: (tenantId) => runtime().loadTenant(tenantId),
    connectorStore,
  });
  const budget = () => 60_000;
  const reader = await startStreamReader({
    client: bench.client,
    tableName: bench.tableName,
    pollMs: 200,
    filter: outboxInsertFilter,
    handle: (event) => deliverBatch(event, budget, rt),
  });
  const retries = startRetryTimer(() => retryDueDeliveries(budget, rt), 1_000);
  try {
    return await timeEdits(fake);
  } finally {
    await reader.stop();
    await retries.stop();
    await close();
  }
}

async function timeEdits(fake: FakeHubSpot): Promise<HubSpotEditResult> {
  const dealId = fake.createDeal({ dealname: "Bench e2e", deal_currency_code: "USD" });
  const quoteId = fake.createQuote(dealId, { hs_title: "Bench e2e quote" });
  for (let index = 0; index < 3; index++) {
    fake.addLineItem({ type: "quotes", id: quoteId }, { name: `E2E ${index}`, quantity: "1", price: "10" });
  }
  fake.update("quotes", quoteId, { quotesync_sync: "true" });
  await waitFor(() => fake.lineItemsOf("deals", dealId).length === 3, "the deal's lines after the start");
  await settle(fake);
  const lags: number[] = [];
  const callsBefore = fake.calls.length;
  for (let edit = 0; edit < EDITS; edit++) {
    const name = `E2E ${edit % 3}`;
    const dealLine = fake.lineItemsOf("deals", dealId).find((item) => item.properties.name === name);
    const quoteLine = fake.lineItemsOf("quotes", quoteId).find((item) => item.properties.name === name);
    if (!dealLine || !quoteLine) throw new Error("hubspot e2e: a line is missing");
    const quantity = String(100 + edit);
    const editedAt = Date.now();
    fake.update("line_items", dealLine.id, { quantity });
    await waitFor(() => quoteLine.properties.quantity === quantity, `edit ${edit} on the quote`);
    const written = fake.history.find(
      (change) =>
        change.id === quoteLine.id && change.properties.quantity === quantity && change.at >= editedAt,
    );
    lags.push((written?.at ?? Date.now()) - editedAt);
    await settle(fake);
  }
  return {
    edits: EDITS,
    p50Ms: round(median(lags)),
    maxMs: round(Math.max(...lags)),
    callsPerEdit: round((fake.calls.length - callsBefore) / EDITS),
  };
}

/** Until the echoes of the last writes are answered and nothing moves for half a second. */
async function settle(fake: FakeHubSpot): Promise<void> {
  let seen = -1;
  for (let quiet = 0; quiet < 5; ) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    const now = fake.calls.length + fake.webhookResponses.length + fake.queuedEvents.length;
    quiet = now === seen ? quiet + 1 : 0;
    seen = now;
  }
}

async function waitFor(check: () => boolean, what: string): Promise<void> {
  const deadline = performance.now() + 30_000;
  while (!check()) {
    if (performance.now() > deadline) throw new Error(`hubspot e2e: timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}
