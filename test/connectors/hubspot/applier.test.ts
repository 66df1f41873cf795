import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  MemoryConnectorStore,
  PermanentDeliveryError,
  type TargetState,
  TransientDeliveryError,
} from "../../../connectors/applier.js";
import { hubSpotApplier } from "../../../connectors/hubspot/applier.js";
import { FakeHubSpot } from "../../../connectors/hubspot/fake/fake-hubspot.js";
import type { Mirror, MirrorLine } from "../../../domain/model.js";
import {
  ACCESS_TOKEN,
  APP_ID,
  CLIENT_SECRET,
  hubSpotTenant,
  PORTAL_ID,
  setUpPortal,
} from "../../support/hubspot.js";

function line(syncKey: string, overrides: Partial<MirrorLine> = {}): MirrorLine {
  return {
    id: null,
    syncKey,
    productId: "SKU-1",
    name: `Line ${syncKey}`,
    quantity: "3",
    unitPrice: "33.333333",
    discountPercent: "12.5",
    billing: "recurring",
    billingPeriod: "quarter",
    position: 2,
    serviceDate: "2026-12-01",
    fields: {},
    ...overrides,
  };
}

describe("the hubspot applier against the fake", () => {
  let fake: FakeHubSpot;
  let store: MemoryConnectorStore;
  beforeEach(async () => {
    fake = new FakeHubSpot({
      portalId: PORTAL_ID,
      appId: APP_ID,
      clientSecret: CLIENT_SECRET,
      accessToken: ACCESS_TOKEN,
    });
    await setUpPortal(await fake.listen());
    store = new MemoryConnectorStore();
  });
  afterEach(async () => {
    await fake.close();
  });

  async function apply(mirror: Mirror, state: TargetState = { lineIds: {}, facts: {} }, pending?: number) {
    const tenant = hubSpotTenant(fake.url);
    return hubSpotApplier.apply(
      { tenantId: "hs", entryId: "e1", cursor: "c1", at: new Date().toISOString(), mirror },
      {
        tenant,
        connector: tenant.connectors[mirror.target],
        side: mirror.target,
        state,
        fetch,
        now: Date.now,
        connectorStore: store,
        ...(pending === undefined ? {} : { pending }),
      },
    );
  }

  it("writes every line field as a string, with the sync key and the deal association", async () => {
    const dealId = fake.createDeal({ dealname: "D" });
    const result = await apply({
      target: "crm",
      opportunityId: dealId,
      quoteId: "q",
      lines: { upsert: [line("k1")], delete: [] },
    });
    const [item] = fake.lineItemsOf("deals", dealId);
    expect(result).toEqual({ outcome: "delivered", changes: { lineIds: { set: { k1: item?.id } } } });
    expect(item?.properties).toMatchObject({
      name: "Line k1",
      hs_sku: "SKU-1",
      quantity: "3",
      price: "33.333333",
      hs_discount_percentage: "12.5",
      recurringbillingfrequency: "quarterly",
      hs_recurring_billing_start_date: "2026-12-01",
      hs_position_on_quote: "2",
      quotesync_sync_key: "k1",
    });
    const create = fake.calls.find((call) => call.path.endsWith("/batch/create"));
    expect(create?.status).toBe(201);
    expect(fake.violations).toEqual([]);
  });

  it("updates by the id it keeps for a sync key, and archives by sync key or id (already gone = done)", async () => {
    const dealId = fake.createDeal({ dealname: "D" });
    const first = await apply({
      target: "crm",
      opportunityId: dealId,
      quoteId: "q",
      lines: { upsert: [line("k1"), line("k2")], delete: [] },
    });
    const ids = (first.changes?.lineIds?.set ?? {}) as Record<string, string>;
    const state = { lineIds: ids, facts: {} };
    const second = await apply(
      {
        target: "crm",
        opportunityId: dealId,
        quoteId: "q",
        lines: { upsert: [line("k1", { quantity: "5" })], delete: ["k2", "999999"] },
      },
      state,
    );
    expect(second.changes).toEqual({ lineIds: { remove: ["k2"] } });
    expect(fake.lineItemsOf("deals", dealId).map((item) => item.properties.quantity)).toEqual(["5"]);
    expect(fake.calls.filter((call) => call.path.endsWith("/batch/create"))).toHaveLength(1);
  });

  it("waits, writing nothing, while the quote is published and locked", async () => {
    const dealId = fake.createDeal({ dealname: "D" });
    const quoteId = fake.createQuote(dealId, { hs_title: "Q" });
    fake.update("quotes", quoteId, { hs_status: "APPROVED" });
    const result = await apply({
      target: "cpq",
      opportunityId: dealId,
      quoteId,
      lines: { upsert: [line("k1")], delete: [] },
      quote: { syncing: true },
    });
    expect(result).toMatchObject({ outcome: "waiting", reason: "quote locked" });
    expect(fake.lineItemsOf("quotes", quoteId)).toHaveLength(0);
  });

  it("shows the changes waiting for a locked quote on the deal, and clears them once applied", async () => {
    const dealId = fake.createDeal({ dealname: "D" });
    const quoteId = fake.createQuote(dealId, { hs_title: "Q" });
    fake.update("quotes", quoteId, { hs_status: "APPROVED" });
    const mirror: Mirror = {
      target: "cpq",
      opportunityId: dealId,
      quoteId,
      lines: { upsert: [line("k1")], delete: [] },
      quote: { syncing: true },
    };
    const state = { lineIds: {}, facts: {} as Record<string, string> };
    const waiting = await apply(mirror, state, 3);
    expect(waiting).toMatchObject({ outcome: "waiting", changes: { facts: { hubspotPendingOnDeal: "3" } } });
    expect(fake.objects.deals.get(dealId)?.properties.quotesync_pending_changes).toBe("3");
    state.facts = { hubspotPendingOnDeal: "3" };
    // Tried again while still locked, with the same count: the deal is not written again.
    const patches = () =>
      fake.calls.filter((call) => call.method === "PATCH" && call.path.includes("/deals/"));
    expect(patches()).toHaveLength(1);
    await apply(mirror, state, 3);
    expect(patches()).toHaveLength(1);

    fake.update("quotes", quoteId, { hs_status: "DRAFT" });
    // Two of three still to go after this one: the deal keeps its count until the last is applied.
    const first = await apply(mirror, state, 3);
    expect(first).toMatchObject({ outcome: "delivered" });
    expect(fake.objects.deals.get(dealId)?.properties.quotesync_pending_changes).toBe("3");
    const last = await apply(mirror, { ...state, lineIds: first.changes?.lineIds?.set ?? {} }, 1);
    expect(last.changes?.facts).toEqual({ hubspotPendingOnDeal: null });
    expect(fake.objects.deals.get(dealId)?.properties.quotesync_pending_changes).toBe("0");
    expect(fake.violations).toEqual([]);
  });

  it("is refused by a portal whose quotesync_* properties were never created", async () => {
    const bare = new FakeHubSpot({
      portalId: PORTAL_ID,
      appId: APP_ID,
      clientSecret: CLIENT_SECRET,
      accessToken: ACCESS_TOKEN,
    });
    const tenant = hubSpotTenant(await bare.listen());
    try {
      const dealId = bare.createDeal({ dealname: "D" });
      const failure = await hubSpotApplier
        .apply(
          {
            tenantId: "hs",
            entryId: "e1",
            cursor: "c1",
            at: new Date().toISOString(),
            mirror: {
              target: "crm",
              opportunityId: dealId,
              quoteId: "q",
              opportunity: { amount: "10.00", amountLocked: true, syncedQuoteId: "q" },
            },
          },
          {
            tenant,
            connector: tenant.connectors.crm,
            side: "crm",
            state: { lineIds: {}, facts: {} },
            fetch,
            now: Date.now,
            connectorStore: store,
          },
        )
        .catch((error: unknown) => error);
      expect(failure).toBeInstanceOf(PermanentDeliveryError);
      expect((failure as Error).message).toContain("PROPERTY_DOESNT_EXIST");
      expect(bare.violations.join("\n")).toContain("quotesync_synced_quote_id");
    } finally {
      await bare.close();
    }
  });

  it("turns 429 into a transient error with HubSpot's interval as the wait", async () => {
    const dealId = fake.createDeal({ dealname: "D" });
    fake.options.failRate = 1;
    const failure = await apply({
      target: "crm",
      opportunityId: dealId,
      quoteId: "q",
      lines: { upsert: [line("k1")], delete: [] },
    }).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(TransientDeliveryError);
    expect((failure as TransientDeliveryError).retryAfterMs).toBe(10_000);
  });

  it("parks a mirror HubSpot refuses (207 with VALIDATION_ERROR errors)", async () => {
    const dealId = fake.createDeal({ dealname: "D" });
    const lines = Array.from({ length: 101 }, (_, index) => line(`k${index}`));
    // The parent is gone: HubSpot answers 207 with a VALIDATION_ERROR per input.
    fake.objects.deals.delete(dealId);
    const failure = await apply({
      target: "crm",
      opportunityId: dealId,
      quoteId: "q",
      lines: { upsert: lines, delete: [] },
    }).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(PermanentDeliveryError);
    expect((failure as PermanentDeliveryError).vendorCode).toBe("VALIDATION_ERROR");
  });
});

describe("the fake checks requests against HubSpot's documented shapes", () => {
  it("refuses and records a request its schemas do not allow", async () => {
    const fake = new FakeHubSpot({
      portalId: PORTAL_ID,
      appId: APP_ID,
      clientSecret: CLIENT_SECRET,
      accessToken: ACCESS_TOKEN,
    });
    await fake.listen();
    try {
      const bad = await fetch(`${fake.url}/crm/v3/objects/line_items/batch/create`, {
        method: "POST",
        headers: { authorization: `Bearer ${ACCESS_TOKEN}`, "content-type": "application/json" },
        // `associations` is required; 101 inputs exceed the batch limit.
        body: JSON.stringify({ inputs: Array.from({ length: 101 }, () => ({ properties: { name: "x" } })) }),
      });
      expect(bad.status).toBe(400);
      expect(((await bad.json()) as { category: string }).category).toBe("VALIDATION_ERROR");
      expect(fake.violations).toHaveLength(1);
      const unknown = await fetch(`${fake.url}/crm/v3/objects/line_items/batch/upsert`, {
        method: "POST",
        headers: { authorization: `Bearer ${ACCESS_TOKEN}`, "content-type": "application/json" },
        body: JSON.stringify({ inputs: [] }),
      });
      expect(unknown.status).toBe(404);
      expect(fake.violations).toHaveLength(2);
    } finally {
      await fake.close();
    }
  });
});
