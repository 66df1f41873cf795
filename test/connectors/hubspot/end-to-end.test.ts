import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { LOCKED_QUOTE_RETRY_MS } from "../../../connectors/hubspot/applier.js";
import { hubSpotHarness } from "../../support/hubspot.js";

type Harness = Awaited<ReturnType<typeof hubSpotHarness>>;

/** A deal and a quote on it with `count` quote line items, all reported to quotesync. */
async function dealWithQuote(h: Harness, count: number) {
  const dealId = h.fake.createDeal({ dealname: "Acme renewal", deal_currency_code: "USD", amount: "0" });
  const quoteId = h.fake.createQuote(dealId, { hs_title: "Acme Q-1", hs_template_type: "CPQ_QUOTE" });
  for (let index = 0; index < count; index++) {
    h.fake.addLineItem(
      { type: "quotes", id: quoteId },
      {
        name: `Seat ${index}`,
        hs_sku: `SKU-${index}`,
        quantity: String(index + 1),
        price: "19.99",
        hs_discount_percentage: index % 10 === 0 ? "5" : "0",
        hs_position_on_quote: String(index),
      },
    );
  }
  await h.settle();
  return { dealId, quoteId };
}

/** The exact subtotal of the quote's line items, as the engine computes it (quantity × price less discount). */
function expectedSubtotal(count: number): string {
  let cents = 0n;
  for (let index = 0; index < count; index++) {
    // 19.99 × (index+1) × (1 − d), in ten-thousandths of a cent, then rounded half-up to cents.
    const gross = 1999n * BigInt(index + 1);
    const net = index % 10 === 0 ? gross * 95n : gross * 100n;
    cents += (net + 50n) / 100n;
  }
  return `${cents / 100n}.${String(cents % 100n).padStart(2, "0")}`;
}

/** Whole stories on DynamoDB Local, a fake portal and deliver: slow on a shared machine, never timed. */
describe.each([
  ["the deliver function on the table's stream", "deliver"],
  ["mirrors applied in commit order by the applier alone", "direct"],
] as const)(
  "HubSpot deals ↔ HubSpot quotes end to end on DynamoDB Local and the fake, through %s",
  (_name, via) => {
    let h: Harness;
    beforeEach(async () => {
      h = await hubSpotHarness({ via });
    });
    afterEach(async () => {
      expect(h.fake.violations).toEqual([]);
      await h.dispose();
    });

    it("starts from a 150-line quote: 150 deal line items in 2 create calls, the exact amount, no echo calls", async () => {
      const { dealId, quoteId } = await dealWithQuote(h, 150);
      h.fake.update("quotes", quoteId, { quotesync_sync: "true" });
      // Counted from before the webhook is sent: delivery may write while the flush is answered.
      const before = h.fake.calls.length;
      await h.fake.flushWebhooks();
      await h.waitQuiet();
      const writes = h.fake.calls.slice(before);
      const creates = writes.filter((call) => call.path === "/crm/v3/objects/line_items/batch/create");
      expect(creates.map((call) => call.inputs)).toEqual([100, 50]);
      const dealLines = h.fake.lineItemsOf("deals", dealId);
      expect(dealLines).toHaveLength(150);
      expect(new Set(dealLines.map((line) => line.properties.quotesync_sync_key)).size).toBe(150);
      expect(h.fake.objects.deals.get(dealId)?.properties.amount).toBe(expectedSubtotal(150));
      expect(h.fake.objects.deals.get(dealId)?.properties.quotesync_synced_quote_id).toBe(quoteId);
      expect(h.fake.objects.quotes.get(quoteId)?.properties.quotesync_syncing).toBe("true");

      // HubSpot's webhooks for those writes: no further API call, no further mirror.
      const afterWrites = h.fake.calls.length;
      const echoed = await h.fake.flushWebhooks();
      expect(echoed).toBeGreaterThanOrEqual(150);
      await h.waitQuiet();
      expect(h.fake.calls.length).toBe(afterWrites);
      expect(h.fake.webhookResponses.every((status) => status === 200)).toBe(true);
    }, 240_000);

    it("a rep's edit of a deal line reaches the quote line", async () => {
      const { dealId, quoteId } = await dealWithQuote(h, 3);
      h.fake.update("quotes", quoteId, { quotesync_sync: "true" });
      await h.settle();
      const dealLine = h.fake.lineItemsOf("deals", dealId).find((line) => line.properties.name === "Seat 1");
      expect(dealLine).toBeDefined();
      h.fake.update("line_items", dealLine?.id ?? "", { quantity: "7" });
      await h.settle();
      const quoteLine = h.fake
        .lineItemsOf("quotes", quoteId)
        .find((line) => line.properties.name === "Seat 1");
      expect(quoteLine?.properties.quantity).toBe("7");
    }, 240_000);

    it("a quote line deleted archives its deal twin", async () => {
      const { dealId, quoteId } = await dealWithQuote(h, 3);
      h.fake.update("quotes", quoteId, { quotesync_sync: "true" });
      await h.settle();
      expect(h.fake.lineItemsOf("deals", dealId)).toHaveLength(3);
      const quoteLine = h.fake
        .lineItemsOf("quotes", quoteId)
        .find((line) => line.properties.name === "Seat 2");
      h.fake.remove("line_items", quoteLine?.id ?? "");
      await h.settle();
      const names = h.fake.lineItemsOf("deals", dealId).map((line) => line.properties.name);
      expect(names.sort()).toEqual(["Seat 0", "Seat 1"]);
    }, 240_000);

    it("the quote accepted sets the mapped deal stage", async () => {
      const { dealId, quoteId } = await dealWithQuote(h, 2);
      h.fake.update("quotes", quoteId, { quotesync_sync: "true" });
      await h.settle();
      h.fake.update("quotes", quoteId, { hs_status: "ACCEPTED" });
      await h.settle();
      expect(h.fake.objects.deals.get(dealId)?.properties.dealstage).toBe("closedwon");
    }, 240_000);
  },
);

describe("a published HubSpot quote through deliver on DynamoDB Local and the fake", () => {
  let h: Harness;
  beforeEach(async () => {
    h = await hubSpotHarness({ via: "deliver" });
  });
  afterEach(async () => {
    expect(h.fake.violations).toEqual([]);
    await h.dispose();
  });

  it("holds a deal edit while the quote is locked, shows it on the deal, and applies it once the quote is a draft", async () => {
    const { dealId, quoteId } = await dealWithQuote(h, 2);
    h.fake.update("quotes", quoteId, { quotesync_sync: "true" });
    await h.settle();
    h.fake.update("quotes", quoteId, { hs_status: "APPROVED" });
    await h.settle();
    const seat = (type: "deals" | "quotes", id: string) =>
      h.fake.lineItemsOf(type, id).find((line) => line.properties.name === "Seat 1");
    h.fake.update("line_items", seat("deals", dealId)?.id ?? "", { quantity: "7" });
    await h.settle();
    expect(seat("quotes", quoteId)?.properties.quantity).toBe("2");
    const deal = () => h.fake.objects.deals.get(dealId)?.properties ?? {};
    expect(Number(deal().quotesync_pending_changes)).toBeGreaterThanOrEqual(1);

    h.fake.update("quotes", quoteId, { hs_status: "DRAFT" });
    await h.settle();
    // The waiting mirror is tried again LOCKED_QUOTE_RETRY_MS (15 s) after the quote refused it: by
    // the retry pass, with delivery's clock moved past the wait instead of waiting it out.
    h.skipAhead(LOCKED_QUOTE_RETRY_MS);
    await h.settle();
    expect(seat("quotes", quoteId)?.properties.quantity).toBe("7");
    expect(deal().quotesync_pending_changes).toBe("0");
  }, 240_000);
});
