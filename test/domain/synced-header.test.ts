import { describe, expect, it } from "vitest";
import { afterStart, engineHarness } from "../support/engine.js";
import { at, line, opportunityUpserted, quoteLinesUpserted, quoteUpserted } from "../support/events.js";

/**
 * SPEC §1.2, §1.9 and §5 for the opportunity header quotesync mirrors while synced: the fields it
 * carries, and the approval flag following the quote (the demo tenant allows 20 % without approval).
 */

type Harness = ReturnType<typeof engineHarness>;

async function auditSummaries(h: Harness, type: string): Promise<string[]> {
  const page = await h.store.readAudit(h.tenant.tenantId, "opp", null, 100);
  return page.entries
    .filter((entry) => entry.type === type)
    .reverse()
    .map((entry) => entry.summary);
}

describe("the opportunity header mirrored to the CRM (SPEC §5)", () => {
  it("carries no stage and no fields when the opportunity has none", async () => {
    const h = engineHarness();
    await h.setup();
    await h.crm(opportunityUpserted("opp", { stage: undefined }, { occurredAt: at(1) }));
    await h.cpq(quoteUpserted("q", "opp", {}, { occurredAt: at(2) }));
    await h.cpq(quoteLinesUpserted("q", [line("q1")], { occurredAt: at(3) }));
    const started = await h.start("q");
    expect(started.response.mirrors[0]?.opportunity).toEqual({
      amount: "100.00",
      amountLocked: true,
      syncedQuoteId: "q",
      approval: { required: false, reasons: [] },
    });
  });
});

describe("the approval flag (SPEC §1.9)", () => {
  async function discounted(discounts: string[]) {
    const h = engineHarness();
    await h.setup();
    await h.crm(opportunityUpserted("opp", {}, { occurredAt: at(1) }));
    await h.cpq(quoteUpserted("q", "opp", {}, { occurredAt: at(2) }));
    await h.cpq(
      quoteLinesUpserted(
        "q",
        discounts.map((discountPercent, index) => line(`q${index + 1}`, { discountPercent })),
        { occurredAt: at(3) },
      ),
    );
    await h.start("q");
    return h;
  }

  it("clears when the quote is approved: mirrored and audited, the amount unchanged", async () => {
    const h = await discounted(["25"]);
    expect((await h.status("opp")).approval.required).toBe(true);
    const approved = await h.cpq(
      quoteUpserted("q", "opp", { status: "approved" }, { occurredAt: afterStart(5) }),
    );
    expect(approved.response.status).toBe("applied");
    expect(approved.response.mirrors).toEqual([
      expect.objectContaining({
        target: "crm",
        opportunity: expect.objectContaining({ amount: "75.00", approval: { required: false, reasons: [] } }),
      }),
    ]);
    expect(await auditSummaries(h, "approval.changed")).toEqual([
      "approval required: line q1 (prod-q1) has a 25% discount, over the 20% allowed without approval",
      "approval no longer required",
    ]);
  });

  it("names every line that needs it", async () => {
    const h = await discounted(["25", "30"]);
    expect(await auditSummaries(h, "approval.changed")).toEqual([
      "approval required: line q1 (prod-q1) has a 25% discount, over the 20% allowed without approval; " +
        "line q2 (prod-q2) has a 30% discount, over the 20% allowed without approval",
    ]);
  });

  it("follows a change of which line needs it, though the flag and the amount stay", async () => {
    const h = await discounted(["25", "10"]);
    const swapped = await h.cpq(
      quoteLinesUpserted(
        "q",
        [
          line("q1", { discountPercent: "10", syncKey: "sk-1" }),
          line("q2", { discountPercent: "25", syncKey: "sk-2" }),
        ],
        { occurredAt: afterStart(5) },
      ),
    );
    expect(swapped.response.mirrors.find((mirror) => mirror.target === "crm")?.opportunity).toMatchObject({
      amount: "165.00",
      approval: {
        required: true,
        reasons: ["line q2 (prod-q2) has a 25% discount, over the 20% allowed without approval"],
      },
    });
    expect((await auditSummaries(h, "approval.changed")).at(-1)).toBe(
      "approval required: line q2 (prod-q2) has a 25% discount, over the 20% allowed without approval",
    );
  });
});
