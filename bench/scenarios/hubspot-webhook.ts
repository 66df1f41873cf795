import { DynamoConnectorStore } from "../../infra/dynamodb/connector-store.js";
import { DynamoSyncStore } from "../../infra/dynamodb/store.js";
import type { Bench } from "../harness.js";
import { median, round } from "../stats.js";
import { hubSpotPortal } from "./hubspot-portal.js";

export interface HubSpotWebhookResult {
  events: number;
  p50Ms: number;
  maxMs: number;
  /** HubSpot API calls quotesync made per request (reads). */
  callsPerRequest: number;
}

const ROUNDS = 10;

/**
 * `POST /connectors/hubspot` answering HubSpot: a request of 100 line item edits on one deal of
 * 100 lines (read back, one decision), timed from the fake's side as HubSpot would (it waits 5 s).
 */
export async function hubSpotWebhook(bench: Bench): Promise<HubSpotWebhookResult> {
  const { fake, close } = await hubSpotPortal({
    store: new DynamoSyncStore({ doc: bench.doc, tableName: bench.tableName }),
    connectorStore: new DynamoConnectorStore(bench.doc, bench.tableName),
    tenantId: "bench-hubspot",
    portalId: 7001,
    appId: 7002,
    clientSecret: "bench-hubspot-secret",
    accessToken: "pat-bench",
    requestsPer10Seconds: 1000,
  });
  try {
    const dealId = fake.createDeal({ dealname: "Bench", deal_currency_code: "USD" });
    const ids = Array.from({ length: 100 }, (_, index) =>
      fake.addLineItem({ type: "deals", id: dealId }, { name: `L${index}`, quantity: "1", price: "10" }),
    );
    await fake.flushWebhooks();
    const durations: number[] = [];
    let calls = 0;
    for (let round = 0; round < ROUNDS; round++) {
      for (const id of ids) fake.update("line_items", id, { quantity: String(round + 2) });
      const before = fake.calls.length;
      const timed = fake.webhookDurations.length;
      await fake.flushWebhooks();
      durations.push(...fake.webhookDurations.slice(timed));
      calls += fake.calls.length - before;
    }
    return {
      events: 100,
      p50Ms: round(median(durations)),
      maxMs: round(Math.max(...durations)),
      callsPerRequest: calls / ROUNDS,
    };
  } finally {
    await close();
  }
}
