import { afterEach, describe, expect, it } from "vitest";
import {
  PermanentDeliveryError,
  type TargetStateChanges,
  TransientDeliveryError,
} from "../../../connectors/applier.js";
import { salesforceApplier } from "../../../connectors/salesforce/applier.js";
import type { FakeSalesforce } from "../../../connectors/salesforce/fake/server.js";
import type { Mirror, MirrorLine } from "../../../domain/model.js";
import { applyContext, salesforceTenant, startFakeSalesforce } from "../../support/salesforce.js";

let fake: FakeSalesforce;
afterEach(async () => {
  await fake?.close();
});

function line(n: number, overrides: Partial<MirrorLine> = {}): MirrorLine {
  return {
    id: null,
    syncKey: `qs_${String(n).padStart(4, "0")}`,
    productId: "",
    name: `Line ${n}`,
    quantity: String((n % 5) + 1),
    unitPrice: "19.99",
    discountPercent: "0",
    billing: "one_time",
    billingPeriod: null,
    position: n,
    serviceDate: null,
    fields: {},
    ...overrides,
  };
}

function keep(
  state: { lineIds: Record<string, string>; facts: Record<string, string> },
  changes?: TargetStateChanges,
) {
  for (const [key, id] of Object.entries(changes?.lineIds?.set ?? {})) state.lineIds[key] = id;
  for (const key of changes?.lineIds?.remove ?? []) delete state.lineIds[key];
  for (const [key, value] of Object.entries(changes?.facts ?? {})) {
    if (value === null) delete state.facts[key];
    else state.facts[key] = value;
  }
}

describe("the salesforce applier", () => {
  it("creates 300 lines in two collection calls with the product's price book entry and leaves Amount to Salesforce", async () => {
    const started = await startFakeSalesforce({ products: 10 });
    fake = started.fake;
    const tenant = salesforceTenant(fake.baseUrl, started.pricebookId);
    const opportunityId = fake.org.addOpportunity({ Name: "Big deal" });
    const { state, context } = applyContext(tenant);
    const lines = Array.from({ length: 300 }, (_, i) =>
      line(i + 1, { productId: started.products.get(`P${(i % 10) + 1}`) as string }),
    );
    const mirror: Mirror = {
      target: "crm",
      opportunityId,
      quoteId: "Q-1",
      lines: { upsert: lines, delete: [] },
      opportunity: {
        amount: null,
        amountLocked: true,
        syncedQuoteId: "Q-1",
        approval: { required: false, reasons: [] },
      },
    };
    const drift: unknown[] = [];
    const result = await salesforceApplier.apply(
      { tenantId: tenant.tenantId, entryId: "e1", cursor: "c1", at: new Date().toISOString(), mirror },
      { ...context(), reportDrift: async (finding) => void drift.push(finding) },
    );
    expect(result.outcome).toBe("delivered");
    keep(state, result.changes);
    const creates = fake.calls.filter(
      (call) => call.method === "POST" && call.path.endsWith("/composite/sobjects"),
    );
    expect(creates.map((call) => call.records)).toEqual([200, 100]);
    expect(Object.keys(state.lineIds)).toHaveLength(300);
    const stored = fake.org.all("OpportunityLineItem");
    expect(stored).toHaveLength(300);
    for (const record of stored) {
      const entry = fake.org.get("PricebookEntry", String(record.PricebookEntryId));
      expect(entry?.Product2Id).toBe(record.Product2Id);
      expect(entry?.Pricebook2Id).toBe(started.pricebookId);
    }
    expect(fake.calls.every((call) => call.callOptions === "client=quotesync")).toBe(true);
    expect(fake.calls.every((call) => call.records <= 200)).toBe(true);
    expect(fake.schemaViolations).toEqual([]);
    expect(drift).toEqual([{ opportunityId, quoteId: "Q-1", issues: [] }]);
  });

  it("updates without the create-only fields, deletes by id and counts ENTITY_IS_DELETED as done", async () => {
    const started = await startFakeSalesforce({ products: 2 });
    fake = started.fake;
    const tenant = salesforceTenant(fake.baseUrl, started.pricebookId);
    const opportunityId = fake.org.addOpportunity({ Name: "Deal" });
    const { state, context } = applyContext(tenant);
    const productId = started.products.get("P1") as string;
    const entry = (mirror: Mirror) => ({ tenantId: "acme", entryId: "e", cursor: "c", at: "", mirror });
    const base = { target: "crm" as const, opportunityId, quoteId: "Q-1" };
    const first = await salesforceApplier.apply(
      entry({ ...base, lines: { upsert: [line(1, { productId }), line(2, { productId })], delete: [] } }),
      context(),
    );
    keep(state, first.changes);
    const second = await salesforceApplier.apply(
      entry({ ...base, lines: { upsert: [line(1, { productId, quantity: "7" })], delete: ["qs_0002"] } }),
      context(),
    );
    keep(state, second.changes);
    const id1 = state.lineIds.qs_0001 as string;
    expect(fake.org.get("OpportunityLineItem", id1)?.Quantity).toBe("7");
    expect(fake.org.all("OpportunityLineItem")).toHaveLength(1);
    expect(state.lineIds.qs_0002).toBeUndefined();
    // Applying the same delete again: Salesforce says ENTITY_IS_DELETED, which is done.
    fake.userEdit({ op: "deleteLine", id: id1 });
    const third = await salesforceApplier.apply(
      entry({ ...base, lines: { upsert: [], delete: [id1] } }),
      context(),
    );
    expect(third.outcome).toBe("delivered");
    expect(fake.schemaViolations).toEqual([]);
  });

  it("treats REQUEST_LIMIT_EXCEEDED as transient and a product without a price book entry as permanent", async () => {
    const started = await startFakeSalesforce({ products: 1 });
    fake = started.fake;
    const tenant = salesforceTenant(fake.baseUrl, started.pricebookId);
    const opportunityId = fake.org.addOpportunity({ Name: "Deal" });
    const { context } = applyContext(tenant);
    const mirror: Mirror = {
      target: "crm",
      opportunityId,
      quoteId: "Q",
      lines: { upsert: [line(1, { productId: "01t000000000999AAA" })], delete: [] },
    };
    const entry = { tenantId: "acme", entryId: "e", cursor: "c", at: "", mirror };
    fake.limitExceeded = () => true;
    await expect(salesforceApplier.apply(entry, context())).rejects.toBeInstanceOf(TransientDeliveryError);
    fake.limitExceeded = () => false;
    const refused = await salesforceApplier.apply(entry, context()).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(PermanentDeliveryError);
    expect((refused as PermanentDeliveryError).vendorCode).toBe("NO_PRICEBOOK_ENTRY");
  });

  it("fetches a new token once when Salesforce answers 401", async () => {
    const started = await startFakeSalesforce({ products: 1 });
    fake = started.fake;
    const tenant = salesforceTenant(fake.baseUrl, started.pricebookId);
    const opportunityId = fake.org.addOpportunity({ Name: "Deal" });
    const { context } = applyContext(tenant);
    const mirror: Mirror = {
      target: "crm",
      opportunityId,
      quoteId: "Q",
      opportunity: { amount: null, amountLocked: true, syncedQuoteId: "Q", stage: "Negotiation" },
    };
    const entry = { tenantId: "acme", entryId: "e", cursor: "c", at: "", mirror };
    await salesforceApplier.apply(entry, context());
    fake.expireTokens();
    await salesforceApplier.apply(
      {
        ...entry,
        mirror: {
          ...mirror,
          opportunity: { ...mirror.opportunity, stage: "Closed Won" } as Mirror["opportunity"],
        },
      },
      context(),
    );
    expect(fake.org.get("Opportunity", opportunityId)?.StageName).toBe("Closed Won");
    const tokenCalls = fake.calls.filter((call) => call.path === "/services/oauth2/token");
    expect(tokenCalls).toHaveLength(2);
    expect(fake.calls.filter((call) => call.status === 401)).toHaveLength(1);
  });
});
