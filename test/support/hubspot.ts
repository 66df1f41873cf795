import type { AddressInfo } from "node:net";
import { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import type { TargetState } from "../../connectors/applier.js";
import { hubSpotApplier } from "../../connectors/hubspot/applier.js";
import { HubSpotClient } from "../../connectors/hubspot/client.js";
import { setupCustomProperties } from "../../connectors/hubspot/custom-properties.js";
import { FakeHubSpot, type FakeHubSpotOptions } from "../../connectors/hubspot/fake/fake-hubspot.js";
import { portalBudget, type RateBudget } from "../../connectors/hubspot/rate-limit.js";
import { staticToken } from "../../connectors/hubspot/tokens.js";
import { TenantConfig } from "../../domain/tenant.js";
import { createDeliveryRuntime, setDeliveryRuntime } from "../../functions/lib/delivery-runtime.js";
import { setHubSpotEnvironment } from "../../functions/lib/hubspot-deps.js";
import { createRuntime, runtime, setRuntime } from "../../functions/lib/runtime.js";
import { DynamoConnectorStore } from "../../infra/dynamodb/connector-store.js";
import { DynamoSyncStore } from "../../infra/dynamodb/store.js";
import { createLocalHttpServer } from "../../local/http-adapter.js";
import { localRoutes } from "../../local/routes.js";
import { startStreamDelivery } from "./delivery.js";
import { createTestTable } from "./dynamo.js";

export const PORTAL_ID = 62515;
export const APP_ID = 54321;
export const CLIENT_SECRET = "hubspot-app-client-secret";
export const ACCESS_TOKEN = "pat-na1-test-token";

/** `quotesync hubspot setup-properties` against a (fake) portal: the custom properties quotesync writes. */
export async function setUpPortal(
  baseUrl: string,
  budget: RateBudget = { take: async () => {} },
): Promise<void> {
  await setupCustomProperties(
    new HubSpotClient({ baseUrl, tokens: staticToken(ACCESS_TOKEN), fetch, budget }),
  );
}

export function hubSpotTenant(baseUrl: string, overrides: Record<string, unknown> = {}): TenantConfig {
  const side = {
    kind: "hubspot",
    portalId: PORTAL_ID,
    appId: APP_ID,
    baseUrl,
    accessToken: ACCESS_TOKEN,
    clientSecret: CLIENT_SECRET,
    stages: { "Closed Won": "closedwon", Negotiation: "contractsent" },
    // Under the fake portal's 100 / 10 s, with room for requests that arrive a moment after their grant
    // on a busy machine (the budget holds grants 11 s; 80 is the default for the same reason).
    requestsPer10Seconds: 90,
  };
  return TenantConfig.parse({
    tenantId: "hs",
    secrets: { crm: ["hs-crm-secret-0001"], cpq: ["hs-cpq-secret-0001"] },
    approvals: { maxDiscountPercent: "20" },
    connectors: { crm: side, cpq: side },
    ...overrides,
  });
}

/**
 * quotesync's real handlers on DynamoDB Local behind a local HTTP server, a fake HubSpot posting
 * signed webhooks to it, and a stand-in for `deliver` that applies each outbox entry through the
 * `hubspot` applier in commit order, keeping each pair's target state as `deliver` does.
 */
export async function hubSpotHarness(
  options: Partial<FakeHubSpotOptions> & {
    now?: () => number;
    /** How quotesync's rate budget waits: with `now`, a `VirtualClock`'s (test/support/virtual-clock.ts). */
    sleep?: (ms: number) => Promise<void>;
    /** `deliver`: the real deliver function on DynamoDB Local's stream; `direct`: the stand-in below. */
    via?: "direct" | "deliver";
  } = {},
) {
  const table = await createTestTable({ stream: options.via === "deliver" });
  const doc = DynamoDBDocumentClient.from(table.client, { marshallOptions: { removeUndefinedValues: true } });
  const store = new DynamoSyncStore({ doc, tableName: table.tableName });
  const connectorStore = new DynamoConnectorStore(doc, table.tableName);
  // The stand-in for deliver reads the outbox only once every decision has committed, so numbers
  // reserved and left unused (gaps the outbox skips after a grace period) need not be waited for.
  const outboxReader = new DynamoSyncStore({
    doc,
    tableName: table.tableName,
    clock: () => Date.now() + 3_600_000,
  });
  const fake = new FakeHubSpot({
    portalId: PORTAL_ID,
    appId: APP_ID,
    clientSecret: CLIENT_SECRET,
    accessToken: ACCESS_TOKEN,
    ...options,
  });
  const fakeUrl = await fake.listen();
  const tenant = hubSpotTenant(fakeUrl);
  // As an admin installing the app does: the quotesync_* properties first, within the portal's budget.
  await setUpPortal(
    fakeUrl,
    portalBudget({
      store: connectorStore,
      tenantId: tenant.tenantId,
      portalId: PORTAL_ID,
      limit: tenant.connectors.crm.kind === "hubspot" ? tenant.connectors.crm.requestsPer10Seconds : 80,
      now: options.now ?? Date.now,
      ...(options.sleep ? { sleep: options.sleep } : {}),
    }),
  );
  await store.putTenant(tenant);
  // Decisions counted as DynamoDB sees them: each decision commits in one TransactWriteItems.
  let transactions = 0;
  doc.middlewareStack.add(
    (next, context) => async (args) => {
      if (context.commandName === "TransactWriteItemsCommand") transactions++;
      return next(args);
    },
    { step: "initialize", name: "countTransactions" },
  );
  setRuntime(createRuntime(store, { tenantCacheMs: 0 }));
  const server = createLocalHttpServer({ routes: localRoutes });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
  const publicUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  setHubSpotEnvironment({
    publicUrl,
    connectorStore,
    ...(options.now ? { now: options.now } : {}),
    ...(options.sleep ? { sleep: options.sleep } : {}),
  });
  fake.setWebhookUrl(`${publicUrl}/connectors/hubspot`);

  let stopDelivery = async () => {};
  /** Resolves once `deliver` has nothing to do soon (deliver mode). */
  let deliveryIdle = async () => {};
  /** How far the delivery functions' clock is ahead of the wall clock (see `skipAhead`). */
  let deliveryClockAhead = 0;
  if (options.via === "deliver") {
    const deliveryNow = () => (options.now ?? Date.now)() + deliveryClockAhead;
    const rt = createDeliveryRuntime({
      doc,
      tableName: table.tableName,
      loadTenant: (tenantId) => runtime().loadTenant(tenantId),
      connectorStore,
      backoff: { baseMs: 20, capMs: 500, windowMs: 600_000 },
      leaseMs: 10_000,
      now: deliveryNow,
    });
    setDeliveryRuntime(rt);
    const delivery = await startStreamDelivery({ client: table.client, rt, now: deliveryNow });
    deliveryIdle = () => delivery.idle();
    stopDelivery = async () => {
      await delivery.stop();
      setDeliveryRuntime(undefined);
    };
  }

  const states = new Map<string, TargetState>();
  let cursor: string | null = null;
  const waiting: string[] = [];

  /** Applies every outbox entry not yet applied, in order; returns how many were delivered. */
  async function deliver(): Promise<number> {
    let delivered = 0;
    for (;;) {
      const page = await outboxReader.readOutbox(tenant.tenantId, cursor, 100);
      for (const entry of page.entries) {
        const { mirror } = entry;
        const side = mirror.target;
        const key = `${side}:${mirror.opportunityId}:${mirror.quoteId}`;
        const state = states.get(key) ?? { lineIds: {}, facts: {} };
        for (let attempt = 0; ; attempt++) {
          try {
            const result = await hubSpotApplier.apply(
              {
                tenantId: tenant.tenantId,
                entryId: entry.cursor,
                cursor: entry.cursor,
                at: entry.at,
                mirror,
              },
              {
                tenant,
                connector: tenant.connectors[side],
                side,
                state,
                fetch,
                now: options.now ?? Date.now,
                ...(options.sleep ? { sleep: options.sleep } : {}),
                connectorStore,
              },
            );
            applyChanges(state, result.changes);
            if (result.outcome === "waiting") waiting.push(entry.cursor);
            else delivered++;
            break;
          } catch (error) {
            const changes = (error as { changes?: Parameters<typeof applyChanges>[1] }).changes;
            applyChanges(state, changes);
            if ((error as Error).name !== "TransientDeliveryError" || attempt > 50) throw error;
          }
        }
        states.set(key, state);
        cursor = entry.cursor;
      }
      if (!page.next || page.entries.length === 0) return delivered;
    }
  }

  /**
   * Waits until delivery is done (deliver works in the background): nothing left for it to do soon,
   * twice in a row with no new API call to the fake nor webhook queued by it in between.
   */
  async function waitQuiet(): Promise<void> {
    if (options.via !== "deliver") {
      await deliver();
      return;
    }
    let seen = -1;
    for (;;) {
      await deliveryIdle();
      const now = fake.calls.length + fake.queuedEvents.length * 1_000_000;
      if (now === seen) return;
      seen = now;
    }
  }

  /** Webhooks out, mirrors delivered, until both sides are quiet. */
  async function settle(rounds = 20): Promise<void> {
    for (let round = 0; round < rounds; round++) {
      const sent = await fake.flushWebhooks();
      const before = fake.calls.length;
      await waitQuiet();
      if (sent === 0 && fake.calls.length === before && fake.queuedEvents.length === 0) return;
    }
  }

  return {
    fake,
    table,
    store,
    connectorStore,
    tenant,
    publicUrl,
    states,
    waiting,
    deliver,
    waitQuiet,
    settle,
    /**
     * Moves the delivery functions' clock `ms` ahead (deliver mode): what is due within `ms` — a
     * mirror waiting for a published quote, say — is due now for the retry pass.
     */
    skipAhead(ms: number): void {
      deliveryClockAhead += ms;
    },
    get transactions() {
      return transactions;
    },
    async dispose() {
      await stopDelivery();
      setHubSpotEnvironment({});
      setRuntime(undefined);
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await fake.close();
      await table.dispose();
    },
  };
}

function applyChanges(
  state: TargetState,
  changes: { lineIds?: { set?: Record<string, string>; remove?: string[] } } | undefined,
): void {
  if (!changes?.lineIds) return;
  const lineIds = { ...state.lineIds, ...(changes.lineIds.set ?? {}) };
  for (const key of changes.lineIds.remove ?? []) delete lineIds[key];
  (state as { lineIds: Record<string, string> }).lineIds = lineIds;
}
