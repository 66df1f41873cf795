import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { FakeSalesforce } from "../../../connectors/salesforce/fake/server.js";
import { CpqEvent } from "../../../domain/events.js";
import { createTestTable, type TestTable } from "../../support/dynamo.js";
import { salesforceTenant, startFakeSalesforce } from "../../support/salesforce.js";
import { salesforceHarness } from "../../support/salesforce-e2e.js";

let table: TestTable;
let fake: FakeSalesforce;
let harness: ReturnType<typeof salesforceHarness>;
let products: Map<string, string>;
let pricebookId: string;

beforeAll(async () => {
  table = await createTestTable();
  const started = await startFakeSalesforce({ products: 12 });
  fake = started.fake;
  products = started.products;
  pricebookId = started.pricebookId;
  fake.holdEvents = true;
  harness = salesforceHarness(table, salesforceTenant(fake.baseUrl, pricebookId));
  await harness.setup();
});

afterAll(async () => {
  await fake?.close();
  await table?.dispose();
});

const tenant = () => salesforceTenant(fake.baseUrl, pricebookId);
let clock = Date.now();
/** CPQ event times: now, strictly increasing (a CPQ clock ahead of Salesforce's would win every tie). */
function at(): string {
  clock = Math.max(Date.now(), clock + 1);
  return new Date(clock).toISOString();
}

async function cpq(event: Record<string, unknown>) {
  return harness.rt.engine.handleCpqEvent(tenant(), CpqEvent.parse(event));
}

/** A CPQ quote of `count` lines for the opportunity (productId = the Salesforce product id). */
async function quoteWithLines(quoteId: string, opportunityId: string, count: number) {
  await cpq({
    eventId: `${quoteId}-u`,
    type: "quote.upserted",
    occurredAt: at(),
    data: { quote: { id: quoteId, opportunityId, currency: "USD", pricebookId } },
  });
  await cpq({
    eventId: `${quoteId}-l`,
    type: "quote.lines.replaced",
    occurredAt: at(),
    data: {
      quoteId,
      lines: Array.from({ length: count }, (_, i) => ({
        id: `${quoteId}-L${i + 1}`,
        productId: products.get(`P${(i % 12) + 1}`),
        name: `Line ${i + 1}`,
        quantity: String((i % 4) + 1),
        unitPrice: `${(i % 7) + 10}.20`,
        discountPercent: i % 9 === 0 ? "5" : "0",
        position: i + 1,
        fields: { Color__c: i % 2 ? "red" : "blue" },
      })),
    },
  });
}

/** An opportunity a rep creates in Salesforce, known to quotesync through its CREATE event. */
async function opportunityFromSalesforce(name: string): Promise<string> {
  const id = fake.userEdit({
    op: "createOpportunity",
    values: { Name: name, StageName: "Prospecting", Pricebook2Id: pricebookId },
  }) as string;
  await harness.receive(fake.releaseEvents());
  return id;
}

describe("Salesforce as the CRM, end to end on DynamoDB Local and the fake", () => {
  let opportunityId: string;

  it("start copies a 300-line quote in 2 create calls with the right price book entries, and Salesforce's amount equals the locked amount", async () => {
    opportunityId = await opportunityFromSalesforce("Big deal");
    await quoteWithLines("Q-300", opportunityId, 300);
    const started = await harness.rt.engine.startSync(tenant(), "Q-300", {});
    expect(started.response.status).toBe("started");
    const callsBefore = fake.calls.length;
    await harness.deliver();
    const creates = fake.calls
      .slice(callsBefore)
      .filter((c) => c.method === "POST" && c.path.endsWith("/composite/sobjects"));
    expect(creates.map((c) => c.records)).toEqual([200, 100]);
    const lines = fake.org.all("OpportunityLineItem").filter((l) => l.OpportunityId === opportunityId);
    expect(lines).toHaveLength(300);
    for (const line of lines) {
      const entry = fake.org.get("PricebookEntry", String(line.PricebookEntryId));
      expect(entry?.Product2Id).toBe(line.Product2Id);
      expect(entry?.Pricebook2Id).toBe(pricebookId);
    }
    const status = await harness.rt.engine.status(tenant(), opportunityId);
    expect(status.amountLocked).toBe(true);
    expect(fake.org.get("Opportunity", opportunityId)?.Amount).toBe(status.amount);
    expect(harness.drift.get(opportunityId)).toEqual([]);
    expect(fake.schemaViolations).toEqual([]);
  });

  it("the relayed change events of those writes cause no further API call and no mirror", async () => {
    const callsBefore = fake.calls.length;
    const events = fake.releaseEvents();
    expect(events.length).toBeGreaterThanOrEqual(300);
    const results = await harness.receive(events);
    expect(fake.calls.length).toBe(callsBefore);
    expect(results.every((r) => r.apiCalls === 0)).toBe(true);
    expect(await harness.deliver()).toBe(0);
    // Each one was compared with what quotesync holds and found equal: nothing fed to the engine.
    expect(results.flatMap((r) => r.fed)).toEqual([]);
    expect(results.reduce((sum, r) => sum + r.unchanged, 0)).toBeGreaterThanOrEqual(300);
  }, 180_000);

  it("a CPQ line change is applied as an update, and its relayed UPDATE costs no API call", async () => {
    const quote = await harness.store.loadQuote("acme", "Q-300");
    const line = [...(quote?.lines.values() ?? [])].find((l) => !l.deleted && l.id === "Q-300-L7");
    await cpq({
      eventId: "Q-300-edit-7",
      type: "quote.lines.upserted",
      occurredAt: at(),
      data: {
        quoteId: "Q-300",
        lines: [{ id: "Q-300-L7", productId: line?.productId, quantity: "17", unitPrice: line?.unitPrice }],
      },
    });
    const callsBefore = fake.calls.length;
    await harness.deliver();
    const updates = fake.calls
      .slice(callsBefore)
      .filter((c) => c.method === "PATCH" && c.path.endsWith("/composite/sobjects"));
    expect(updates.map((c) => c.records)).toEqual([1]);
    const twin = fake.org.all("OpportunityLineItem").find((l) => l.QS_Sync_Key__c === line?.syncKey);
    expect(twin?.Quantity).toBe("17");
    const afterDelivery = fake.calls.length;
    const results = await harness.receive(fake.releaseEvents());
    expect(fake.calls.length).toBe(afterDelivery);
    expect(results.flatMap((r) => r.fed)).toEqual([]);
  });

  it("a rep's quantity edit (an UPDATE carrying only Quantity) reaches the quote", async () => {
    const line = fake.org.all("OpportunityLineItem").find((l) => l.OpportunityId === opportunityId) as Record<
      string,
      unknown
    >;
    fake.userEdit({ op: "updateLine", id: String(line.Id), values: { Quantity: "9" } });
    const events = fake.releaseEvents();
    const update = events.find((e) => e["detail-type"] === "OpportunityLineItemChangeEvent");
    expect(update?.detail.payload.ChangeEventHeader.changedFields).toEqual(["Quantity", "LastModifiedDate"]);
    expect(update?.detail.payload.OpportunityId).toBeUndefined();
    await harness.receive(events);
    const quote = await harness.store.loadQuote("acme", "Q-300");
    const twin = quote?.lines.get(String(line.QS_Sync_Key__c));
    expect(twin?.quantity).toBe("9");
    // The amount mirror goes to Salesforce (never written there) and its arithmetic agrees.
    await harness.deliver();
    await harness.receive(fake.releaseEvents());
    const status = await harness.rt.engine.status(tenant(), opportunityId);
    expect(fake.org.get("Opportunity", opportunityId)?.Amount).toBe(status.amount);
    expect(harness.drift.get(opportunityId)).toEqual([]);
  });

  it("a rep's deleted line deletes its twin on the quote", async () => {
    const line = fake.org.all("OpportunityLineItem").find((l) => l.OpportunityId === opportunityId) as Record<
      string,
      unknown
    >;
    fake.userEdit({ op: "deleteLine", id: String(line.Id) });
    await harness.receive(fake.releaseEvents());
    const quote = await harness.store.loadQuote("acme", "Q-300");
    expect(quote?.lines.get(String(line.QS_Sync_Key__c))?.deleted).toBe(true);
    await harness.deliver();
    await harness.receive(fake.releaseEvents());
    expect(await harness.deliver()).toBe(0);
    const status = await harness.rt.engine.status(tenant(), opportunityId);
    expect(status.lines).toHaveLength(299);
    expect(fake.org.get("Opportunity", opportunityId)?.Amount).toBe(status.amount);
  });
});
