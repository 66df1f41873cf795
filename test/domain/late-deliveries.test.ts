import { describe, expect, it } from "vitest";
import { demoTenant } from "../../domain/tenant.js";
import { afterStart, engineHarness } from "../support/engine.js";
import {
  at,
  cpqEvent,
  crmEvent,
  line,
  opportunityUpserted,
  quoteLinesUpserted,
  quoteUpserted,
} from "../support/events.js";

async function pair(
  mode: "live" | "scheduled" | "manual",
  id: string,
  tenant = demoTenant({ crm: "crm-secret-0001", cpq: "cpq-secret-0001" }),
) {
  const h = engineHarness({ tenant });
  await h.setup();
  await h.crm(opportunityUpserted(`${id}-opp`, {}, { occurredAt: at(1) }));
  await h.cpq(quoteUpserted(`${id}-q`, `${id}-opp`, { syncMode: mode }, { occurredAt: at(2) }));
  await h.cpq(quoteLinesUpserted(`${id}-q`, [line(`${id}-l1`, { quantity: "2" })], { occurredAt: at(3) }));
  await h.start(`${id}-q`); // 12:00:00
  // The CRM reports the copy under its own id (confirmation).
  const sk = (await h.status(`${id}-opp`)).lines[0]?.syncKey;
  await h.crm(
    crmEvent(
      "opportunity.lines.upserted",
      {
        opportunityId: `${id}-opp`,
        lines: [line("crm-1", { productId: `prod-${id}-l1`, quantity: "2", syncKey: sk })],
      },
      { occurredAt: afterStart(2) },
    ),
  );
  h.advance(3000);
  return { h, sk };
}

describe("changes delivered after a scheduled push (SPEC §1.11: the newer change wins)", () => {
  it("applies a CRM edit newer than the CPQ's pushed one, though delivered after the push", async () => {
    const { h, sk } = await pair("scheduled", "a");
    await h.cpq(quoteLinesUpserted("a-q", [line("a-l1", { quantity: "3" })], { occurredAt: afterStart(10) }));
    h.advance(5 * 60_000);
    await h.engine.runScheduled(); // push at 12:05:03; CRM copy changedAt 12:00:10, mirroredAt 12:05:03
    // CRM user edited the line at 12:00:20 (after the CPQ edit), delivered after the push.
    const late = await h.crm(
      crmEvent(
        "opportunity.lines.upserted",
        {
          opportunityId: "a-opp",
          lines: [line("crm-1", { productId: "prod-a-l1", quantity: "5", syncKey: sk })],
        },
        { occurredAt: afterStart(20) },
      ),
    );
    expect(late.response.status).not.toBe("stale");
  });

  it("applies a CRM delete newer than the line's last change, though delivered after the push", async () => {
    const { h } = await pair("scheduled", "b");
    await h.cpq(quoteLinesUpserted("b-q", [line("b-l1", { quantity: "3" })], { occurredAt: afterStart(10) }));
    h.advance(5 * 60_000);
    await h.engine.runScheduled();
    const late = await h.crm(
      crmEvent(
        "opportunity.lines.deleted",
        { opportunityId: "b-opp", lineIds: ["crm-1"] },
        { occurredAt: afterStart(20) },
      ),
    );
    expect(late.response.status).not.toBe("stale");
  });

  it("lets the same CRM edit win when delivered before the push", async () => {
    const { h, sk } = await pair("scheduled", "c");
    await h.cpq(quoteLinesUpserted("c-q", [line("c-l1", { quantity: "3" })], { occurredAt: afterStart(10) }));
    const r = await h.crm(
      crmEvent(
        "opportunity.lines.upserted",
        {
          opportunityId: "c-opp",
          lines: [line("crm-1", { productId: "prod-c-l1", quantity: "5", syncKey: sk })],
        },
        { occurredAt: afterStart(20) },
      ),
    );
    expect(r.response.status).toBe("pending");
    h.advance(5 * 60_000);
    await h.engine.runScheduled();
    const q = await h.store.loadQuote("demo", "c-q");
    expect([...(q?.lines.values() ?? [])].find((l) => !l.deleted)?.quantity).toBe("5");
  });
});

describe("a quote report dated before quote.accepted, delivered after it", () => {
  it("keeps the quote accepted but applies the report's other fields (mapped Region__c)", async () => {
    const { h } = await pair("live", "d");
    await h.cpq(cpqEvent("quote.accepted", { quoteId: "d-q" }, { occurredAt: afterStart(11) }));
    await h.cpq(
      quoteUpserted(
        "d-q",
        "d-opp",
        { syncMode: "live", status: "presented", fields: { Region__c: "EMEA" } },
        { occurredAt: afterStart(10) },
      ),
    );
    const status = await h.status("d-opp");
    expect(status.quotes[0]?.status).toBe("accepted");
    const opp = await h.store.loadOpportunity("demo", "d-opp");
    expect(opp?.header.fields.Region__c).toBe("EMEA");
  });
});

describe("the amount while changes wait to be pushed", () => {
  it("catches up at the next run when a scheduled quote with a pending change turns live", async () => {
    const { h } = await pair("scheduled", "e");
    await h.cpq(
      quoteLinesUpserted("e-q", [line("e-l2", { unitPrice: "5" })], { occurredAt: afterStart(10) }),
    );
    await h.cpq(quoteUpserted("e-q", "e-opp", { syncMode: "live" }, { occurredAt: afterStart(11) }));
    await h.cpq(
      quoteLinesUpserted("e-q", [line("e-l3", { unitPrice: "7" })], { occurredAt: afterStart(12) }),
    );
    h.advance(5 * 60_000);
    await h.engine.runScheduled();
    const s2 = await h.status("e-opp");
    expect(s2.amount).toBe("212.00");
  });

  it("sends no header mirror for waiting line changes that do not change approval", async () => {
    const { h } = await pair("scheduled", "f");
    let crmMirrors = 0;
    for (let i = 0; i < 4; i++) {
      const r = await h.cpq(
        quoteLinesUpserted("f-q", [line(`f-x${i}`, { unitPrice: "5" })], { occurredAt: afterStart(10 + i) }),
      );
      crmMirrors += r.response.mirrors.filter((m) => m.target === "crm").length;
      const c = await h.crm(
        crmEvent(
          "opportunity.lines.upserted",
          { opportunityId: "f-opp", lines: [line(`crm-x${i}`)] },
          { occurredAt: afterStart(20 + i) },
        ),
      );
      crmMirrors += c.response.mirrors.length;
    }
    expect(crmMirrors).toBe(0);
  });
});

describe("pushing what waits", () => {
  it("pushes lines and amount together on quote.accepted with manual changes waiting", async () => {
    const { h } = await pair("manual", "g");
    await h.cpq(
      quoteLinesUpserted("g-q", [line("g-l2", { unitPrice: "5" })], { occurredAt: afterStart(10) }),
    );
    await h.crm(
      crmEvent(
        "opportunity.lines.upserted",
        { opportunityId: "g-opp", lines: [line("crm-9", { unitPrice: "7" })] },
        { occurredAt: afterStart(11) },
      ),
    );
    const acc = await h.cpq(cpqEvent("quote.accepted", { quoteId: "g-q" }, { occurredAt: afterStart(12) }));
    const s = await h.status("g-opp");
    expect(s.quotes[0]?.pendingChanges).toBe(0);
    expect(s.amount).toBe("212.00");
    expect(acc.response.mirrors.find((m) => m.target === "crm")?.opportunity?.amount).toBe("212.00");
  });

  it("leaves the pushed amount on a stop while changes wait; a new start catches up", async () => {
    const { h } = await pair("scheduled", "i");
    await h.cpq(
      quoteLinesUpserted("i-q", [line("i-l2", { unitPrice: "5" })], { occurredAt: afterStart(10) }),
    );
    await h.stop("i-q");
    expect((await h.status("i-opp")).amount).toBe("200.00");
    await h.start("i-q");
    expect((await h.status("i-opp")).amount).toBe("205.00");
  });

  it("settles the amount at the push for a CRM-side change that waited", async () => {
    const { h, sk } = await pair("scheduled", "j");
    await h.crm(
      crmEvent(
        "opportunity.lines.upserted",
        {
          opportunityId: "j-opp",
          lines: [line("crm-1", { productId: "prod-j-l1", quantity: "4", syncKey: sk })],
        },
        { occurredAt: afterStart(10) },
      ),
    );
    expect((await h.status("j-opp")).amount).toBe("200.00");
    h.advance(5 * 60_000);
    await h.engine.runScheduled();
    expect((await h.status("j-opp")).amount).toBe("400.00");
  });
});
