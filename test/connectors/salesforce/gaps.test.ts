import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "../../../cli/main.js";
import type { FakeSalesforce } from "../../../connectors/salesforce/fake/server.js";
import { UnknownSalesforceOrg } from "../../../connectors/salesforce/org-directory.js";
import { auditOpportunity } from "../../../domain/engine/drift-report.js";
import { CpqEvent } from "../../../domain/events.js";
import { createTestTable, dynamoEndpoint, type TestTable } from "../../support/dynamo.js";
import { salesforceTenant, startFakeSalesforce } from "../../support/salesforce.js";
import { salesforceHarness } from "../../support/salesforce-e2e.js";

let table: TestTable;
let fake: FakeSalesforce;
let harness: ReturnType<typeof salesforceHarness>;
let products: Map<string, string>;
let pricebookId: string;
let clock = Date.now();
/** CPQ event times: now, strictly increasing (a CPQ clock ahead of Salesforce's would win every tie). */
function at(): string {
  clock = Math.max(Date.now(), clock + 1);
  return new Date(clock).toISOString();
}
const tenant = () => salesforceTenant(fake.baseUrl, pricebookId);

beforeAll(async () => {
  table = await createTestTable();
  const started = await startFakeSalesforce({ products: 5 });
  fake = started.fake;
  products = started.products;
  pricebookId = started.pricebookId;
  fake.holdEvents = true;
  harness = salesforceHarness(table, tenant());
  await harness.setup();
});

afterAll(async () => {
  await fake?.close();
  await table?.dispose();
});

/** A synced pair of `count` lines, settled (mirrors delivered, echoes received). */
async function syncedPair(
  name: string,
  count: number,
  unitPrice = "12.40",
  discount: string | null = null,
): Promise<{ opportunityId: string; quoteId: string }> {
  const opportunityId = fake.userEdit({
    op: "createOpportunity",
    values: { Name: name, Pricebook2Id: pricebookId },
  }) as string;
  await harness.receive(fake.releaseEvents());
  const quoteId = `Q-${name}`;
  const cpq = (event: Record<string, unknown>) =>
    harness.rt.engine.handleCpqEvent(tenant(), CpqEvent.parse(event));
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
        id: `${quoteId}-${i}`,
        productId: products.get(`P${(i % 5) + 1}`),
        quantity: String(i + 1),
        unitPrice,
        discountPercent: discount ?? (i === 0 ? "7.5" : "0"),
      })),
    },
  });
  await harness.rt.engine.startSync(tenant(), quoteId, {});
  await settle();
  return { opportunityId, quoteId };
}

async function settle(): Promise<void> {
  for (let round = 0; round < 10; round++) {
    const delivered = await harness.deliver();
    const events = fake.releaseEvents();
    if (delivered === 0 && events.length === 0) return;
    await harness.receive(events);
  }
  throw new Error("did not settle");
}

function gapEvent(
  entityName: "Opportunity" | "OpportunityLineItem",
  changeType: string,
  recordIds: string[],
) {
  fake.relayPayload(entityName, {
    ChangeEventHeader: {
      entityName,
      recordIds,
      changeType,
      changeOrigin: "",
      transactionKey: randomUUID(),
      sequenceNumber: 1,
      commitTimestamp: Date.now(),
      commitNumber: 0,
      commitUser: "005000000000099AAA",
      changedFields: [],
      nulledFields: [],
      diffFields: [],
    },
  });
}

async function driftOf(opportunityId: string) {
  return (await auditOpportunity(harness.store, tenant(), opportunityId))?.issues;
}

function linesOf(opportunityId: string) {
  return fake.org.all("OpportunityLineItem").filter((line) => line.OpportunityId === opportunityId);
}

describe("Salesforce relay gaps", () => {
  it("a GAP_UPDATE re-reads the record and brings the pair back in step", async () => {
    const { opportunityId, quoteId } = await syncedPair("gap", 3);
    const line = linesOf(opportunityId)[1] as Record<string, unknown>;
    fake.userEdit({ op: "updateLine", id: String(line.Id), values: { Quantity: "42", Discount: "3" } });
    expect(fake.dropHeldEvents().length).toBeGreaterThan(0);
    gapEvent("OpportunityLineItem", "GAP_UPDATE", [String(line.Id)]);
    await harness.receive(fake.releaseEvents());
    await settle();
    const quote = await harness.store.loadQuote("acme", quoteId);
    const twin = quote?.lines.get(String(line.QS_Sync_Key__c));
    expect([twin?.quantity, twin?.discountPercent]).toEqual(["42", "3"]);
    expect(await driftOf(opportunityId)).toEqual([]);
  });

  it("a GAP_OVERFLOW reconciles every synced pair of the tenant: lost edits and deletes reach the quotes", async () => {
    const first = await syncedPair("overflow-a", 4);
    const second = await syncedPair("overflow-b", 2);
    const [edited, deleted] = linesOf(first.opportunityId) as Array<Record<string, unknown>>;
    fake.userEdit({ op: "updateLine", id: String(edited?.Id), values: { UnitPrice: "99.5" } });
    fake.userEdit({ op: "deleteLine", id: String(deleted?.Id) });
    const other = linesOf(second.opportunityId)[0] as Record<string, unknown>;
    fake.userEdit({ op: "updateLine", id: String(other.Id), values: { Quantity: "8" } });
    fake.dropHeldEvents();
    expect(await driftOf(first.opportunityId)).toEqual([]); // quotesync does not know yet
    gapEvent("OpportunityLineItem", "GAP_OVERFLOW", []);
    await harness.receive(fake.releaseEvents());
    await settle();
    const quoteA = await harness.store.loadQuote("acme", first.quoteId);
    expect(quoteA?.lines.get(String(edited?.QS_Sync_Key__c))?.unitPrice).toBe("99.5");
    expect(quoteA?.lines.get(String(deleted?.QS_Sync_Key__c))?.deleted).toBe(true);
    const quoteB = await harness.store.loadQuote("acme", second.quoteId);
    expect(quoteB?.lines.get(String(other.QS_Sync_Key__c))?.quantity).toBe("8");
    expect(await driftOf(first.opportunityId)).toEqual([]);
    expect(await driftOf(second.opportunityId)).toEqual([]);
    expect(harness.drift.get(first.opportunityId)).toEqual([]);
  });

  it("quotesync reconcile --tenant reads the synced pairs back from Salesforce and corrects them", async () => {
    const pair = await syncedPair("reconcile", 3);
    const line = linesOf(pair.opportunityId)[2] as Record<string, unknown>;
    fake.userEdit({ op: "updateLine", id: String(line.Id), values: { Quantity: "17" } });
    fake.dropHeldEvents(); // the relay lost them
    const out: string[] = [];
    const err: string[] = [];
    const code = await runCli(
      ["reconcile", "--tenant", "acme", "--table", table.tableName, "--endpoint", dynamoEndpoint()],
      {
        stdout: (text) => void out.push(text),
        stderr: (text) => void err.push(text),
        stdin: async () => Buffer.alloc(0),
        env: {},
      },
    );
    expect(code, err.join("")).toBe(0);
    expect(out.join("")).toContain("opportunity.lines");
    await settle();
    const quote = await harness.store.loadQuote("acme", pair.quoteId);
    expect(quote?.lines.get(String(line.QS_Sync_Key__c))?.quantity).toBe("17");
    expect(await driftOf(pair.opportunityId)).toEqual([]);
    // A tenant whose CRM is not Salesforce is refused, with the reason.
    const refused: string[] = [];
    const native = await runCli(
      ["reconcile", "--tenant", "nobody", "--table", table.tableName, "--endpoint", dynamoEndpoint()],
      {
        stdout: () => {},
        stderr: (text) => void refused.push(text),
        stdin: async () => Buffer.alloc(0),
        env: {},
      },
    );
    expect(native).toBe(1);
    expect(refused.join("")).toContain("no tenant nobody");
  });

  it("Salesforce's own Amount, a few cents off quotesync's rounding, starts no correction loop", async () => {
    // 7.5 % off 12.33 × 1, 2, 3: quotesync rounds each line (68.44), Salesforce the sum (68.43).
    const { opportunityId } = await syncedPair("cents", 3, "12.33", "7.5");
    const status = await harness.rt.engine.status(tenant(), opportunityId);
    const salesforceAmount = fake.org.get("Opportunity", opportunityId)?.Amount;
    expect(salesforceAmount).not.toBe(status.amount);
    fake.userEdit({ op: "updateOpportunity", id: opportunityId, values: { Amount: "1" } }); // ignored: it has lines
    const callsBefore = fake.calls.length;
    await harness.receive(fake.releaseEvents());
    expect(await harness.deliver()).toBe(0);
    expect(fake.calls.length).toBe(callsBefore);
    expect(harness.drift.get(opportunityId)).toEqual([]);
  });

  it("an event from an org no tenant connects fails with UnknownSalesforceOrg (for the on-failure destination)", async () => {
    const event = {
      source: "aws.partner/salesforce.com/00D000000000999AAA/0YL000000000001AAA",
      "detail-type": "OpportunityChangeEvent",
      detail: {
        payload: {
          ChangeEventHeader: {
            entityName: "Opportunity",
            recordIds: ["006000000000001AAA"],
            changeType: "UPDATE",
            transactionKey: "t-1",
            sequenceNumber: 1,
            commitTimestamp: Date.now(),
            changedFields: ["StageName"],
          },
          StageName: "Closed Won",
        },
      },
    };
    await expect(harness.receive([event as never])).rejects.toBeInstanceOf(UnknownSalesforceOrg);
  });
});
