import { describe, expect, it } from "vitest";
import { afterStart, engineHarness } from "../support/engine.js";
import {
  at,
  crmEvent,
  line,
  opportunityLinesUpserted,
  opportunityUpserted,
  quoteLinesUpserted,
  quoteUpserted,
} from "../support/events.js";

/** A live pair with one line the CRM has confirmed under its own id `crm-1`. */
async function pair() {
  const h = engineHarness();
  await h.setup();
  await h.crm(opportunityUpserted("opp", {}, { occurredAt: at(1) }));
  await h.cpq(quoteUpserted("q", "opp", {}, { occurredAt: at(2) }));
  await h.cpq(quoteLinesUpserted("q", [line("q1")], { occurredAt: at(3) }));
  await h.start("q");
  const syncKey = (await h.status("opp")).lines[0]?.syncKey as string;
  await h.crm(
    opportunityLinesUpserted("opp", [line("crm-1", { productId: "prod-q1", syncKey })], {
      occurredAt: afterStart(2),
    }),
  );
  return { h, syncKey };
}

const CPQ_VALUES = { productId: "prod-cpq", quantity: "3", unitPrice: "30", discountPercent: "3" };
const CRM_VALUES = { productId: "prod-crm", quantity: "7", unitPrice: "70", discountPercent: "7" };

describe("equal timestamps (SPEC §1.11: the CPQ side wins)", () => {
  for (const order of ["CRM first", "CPQ first"] as const) {
    it(`keeps the CPQ's values on every field of a line both sides edited at the same time (${order})`, async () => {
      const { h, syncKey } = await pair();
      const sameTime = afterStart(30);
      const fromCrm = () =>
        h.crm(
          opportunityLinesUpserted("opp", [line("crm-1", { ...CRM_VALUES, syncKey })], {
            occurredAt: sameTime,
          }),
        );
      const fromCpq = () =>
        h.cpq(quoteLinesUpserted("q", [line("q1", { ...CPQ_VALUES, syncKey })], { occurredAt: sameTime }));
      if (order === "CRM first") {
        await fromCrm();
        const cpq = await fromCpq();
        expect(cpq.response.status).toBe("applied");
        expect(cpq.response.mirrors.find((m) => m.target === "crm")?.lines?.upsert[0]).toMatchObject(
          CPQ_VALUES,
        );
      } else {
        await fromCpq();
        const crm = await fromCrm();
        expect(crm.response.status).toBe("stale");
        expect(crm.response.mirrors).toHaveLength(1);
        expect(crm.response.mirrors[0]?.target).toBe("crm");
        expect(crm.response.mirrors[0]?.lines?.upsert[0]).toMatchObject({ id: "crm-1", ...CPQ_VALUES });
      }
      const status = await h.status("opp");
      expect(status.lines).toHaveLength(1);
      expect(status.lines[0]).toMatchObject(CPQ_VALUES);
      expect(status.amount).toBe("87.30");
      const quote = await h.store.loadQuote("demo", "q");
      expect(quote?.lines.get(syncKey)).toMatchObject({ ...CPQ_VALUES, deleted: false });
    });
  }
});

describe("one eventId from both systems (SPEC §1.11: a duplicate is the same source and eventId)", () => {
  for (const first of ["cpq", "crm"] as const) {
    it(`applies both events, the ${first.toUpperCase()}'s first, and still replays a real redelivery`, async () => {
      const { h } = await pair();
      const cpqEvent = quoteLinesUpserted("q", [line("q1", { productId: "prod-q1", quantity: "2" })], {
        eventId: "shared-1",
        occurredAt: afterStart(40),
      });
      const crmEvent = opportunityLinesUpserted("opp", [line("crm-2", { unitPrice: "5" })], {
        eventId: "shared-1",
        occurredAt: afterStart(41),
      });
      const send = (side: "cpq" | "crm") => (side === "cpq" ? h.cpq(cpqEvent) : h.crm(crmEvent));
      const second = first === "cpq" ? "crm" : "cpq";
      const one = await send(first);
      const two = await send(second);
      expect(one.replayed).toBe(false);
      expect(two.replayed).toBe(false);
      expect(one.response.status).toBe("applied");
      expect(two.response.status).toBe("applied");
      const status = await h.status("opp");
      expect(status.lines.map((l) => [l.productId, l.quantity, l.unitPrice]).sort()).toEqual([
        ["prod-crm-2", "1", "5"],
        ["prod-q1", "2", "100"],
      ]);
      expect(status.amount).toBe("205.00");
      const commits = h.store.commits;
      for (const side of ["cpq", "crm"] as const) {
        const again = await send(side);
        expect(again.replayed).toBe(true);
        expect(again.response).toEqual((side === first ? one : two).response);
      }
      expect(h.store.commits).toBe(commits);
    });
  }
});

describe("refusals and a quote moving away, on the in-memory store", () => {
  it("audits a refused start as start.refused with the quote, the code and nothing else written", async () => {
    const h = engineHarness();
    await h.setup();
    await h.crm(opportunityUpserted("opp", { currency: "EUR" }, { occurredAt: at(1) }));
    await h.cpq(quoteUpserted("q", "opp", {}, { occurredAt: at(2) }));
    const before = await h.store.loadOpportunity("demo", "opp");
    await expect(h.start("q", { eventId: "cmd-1", actor: { userId: "u-1" } })).rejects.toMatchObject({
      code: "currency_mismatch",
    });
    const trail = (await h.store.readAudit("demo", "opp", null, 50)).entries;
    expect(trail).toHaveLength(1);
    expect(trail[0]).toMatchObject({ type: "start.refused", quoteId: "q", eventId: "cmd-1", actor: "u-1" });
    expect(trail[0]?.summary).toBe(
      "start of quote q refused: quote q is in USD but opportunity opp is in EUR",
    );
    expect(await h.store.loadOpportunity("demo", "opp")).toEqual(before);
    expect((await h.store.loadQuote("demo", "q"))?.header.syncing).toBe(false);
  });

  it("stops the pair when the synced quote names another opportunity, and mirrors nothing more", async () => {
    const { h } = await pair();
    await h.crm(opportunityUpserted("opp-2", {}, { occurredAt: at(5) }));
    const moved = await h.cpq(quoteUpserted("q", "opp-2", {}, { occurredAt: afterStart(50) }));
    expect(moved.response.status).toBe("stopped");
    expect(moved.response.mirrors.find((m) => m.target === "crm")?.opportunity).toMatchObject({
      amountLocked: false,
      syncedQuoteId: null,
    });
    expect(await h.status("opp")).toMatchObject({
      syncedQuoteId: null,
      amountLocked: false,
      amount: "100.00",
    });
    const trail = (await h.store.readAudit("demo", "opp", null, 50)).entries;
    expect(trail[0]).toMatchObject({ type: "sync.stopped", quoteId: "q" });
    expect(trail[0]?.summary).toBe("sync stopped: the quote's moved to another opportunity");
    const later = await h.cpq(
      quoteLinesUpserted("q", [line("q1", { quantity: "9" })], { occurredAt: afterStart(60) }),
    );
    expect(later.response).toEqual({ status: "not_synced", mirrors: [] });
    expect((await h.status("opp")).lines[0]?.quantity).toBe("1");
    expect((await h.status("opp-2")).syncedQuoteId).toBeNull();
  });
});

describe("the amount a CRM line change sends back to the CRM", () => {
  it("is the new subtotal, in the same response as the line's mirror to the CPQ", async () => {
    const { h } = await pair();
    const added = await h.crm(
      opportunityLinesUpserted("opp", [line("crm-2", { quantity: "2", unitPrice: "7.25" })], {
        occurredAt: afterStart(70),
      }),
    );
    expect(added.response.status).toBe("applied");
    expect(added.response.mirrors.find((m) => m.target === "cpq")?.lines?.upsert).toHaveLength(1);
    expect(added.response.mirrors.find((m) => m.target === "crm")?.opportunity).toMatchObject({
      amount: "114.50",
      amountLocked: true,
      syncedQuoteId: "q",
    });
    const removed = await h.crm(
      crmEvent(
        "opportunity.lines.deleted",
        { opportunityId: "opp", lineIds: ["crm-1"] },
        { occurredAt: afterStart(80) },
      ),
    );
    expect(removed.response.mirrors.find((m) => m.target === "crm")?.opportunity?.amount).toBe("14.50");
    expect((await h.status("opp")).amount).toBe("14.50");
  });
});
