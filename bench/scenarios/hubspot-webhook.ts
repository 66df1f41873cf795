import type { AddressInfo } from "node:net";
import { HubSpotClient } from "../../connectors/hubspot/client.js";
import { setupCustomProperties } from "../../connectors/hubspot/custom-properties.js";
import { FakeHubSpot } from "../../connectors/hubspot/fake/fake-hubspot.js";
import { staticToken } from "../../connectors/hubspot/tokens.js";
import { TenantConfig } from "../../domain/tenant.js";
import { setHubSpotEnvironment } from "../../functions/lib/hubspot-deps.js";
import { createRuntime, setRuntime } from "../../functions/lib/runtime.js";
import { DynamoConnectorStore } from "../../infra/dynamodb/connector-store.js";
import { DynamoSyncStore } from "../../infra/dynamodb/store.js";
import { createLocalHttpServer } from "../../local/http-adapter.js";
import { localRoutes } from "../../local/routes.js";
import type { Bench } from "../harness.js";
import { median, round } from "../stats.js";

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
  const store = new DynamoSyncStore({ doc: bench.doc, tableName: bench.tableName });
  const connectorStore = new DynamoConnectorStore(bench.doc, bench.tableName);
  const fake = new FakeHubSpot({
    portalId: 7001,
    appId: 7002,
    clientSecret: "bench-hubspot-secret",
    accessToken: "pat-bench",
  });
  const fakeUrl = await fake.listen();
  await setupCustomProperties(
    new HubSpotClient({
      baseUrl: fakeUrl,
      tokens: staticToken("pat-bench"),
      fetch,
      budget: { take: async () => {} },
    }),
  );
  const side = {
    kind: "hubspot",
    portalId: 7001,
    appId: 7002,
    baseUrl: fakeUrl,
    accessToken: "pat-bench",
    clientSecret: "bench-hubspot-secret",
    requestsPer10Seconds: 1000,
  };
  await store.putTenant(
    TenantConfig.parse({
      tenantId: "bench-hubspot",
      secrets: { crm: ["bench-crm-secret"], cpq: ["bench-cpq-secret"] },
      connectors: { crm: side, cpq: side },
    }),
  );
  setRuntime(createRuntime(store, { tenantCacheMs: 60_000 }));
  const server = createLocalHttpServer({ routes: localRoutes });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
  const publicUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  setHubSpotEnvironment({ publicUrl, connectorStore });
  fake.setWebhookUrl(`${publicUrl}/connectors/hubspot`);
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
    setHubSpotEnvironment({});
    setRuntime(undefined);
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await fake.close();
  }
}
