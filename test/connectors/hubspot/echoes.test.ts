import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { APP_ID, hubSpotHarness } from "../../support/hubspot.js";

type Harness = Awaited<ReturnType<typeof hubSpotHarness>>;

/** How the app's own API writes are flagged in HubSpot's webhooks (facts A1). */
const APP = { changeSource: "INTEGRATION", sourceId: String(APP_ID) };

/** A synced deal and quote with two lines each, everything delivered and echoed. */
async function syncedPair(h: Harness) {
  const dealId = h.fake.createDeal({ dealname: "Echo Co", deal_currency_code: "USD", amount: "0" });
  const quoteId = h.fake.createQuote(dealId, { hs_title: "Echo Q", hs_template_type: "CPQ_QUOTE" });
  for (const [index, price] of ["10.50", "4.25"].entries()) {
    h.fake.addLineItem(
      { type: "quotes", id: quoteId },
      {
        name: `Item ${index}`,
        hs_sku: `E-${index}`,
        quantity: "2",
        price,
        hs_position_on_quote: String(index),
      },
    );
  }
  await h.settle();
  h.fake.update("quotes", quoteId, { quotesync_sync: "true" });
  await h.settle();
  return { dealId, quoteId };
}

describe("HubSpot header echoes are recognised by their values, not by their flag alone", () => {
  let h: Harness;
  beforeEach(async () => {
    h = await hubSpotHarness({ via: "direct" });
  });
  afterEach(async () => {
    expect(h.fake.violations).toEqual([]);
    await h.dispose();
  });

  it("drops the webhooks of quotesync's own deal and quote writes without calling HubSpot", async () => {
    const { dealId, quoteId } = await syncedPair(h);
    expect(h.fake.objects.deals.get(dealId)?.properties.amount).toBe("29.50");
    // HubSpot delivers the echoes again (its retries): the values are what quotesync wrote.
    const deal = h.fake.objects.deals.get(dealId)?.properties ?? {};
    const echoes = [
      {
        subscriptionType: "deal.propertyChange",
        objectId: Number(dealId),
        propertyName: "amount",
        propertyValue: "29.5",
      },
      {
        subscriptionType: "deal.propertyChange",
        objectId: Number(dealId),
        propertyName: "quotesync_synced_quote_id",
        propertyValue: deal.quotesync_synced_quote_id,
      },
      {
        subscriptionType: "object.propertyChange",
        objectTypeId: "0-14",
        objectId: Number(quoteId),
        propertyName: "quotesync_syncing",
        propertyValue: "true",
      },
    ].map((event, index) => ({
      eventId: 900 + index,
      subscriptionId: 77,
      portalId: h.tenant.connectors.crm.kind === "hubspot" ? h.tenant.connectors.crm.portalId : 0,
      appId: APP_ID,
      occurredAt: Date.now(),
      attemptNumber: 1,
      ...APP,
      ...event,
    }));
    const calls = h.fake.calls.length;
    const transactions = h.transactions;
    expect(await h.fake.deliver(echoes)).toBe(200);
    await h.deliver();
    expect(h.fake.calls.length).toBe(calls);
    expect(h.transactions).toBe(transactions);
  }, 120_000);

  it("reads back and answers a deal edit flagged as the app's whose value quotesync did not write", async () => {
    const { dealId } = await syncedPair(h);
    // Another tool on the app's credentials (or a workflow it started) changes the locked amount.
    h.fake.update("deals", dealId, { amount: "1.00" }, APP);
    const calls = h.fake.calls.length;
    await h.settle();
    const reads = h.fake.calls.slice(calls).filter((call) => call.path.endsWith("/deals/batch/read"));
    expect(reads.length).toBeGreaterThanOrEqual(1);
    // The amount is locked while synced: quotesync restores the quote's subtotal.
    expect(h.fake.objects.deals.get(dealId)?.properties.amount).toBe("29.50");
  }, 120_000);

  it("does not lose a quote's sync switch turned off under the app's flag", async () => {
    const { quoteId } = await syncedPair(h);
    expect((await h.store.loadQuote(h.tenant.tenantId, quoteId))?.header.syncing).toBe(true);
    h.fake.update("quotes", quoteId, { quotesync_sync: "false" }, APP);
    await h.settle();
    expect((await h.store.loadQuote(h.tenant.tenantId, quoteId))?.header.syncing).toBe(false);
    expect(h.fake.objects.quotes.get(quoteId)?.properties.quotesync_syncing).toBe("false");
  }, 120_000);
});
