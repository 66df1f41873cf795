import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { signV3 } from "../../../connectors/hubspot/signature.js";
import { scanAll } from "../../support/dynamo.js";
import { APP_ID, CLIENT_SECRET, hubSpotHarness, PORTAL_ID } from "../../support/hubspot.js";

type Harness = Awaited<ReturnType<typeof hubSpotHarness>>;

function event(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    eventId: 1,
    subscriptionId: 7,
    portalId: PORTAL_ID,
    appId: APP_ID,
    occurredAt: Date.now(),
    subscriptionType: "deal.creation",
    attemptNumber: 0,
    objectId: 424242,
    changeSource: "CRM_UI",
    sourceId: "userId:1",
    ...overrides,
  };
}

describe("POST /connectors/hubspot", () => {
  let h: Harness;
  beforeAll(async () => {
    h = await hubSpotHarness();
  });
  afterAll(async () => {
    expect(h.fake.violations).toEqual([]);
    await h.dispose();
  });

  async function post(
    body: string,
    options: {
      secret?: string;
      timestamp?: number;
      query?: string;
      signedQuery?: string;
      signature?: string;
    } = {},
  ) {
    const url = `${h.publicUrl}/connectors/hubspot${options.query ? `?${options.query}` : ""}`;
    const signedUrl = `${h.publicUrl}/connectors/hubspot${
      (options.signedQuery ?? options.query) ? `?${options.signedQuery ?? options.query}` : ""
    }`;
    const timestamp = String(options.timestamp ?? Date.now());
    const signature =
      options.signature ??
      signV3({ secret: options.secret ?? CLIENT_SECRET, method: "POST", uri: signedUrl, body, timestamp });
    const response = await fetch(url, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        "x-hubspot-signature-v3": signature,
        "x-hubspot-request-timestamp": timestamp,
      },
      body,
    });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  }

  it("answers 401 and writes nothing for a forged, stale or wrongly re-encoded request", async () => {
    const dealId = h.fake.createDeal({ dealname: "Forged", deal_currency_code: "USD" });
    h.fake.takeQueuedEvents();
    const body = JSON.stringify([event({ objectId: Number(dealId) })]);
    const before = await scanAll(h.table.tableName);
    const calls = h.fake.calls.length;
    expect((await post(body, { secret: "not-the-app-secret" })).status).toBe(401);
    expect((await post(body, { timestamp: Date.now() - 5 * 60_000 - 1000 })).status).toBe(401);
    expect((await post(body, { query: "a=b%20c", signedQuery: "a=b+c" })).status).toBe(401);
    expect((await post(body, { signature: "" })).status).toBe(401);
    expect(await scanAll(h.table.tableName)).toEqual(before);
    expect(h.fake.calls.length).toBe(calls);
    // The same request, signed right (with a query re-encoded as HubSpot decodes it), is taken.
    const taken = await post(body, { query: "from=a%3Ab", signedQuery: "from=a:b" });
    expect(taken).toEqual({ status: 200, body: { decisions: 1, ignored: 0, echoes: 0 } });
  });

  it("answers 2xx to unknown portals, unknown objects and ignored types, and logs them", async () => {
    const unknownPortal = await post(JSON.stringify([event({ portalId: 999 })]), { secret: "whatever" });
    expect(unknownPortal).toEqual({ status: 200, body: { decisions: 0, ignored: 1, echoes: 0 } });
    const ignored = await post(
      JSON.stringify([
        event({ subscriptionType: "contact.creation" }),
        event({ subscriptionType: "object.creation", objectTypeId: "0-1" }),
        event({ subscriptionType: "deal.merge" }),
        { not: "an event" },
      ]),
    );
    expect(ignored).toEqual({ status: 200, body: { decisions: 0, ignored: 4, echoes: 0 } });
  });

  it("refuses a signed body that is not an array of at most 100 events (400)", async () => {
    expect((await post(JSON.stringify(Array.from({ length: 101 }, () => event())))).status).toBe(400);
  });

  it("answers 503 retry_later, not 500, while HubSpot rate-limits the reads an event needs; HubSpot's retry applies it", async () => {
    const dealId = h.fake.createDeal({ dealname: "Limited", deal_currency_code: "USD" });
    // The deal's creation event, as HubSpot would send it, delivered by the test.
    const creation = h.fake.takeQueuedEvents();
    expect(creation).toHaveLength(1);
    h.fake.options.failRate = 1;
    let answer: Response;
    try {
      const url = `${h.publicUrl}/connectors/hubspot`;
      const body = JSON.stringify(creation);
      const timestamp = String(Date.now());
      answer = await fetch(url, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          "x-hubspot-signature-v3": signV3({
            secret: CLIENT_SECRET,
            method: "POST",
            uri: url,
            body,
            timestamp,
          }),
          "x-hubspot-request-timestamp": timestamp,
        },
        body,
      });
    } finally {
      h.fake.options.failRate = 0;
    }
    expect(answer.status).toBe(503);
    expect(Number(answer.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
    expect(((await answer.json()) as { error: { code: string } }).error.code).toBe("retry_later");
    expect(await h.store.loadOpportunity("hs", dealId)).toBeNull();
    // HubSpot's retry of the same request, once its API answers again.
    expect(await h.fake.deliver(creation.map((one) => ({ ...one, attemptNumber: 1 })))).toBe(200);
    expect(await h.store.loadOpportunity("hs", dealId)).not.toBeNull();
  });

  it("turns a burst of 100 line item events about one deal into one decision and at most 3 reads", async () => {
    const dealId = h.fake.createDeal({ dealname: "Burst", deal_currency_code: "USD" });
    const ids = Array.from({ length: 100 }, (_, index) =>
      h.fake.addLineItem({ type: "deals", id: dealId }, { name: `L${index}`, quantity: "1", price: "10" }),
    );
    await h.settle();
    for (const id of ids) h.fake.update("line_items", id, { quantity: "2" });
    expect(h.fake.queuedEvents).toHaveLength(100);
    const transactions = h.transactions;
    const calls = h.fake.calls.length;
    await h.fake.flushWebhooks();
    expect(h.transactions - transactions).toBe(1);
    const reads = h.fake.calls.slice(calls);
    expect(reads.length).toBeLessThanOrEqual(3);
    expect(reads.every((call) => call.inputs <= 100)).toBe(true);
    const stored = await h.store.loadOpportunity("hs", dealId);
    expect([...(stored?.lines.values() ?? [])].filter((line) => line.quantity === "2")).toHaveLength(100);

    // HubSpot delivering the same events again (twice): answered 2xx, one batch read each.
    const retried = h.fake.calls.length;
    expect(h.fake.webhookResponses.at(-1)).toBe(200);
    const occurredAt = Date.now();
    const retry = ids.map((id, index) =>
      event({
        eventId: 5000 + index,
        occurredAt,
        subscriptionType: "line_item.propertyChange",
        objectId: Number(id),
        propertyName: "quantity",
        propertyValue: "2",
      }),
    );
    expect(await h.fake.deliver(retry)).toBe(200);
    expect(await h.fake.deliver(retry)).toBe(200);
    expect(h.fake.calls.length - retried).toBeLessThanOrEqual(2);
  });
});
