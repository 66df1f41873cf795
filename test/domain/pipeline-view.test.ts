import { describe, expect, it } from "vitest";
import type { OpportunityRecord, QuoteRecord, StoredLine } from "../../domain/model.js";
import { fieldMappingReport } from "../../domain/pipeline/field-report.js";
import { pairLines } from "../../domain/pipeline/opportunity-view.js";
import { pipelineRow } from "../../domain/pipeline/rows.js";
import { demoTenant } from "../../domain/tenant.js";
import { humanize, timelineSentence } from "../../functions/page/timeline.js";

const tenant = demoTenant({ crm: "crm-secret-0001", cpq: "cpq-secret-0001" });
const NOW = Date.UTC(2026, 5, 1);

function opportunity(overrides: Partial<OpportunityRecord> = {}): OpportunityRecord {
  return {
    tenantId: "demo",
    id: "o-1",
    known: true,
    deleted: false,
    name: "Deal",
    accountId: null,
    stage: "Proposal",
    amount: "100.00",
    currency: "USD",
    pricebookId: null,
    closeDate: null,
    fields: {},
    changedAt: NOW - 1000,
    changedBy: "crm",
    syncedQuoteId: "q-1",
    amountLocked: true,
    approval: { required: false, reasons: [] },
    lastSyncedAt: null,
    version: 3,
    lineGeneration: "g",
    ...overrides,
  };
}

function quote(overrides: Partial<QuoteRecord> = {}): QuoteRecord {
  return {
    tenantId: "demo",
    id: "q-1",
    known: true,
    deleted: false,
    opportunityId: "o-1",
    name: null,
    status: "draft",
    currency: "USD",
    pricebookId: null,
    expiresAt: null,
    syncMode: null,
    terms: null,
    customer: null,
    seller: null,
    tax: null,
    fees: null,
    fields: {},
    changedAt: NOW - 1000,
    changedBy: "cpq",
    syncing: true,
    pendingChanges: 0,
    version: 2,
    lineGeneration: "g",
    ...overrides,
  };
}

function line(syncKey: string, overrides: Partial<StoredLine> = {}): StoredLine {
  return {
    syncKey,
    id: `id-${syncKey}`,
    productId: `p-${syncKey}`,
    name: syncKey,
    quantity: "1",
    unitPrice: "10",
    discountPercent: "0",
    billing: "one_time",
    billingPeriod: null,
    position: null,
    serviceDate: null,
    fields: {},
    changedAt: 0,
    changedBy: "cpq",
    deleted: false,
    outdatedMirrors: [],
    ...overrides,
  };
}

describe("pipeline rows", () => {
  it("needs no attention for a healthy synced pair", () => {
    expect(pipelineRow(tenant, opportunity(), quote(), null, NOW).attention).toEqual([]);
  });

  it("names every reason, most serious first", () => {
    const row = pipelineRow(
      tenant,
      opportunity({
        stage: "Negotiation",
        approval: { required: true, reasons: ["discount 25% over 20%"] },
      }),
      quote({ pendingChanges: 2, syncMode: "manual", expiresAt: new Date(NOW - 86_400_000).toISOString() }),
      {
        opportunityId: "o-1",
        quoteId: "q-1",
        issues: [
          { kind: "amount_mismatch", detail: "the opportunity amount is 90.00, the quote subtotal 100.00" },
        ],
        detectedAt: "",
        checkedAt: "",
      },
      NOW,
      {
        crm: {
          pending: 2,
          failing: true,
          parkedEntryId: null,
          nextAttemptAt: "2026-11-30T04:05:00.000Z",
          lastDeliveredAt: null,
          lastError: "HTTP 503",
        },
        cpq: {
          pending: 1,
          failing: true,
          parkedEntryId: "1042",
          nextAttemptAt: null,
          lastDeliveredAt: null,
          lastError: "the receiver answered HTTP 400: unknown product",
        },
      },
    );
    expect(row.attention.map((item) => item.kind)).toEqual([
      "drift",
      "delivery_failing",
      "delivery_failing",
      "approval_required",
      "milestone_pending",
      "quote_expired",
    ]);
    expect(row.attention[1]?.text).toBe("delivery to crm failing, retried at 04:05 UTC: HTTP 503");
    expect(row.attention[2]?.text).toBe(
      "mirror 1042 to cpq parked: the receiver answered HTTP 400: unknown product",
    );
    expect(row.delivery?.cpq?.parkedEntryId).toBe("1042");
    expect(row.mode).toBe("manual");
  });

  it("ignores a drift finding left from before sync stopped", () => {
    const row = pipelineRow(
      tenant,
      opportunity({ syncedQuoteId: null, amountLocked: false }),
      null,
      {
        opportunityId: "o-1",
        quoteId: "q-1",
        issues: [{ kind: "lines_differ", detail: "1 line(s) differ" }],
        detectedAt: "",
        checkedAt: "",
      },
      NOW,
    );
    expect(row.attention).toEqual([]);
    expect(row.drift).toBeNull();
  });

  it("counts an audit finding of pending changes at a milestone once, as that reason", () => {
    const row = pipelineRow(
      tenant,
      opportunity({ stage: "Negotiation" }),
      quote(),
      {
        opportunityId: "o-1",
        quoteId: "q-1",
        issues: [
          { kind: "milestone_pending", detail: "the opportunity reached Negotiation with 1 change(s)" },
        ],
        detectedAt: "",
        checkedAt: "",
      },
      NOW,
    );
    expect(row.attention.map((item) => item.kind)).toEqual(["milestone_pending"]);
  });
});

describe("the opportunity view", () => {
  it("pairs lines by syncKey and names the fields that differ, mapped custom fields included", () => {
    const quoteLines = new Map([
      ["a", line("a", { quantity: "200", position: 1, fields: { Color__c: "blue", Term_Months__c: 36 } })],
      ["b", line("b", { position: 2 })],
      ["gone", line("gone", { deleted: true })],
    ]);
    const opportunityLines = new Map([
      ["a", line("a", { quantity: "250", position: 1, fields: { Color__c: "red", Term_Months__c: "36" } })],
      ["b", line("b", { position: 2 })],
      ["c", line("c", { position: 3 })],
    ]);
    const pairs = pairLines(quoteLines, opportunityLines, new Set(["Color__c"]));
    expect(pairs.map((pair) => [pair.syncKey, pair.differences])).toEqual([
      ["a", ["quantity", "fields.Color__c"]],
      ["b", []],
      [
        "c",
        [
          "productId",
          "name",
          "quantity",
          "unitPrice",
          "discountPercent",
          "billing",
          "billingPeriod",
          "position",
          "serviceDate",
          "fields.Color__c",
        ],
      ],
    ]);
    expect(pairs[2]?.quote).toBeNull();
  });

  it("reports which custom fields travel and why the others do not", () => {
    expect(
      fieldMappingReport(tenant).map((entry) => [entry.level, entry.name, entry.travels, entry.reason]),
    ).toEqual([
      ["lines", "Color__c", true, "declared as string on both sides: copied both ways"],
      [
        "lines",
        "Internal_Note__c",
        false,
        "only on the opportunity line (no twin on the quote line): kept there",
      ],
      [
        "lines",
        "Term_Months__c",
        false,
        "number on the quote line, string on the opportunity line: a twin of another type, kept on each side",
      ],
      ["headers", "Region__c", true, "declared as string on both sides: copied both ways"],
    ]);
  });
});

describe("timeline sentences", () => {
  it("names systems, resolves counts and line names, and says who did it", () => {
    const names = new Map([["qs_0123456789abcdef0123456789abcdef", "line Seats"]]);
    expect(humanize("1 line change(s) from crm mirrored to cpq")).toBe(
      "1 line change from the CRM mirrored to the CPQ",
    );
    expect(humanize("3 line change(s) from cpq pending")).toBe("3 line changes from the CPQ pending");
    expect(
      humanize(
        "1 line(s) differ between quote and opportunity (sync keys qs_0123456789abcdef0123456789abcdef)",
        names,
      ),
    ).toBe("1 line differs between quote and opportunity (line Seats)");
    expect(
      timelineSentence({
        at: "2026-06-01T00:00:00.000Z",
        type: "sync.stopped",
        source: "command",
        actor: "viewer:maria",
        summary: "sync of quote q-1 stopped",
      }),
    ).toBe("Sync of quote q-1 stopped. (by maria)");
  });
});
