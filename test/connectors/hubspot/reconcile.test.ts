import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { runCli } from "../../../cli/main.js";
import { dynamoEndpoint } from "../../support/dynamo.js";
import { hubSpotHarness } from "../../support/hubspot.js";

type Harness = Awaited<ReturnType<typeof hubSpotHarness>>;

async function reconcile(h: Harness, tenantId: string) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runCli(
    ["reconcile", "--tenant", tenantId, "--table", h.table.tableName, "--endpoint", dynamoEndpoint()],
    {
      stdout: (text) => void out.push(text),
      stderr: (text) => void err.push(text),
      stdin: async () => Buffer.alloc(0),
      env: {},
    },
  );
  return { code, out: out.join(""), err: err.join("") };
}

describe("quotesync reconcile --tenant for a tenant on HubSpot", () => {
  let h: Harness;
  beforeEach(async () => {
    h = await hubSpotHarness({ via: "direct" });
  });
  afterEach(async () => {
    expect(h.fake.violations).toEqual([]);
    await h.dispose();
  });

  it("reads the synced pairs back from HubSpot and corrects edits whose webhooks were lost", async () => {
    const dealId = h.fake.createDeal({ dealname: "Lost", deal_currency_code: "USD", amount: "0" });
    const quoteId = h.fake.createQuote(dealId, { hs_title: "Lost Q", hs_template_type: "CPQ_QUOTE" });
    for (let index = 0; index < 3; index++) {
      h.fake.addLineItem(
        { type: "quotes", id: quoteId },
        {
          name: `Line ${index}`,
          hs_sku: `L-${index}`,
          quantity: "1",
          price: "20",
          hs_position_on_quote: String(index),
        },
      );
    }
    await h.settle();
    h.fake.update("quotes", quoteId, { quotesync_sync: "true" });
    await h.settle();
    const byName = (type: "deals" | "quotes", id: string, name: string) =>
      h.fake.lineItemsOf(type, id).find((item) => item.properties.name === name);
    // A rep edits one deal line and deletes another; HubSpot's webhooks for both never arrive.
    h.fake.update("line_items", byName("deals", dealId, "Line 1")?.id ?? "", { quantity: "9" });
    h.fake.remove("line_items", byName("deals", dealId, "Line 2")?.id ?? "");
    expect(h.fake.takeQueuedEvents().length).toBeGreaterThanOrEqual(2);
    await h.deliver();
    expect(byName("quotes", quoteId, "Line 1")?.properties.quantity).toBe("1");
    expect(byName("quotes", quoteId, "Line 2")).toBeDefined();

    const run = await reconcile(h, h.tenant.tenantId);
    expect(run.code, run.err).toBe(0);
    expect(run.out).toContain("opportunity.lines.replaced");
    expect(run.out).toContain("quote.lines.replaced");
    expect(run.err).toMatch(/1 synced pair\(s\) read back/);
    await h.settle();
    expect(byName("quotes", quoteId, "Line 1")?.properties.quantity).toBe("9");
    expect(byName("quotes", quoteId, "Line 2")).toBeUndefined();
    expect(h.fake.objects.deals.get(dealId)?.properties.amount).toBe("200.00");

    // Nothing drifted since: a second run changes nothing in HubSpot.
    const calls = h.fake.calls.filter((call) => call.method !== "GET" && !call.path.endsWith("/read")).length;
    expect((await reconcile(h, h.tenant.tenantId)).code).toBe(0);
    await h.settle();
    expect(h.fake.calls.filter((call) => call.method !== "GET" && !call.path.endsWith("/read")).length).toBe(
      calls,
    );
  }, 180_000);
});
