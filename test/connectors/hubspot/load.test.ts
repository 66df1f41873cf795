import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { lineTotal, sumMoney } from "../../../domain/decimal.js";
import { hubSpotHarness } from "../../support/hubspot.js";
import { VirtualClock } from "../../support/virtual-clock.js";

const PAIRS = 30;
const EDITS_PER_PAIR = 10;

/** A small deterministic generator, so a failure can be replayed. */
function random(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state * 1_103_515_245 + 12_345) % 2 ** 31;
    return state / 2 ** 31;
  };
}

describe("300 HubSpot events across 30 deals, duplicated and shuffled, with 10 % of calls answered 429", () => {
  let h: Awaited<ReturnType<typeof hubSpotHarness>>;
  const pairs: Array<{ dealId: string; quoteId: string }> = [];
  const rand = random(20261130);
  // The portal, quotesync's rate budget and the webhooks' signatures keep one clock, moved by the
  // budget's waits: the ~800 calls take the minutes HubSpot's 100-per-10 s allows on that clock,
  // and seconds on the wall clock. The window check below reads the portal's call times from it.
  const clock = new VirtualClock();

  beforeAll(async () => {
    h = await hubSpotHarness({ random: rand, now: clock.now, sleep: clock.sleep });
    for (let pair = 0; pair < PAIRS; pair++) {
      const dealId = h.fake.createDeal({ dealname: `Deal ${pair}`, deal_currency_code: "USD" });
      const quoteId = h.fake.createQuote(dealId, { hs_title: `Quote ${pair}` });
      for (let index = 0; index < 3; index++) {
        h.fake.addLineItem(
          { type: "quotes", id: quoteId },
          { name: `P${pair}-L${index}`, quantity: "1", price: "10.10", hs_discount_percentage: "0" },
        );
      }
      pairs.push({ dealId, quoteId });
    }
    await h.settle();
    for (const { quoteId } of pairs) h.fake.update("quotes", quoteId, { quotesync_sync: "true" });
    await h.settle();
  }, 300_000);

  afterAll(async () => {
    await h?.dispose();
  });

  it("converges: the same lines on both sides of every pair, the deal amount equal to the quote subtotal", async () => {
    for (const { dealId } of pairs) expect(h.fake.lineItemsOf("deals", dealId)).toHaveLength(3);
    const callsBefore = h.fake.calls.length;
    h.fake.options.failRate = 0.1;
    for (const { dealId, quoteId } of pairs) {
      for (let edit = 0; edit < EDITS_PER_PAIR; edit++) {
        const onDeal = rand() < 0.5;
        const items = h.fake.lineItemsOf(onDeal ? "deals" : "quotes", onDeal ? dealId : quoteId);
        const item = items[Math.floor(rand() * items.length)];
        if (!item) continue;
        h.fake.update("line_items", item.id, {
          quantity: String(1 + Math.floor(rand() * 20)),
          hs_discount_percentage: String(Math.floor(rand() * 4) * 5),
        });
      }
    }
    const events = h.fake.takeQueuedEvents();
    expect(events.length).toBeGreaterThanOrEqual(PAIRS * EDITS_PER_PAIR);
    const deliveries = [...events, ...events].sort(() => rand() - 0.5);
    for (let start = 0; start < deliveries.length; start += 100) {
      const batch = deliveries.slice(start, start + 100);
      // HubSpot retries a request that did not get a 2xx.
      for (let attempt = 0; (await h.fake.deliver(batch)) !== 200; attempt++) {
        expect(attempt).toBeLessThan(50);
      }
    }
    await h.settle(40);
    h.fake.options.failRate = 0;
    await h.settle(40);

    expect(h.fake.calls.slice(callsBefore).some((call) => call.status === 429)).toBe(true);
    for (const { dealId, quoteId } of pairs) {
      const shape = (type: "deals" | "quotes", id: string) =>
        h.fake
          .lineItemsOf(type, id)
          .map(
            (item) =>
              `${item.properties.name}|${Number(item.properties.quantity)}|${item.properties.price}|${Number(item.properties.hs_discount_percentage ?? 0)}`,
          )
          .sort();
      expect(shape("deals", dealId)).toEqual(shape("quotes", quoteId));
      const subtotal = sumMoney(
        h.fake.lineItemsOf("quotes", quoteId).map((item) =>
          lineTotal({
            quantity: item.properties.quantity,
            unitPrice: item.properties.price,
            discountPercent: item.properties.hs_discount_percentage ?? "0",
            currency: "USD",
          }),
        ),
        "USD",
      );
      expect(h.fake.objects.deals.get(dealId)?.properties.amount).toBe(subtotal);
    }
    expect(h.fake.calls.every((call) => call.inputs <= 100)).toBe(true);
    // The portal's budget: never more than 100 calls in any 10 s window.
    const times = h.fake.calls.map((call) => call.at).sort((a, b) => a - b);
    let most = 0;
    for (let first = 0, last = 0; last < times.length; last++) {
      while ((times[last] ?? 0) - (times[first] ?? 0) >= 10_000) first++;
      most = Math.max(most, last - first + 1);
    }
    expect(most).toBeLessThanOrEqual(100);
    expect(h.fake.violations).toEqual([]);
  }, 600_000);
});
