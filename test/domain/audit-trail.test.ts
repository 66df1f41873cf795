import { describe, expect, it } from "vitest";
import type { AuditEntry } from "../../domain/model.js";
import { TenantConfig } from "../../domain/tenant.js";
import { afterStart, engineHarness } from "../support/engine.js";
import {
  at,
  cpqEvent,
  crmEvent,
  line,
  opportunityLinesUpserted,
  opportunityUpserted,
  quoteLinesUpserted,
  quoteUpserted,
} from "../support/events.js";

/**
 * SPEC §1.13: every start, stop, replace, mirrored change, correction, refusal and automatic
 * trigger is recorded with its time, source, event id, actor and a summary a person can read.
 * Each test plays a story through the engine's public API and reads the audit trail back.
 */

type Harness = ReturnType<typeof engineHarness>;

/** The opportunity's audit trail, oldest first, without the times (the harness clock is frozen). */
async function trail(h: Harness, opportunityId = "opp"): Promise<Array<Omit<AuditEntry, "at">>> {
  const page = await h.store.readAudit(h.tenant.tenantId, opportunityId, null, 100);
  // The before → after values of line changes (`changes`) are pinned by audit-values.test.ts.
  return page.entries.reverse().map(({ at: _at, changes: _changes, ...entry }) => entry);
}

async function refusal(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error("not refused");
}

const ADMIN = { userId: "ann", permissions: ["sync:start", "sync:stop"] };
const REASON = "line q2 (prod-q2) has a 25% discount, over the 20% allowed without approval";

function guardedTenant(overrides: Record<string, unknown> = {}): TenantConfig {
  const base = engineHarness().tenant;
  return TenantConfig.parse({
    ...base,
    permissions: { start: ["sync:start"], stop: ["sync:stop"] },
    ...overrides,
  });
}

/** An opportunity with three quotes: `q` (two lines, one over the discount limit), `q-eur`, `q-empty`. */
async function opportunityWithQuotes(h: Harness) {
  await h.setup();
  await h.crm(opportunityUpserted("opp", { amount: "5" }, { occurredAt: at(1) }));
  await h.cpq(quoteUpserted("q", "opp", {}, { occurredAt: at(2) }));
  await h.cpq(quoteUpserted("q-eur", "opp", { currency: "EUR" }, { occurredAt: at(2) }));
  await h.cpq(quoteUpserted("q-empty", "opp", {}, { occurredAt: at(2) }));
  await h.cpq(
    quoteLinesUpserted("q", [line("q1"), line("q2", { discountPercent: "25" })], { occurredAt: at(3) }),
  );
}

describe("the audit trail of a pair's life (SPEC §1.13)", () => {
  it("refusals, a start, corrections, mirrored changes, a re-sync, a replace, a stop, a trigger, a terms change", async () => {
    const h = engineHarness({ tenant: guardedTenant() });
    await opportunityWithQuotes(h);
    expect(await trail(h)).toEqual([]);

    const anonymous = await refusal(h.start("q"));
    expect(anonymous.name).toBe("Forbidden");
    expect(anonymous.message).toBe("start needs the permission(s) sync:start");
    const bob = await refusal(h.start("q", { actor: { userId: "bob", permissions: ["sync:stop"] } }));
    expect(bob.name).toBe("Forbidden");
    const eur = await refusal(h.start("q-eur", { actor: ADMIN }));
    expect(eur).toMatchObject({ name: "PreconditionFailed", code: "currency_mismatch" });
    expect(eur.message).toBe("quote q-eur is in EUR but opportunity opp is in USD");

    expect((await h.start("q", { actor: ADMIN, eventId: "cmd-1" })).response.status).toBe("started");
    const amount = await h.crm(
      opportunityUpserted(
        "opp",
        { amount: "1" },
        { occurredAt: afterStart(5), eventId: "crm-amount", actor: { userId: "carl" } },
      ),
    );
    expect(amount.response.status).toBe("applied");
    await h.crm(
      opportunityLinesUpserted("opp", [line("crm-x", { unitPrice: "7" })], {
        occurredAt: afterStart(6),
        eventId: "crm-line",
      }),
    );
    await h.cpq(
      quoteUpserted(
        "q",
        "opp",
        { fields: { Region__c: "EMEA" } },
        { occurredAt: afterStart(7), eventId: "cpq-head" },
      ),
    );
    await h.start("q", { actor: ADMIN });
    await h.start("q-empty", { actor: ADMIN });
    expect((await h.stop("q-empty", { actor: ADMIN })).response.status).toBe("stopped");
    const accepted = await h.cpq(
      cpqEvent("quote.accepted", { quoteId: "q" }, { occurredAt: afterStart(9), eventId: "acc-1" }),
    );
    expect(accepted.response.status).toBe("started");
    const terms = await h.crm(
      opportunityUpserted("opp", { pricebookId: "pb-2" }, { occurredAt: afterStart(10), eventId: "crm-pb" }),
    );
    expect(terms.response.status).toBe("stopped");

    expect(await trail(h)).toEqual([
      {
        type: "command.forbidden",
        source: "command",
        summary: "start refused: an anonymous caller lacks sync:start",
        quoteId: "q",
      },
      {
        type: "command.forbidden",
        source: "command",
        summary: "start refused: user bob lacks sync:start",
        actor: "bob",
        quoteId: "q",
      },
      {
        type: "start.refused",
        source: "command",
        summary: "start of quote q-eur refused: quote q-eur is in EUR but opportunity opp is in USD",
        actor: "ann",
        quoteId: "q-eur",
      },
      {
        type: "sync.started",
        source: "command",
        summary: "quote q synced: 2 line(s) copied",
        eventId: "cmd-1",
        actor: "ann",
        quoteId: "q",
      },
      {
        type: "approval.changed",
        source: "command",
        summary: `approval required: ${REASON}`,
        eventId: "cmd-1",
        actor: "ann",
        quoteId: "q",
      },
      {
        type: "amount.corrected",
        source: "crm",
        summary: "CRM amount 1 restored to the locked 175.00",
        eventId: "crm-amount",
        actor: "carl",
        quoteId: "q",
      },
      {
        type: "change.mirrored",
        source: "crm",
        summary: "1 line change(s) from crm mirrored to cpq",
        eventId: "crm-line",
        quoteId: "q",
      },
      {
        type: "change.mirrored",
        source: "cpq",
        summary: "quote header change mirrored to crm: mapped fields",
        eventId: "cpq-head",
        quoteId: "q",
      },
      {
        type: "sync.resynced",
        source: "command",
        summary:
          "quote q re-synchronized: 0 pending change(s), 0 line(s) that differed copied, every line sent again",
        actor: "ann",
        quoteId: "q",
      },
      {
        type: "sync.replaced",
        source: "command",
        summary: "quote q-empty replaces quote q as the synced quote",
        actor: "ann",
        quoteId: "q-empty",
      },
      {
        type: "sync.started",
        source: "command",
        summary: "quote q-empty synced: 0 line(s) copied",
        actor: "ann",
        quoteId: "q-empty",
      },
      {
        type: "approval.changed",
        source: "command",
        summary: "approval no longer required",
        actor: "ann",
        quoteId: "q-empty",
      },
      {
        type: "sync.stopped",
        source: "command",
        summary: "sync of quote q-empty stopped by ann",
        actor: "ann",
        quoteId: "q-empty",
      },
      {
        type: "sync.started",
        source: "cpq",
        summary: "quote q synced: 3 line(s) copied",
        eventId: "acc-1",
        quoteId: "q",
      },
      {
        type: "trigger.fired",
        source: "cpq",
        summary: "quote.accepted started sync of quote q",
        eventId: "acc-1",
        quoteId: "q",
      },
      {
        type: "sync.stopped",
        source: "crm",
        summary: "sync stopped: the opportunity's price book changed",
        eventId: "crm-pb",
        quoteId: "q",
      },
    ]);
  });
});

/** An opportunity with one quote `q` of one line, its Region__c (a mapped field) set on both. */
async function onePair(h: Harness) {
  await h.setup();
  await h.crm(
    opportunityUpserted("opp", { amount: "5", fields: { Region__c: "NA" } }, { occurredAt: at(1) }),
  );
  await h.cpq(quoteUpserted("q", "opp", { fields: { Region__c: "NA" } }, { occurredAt: at(2) }));
  await h.cpq(quoteLinesUpserted("q", [line("q1")], { occurredAt: at(3) }));
}

describe("audited outcomes of events and commands", () => {
  it("triggers the tenant's policy does not enable are audited as ignored and start nothing", async () => {
    const h = engineHarness({ tenant: guardedTenant({ policy: { mode: "live", triggers: [] } }) });
    await onePair(h);
    const cart = await h.cpq(
      cpqEvent("cart.finalized", { quoteId: "q" }, { occurredAt: afterStart(1), eventId: "t-1" }),
    );
    expect(cart.response).toEqual({
      status: "no_change",
      mirrors: [],
      quoteId: "q",
      trigger: "disabled by tenant policy",
    });
    const accepted = await h.cpq(
      cpqEvent("quote.accepted", { quoteId: "q" }, { occurredAt: afterStart(2), eventId: "t-2" }),
    );
    expect(accepted.response).toMatchObject({ status: "not_synced", mirrors: [] });
    const again = await h.cpq(
      cpqEvent("quote.accepted", { quoteId: "q" }, { occurredAt: afterStart(3), eventId: "t-3" }),
    );
    expect(again.response.status).toBe("no_change");
    const unknown = await h.cpq(
      cpqEvent("quote.accepted", { quoteId: "nope" }, { occurredAt: afterStart(3) }),
    );
    expect(unknown.response).toMatchObject({ status: "no_change", quoteId: "nope" });
    const status = await h.status("opp");
    expect(status.syncedQuoteId).toBeNull();
    expect(status.quotes).toEqual([
      { quoteId: "q", syncing: false, status: "accepted", mode: "live", pendingChanges: 0 },
    ]);
    expect(await trail(h)).toEqual(
      [
        ["t-1", "cart.finalized"],
        ["t-2", "quote.accepted"],
        ["t-3", "quote.accepted"],
      ].map(([eventId, type]) => ({
        type: "trigger.fired",
        source: "cpq",
        summary: `${type} for quote q ignored: the tenant's policy does not enable it`,
        eventId,
        quoteId: "q",
      })),
    );
  });

  it("manual mode: changes from both sides wait as pending, a change of unshared fields is applied, a re-sync counts them", async () => {
    const h = engineHarness({
      tenant: guardedTenant({ policy: { mode: "manual" }, permissions: { start: [], stop: [] } }),
    });
    await onePair(h);
    await h.start("q");
    const cpq = await h.cpq(
      quoteLinesUpserted("q", [line("q1", { syncKey: "sk-1", quantity: "2" })], {
        occurredAt: afterStart(5),
        eventId: "m-1",
      }),
    );
    expect(cpq.response).toEqual({ status: "pending", mirrors: [] });
    const crm = await h.crm(
      opportunityLinesUpserted("opp", [line("c9", { quantity: "3" })], {
        occurredAt: afterStart(6),
        eventId: "m-2",
      }),
    );
    expect(crm.response).toEqual({ status: "pending", mirrors: [] });
    expect((await h.status("opp")).quotes[0]).toMatchObject({ mode: "manual", pendingChanges: 2 });
    const unshared = await h.cpq(
      quoteLinesUpserted(
        "q",
        [line("q1", { syncKey: "sk-1", quantity: "2", fields: { Term_Months__c: 12 } })],
        {
          occurredAt: afterStart(7),
          eventId: "m-3",
        },
      ),
    );
    expect(unshared.response).toEqual({ status: "applied", mirrors: [] });
    const resync = await h.start("q");
    expect(resync.response.status).toBe("started");
    const status = await h.status("opp");
    expect(status.amount).toBe("500.00");
    expect(status.quotes[0]).toMatchObject({ syncing: true, mode: "manual", pendingChanges: 0 });
    expect(await trail(h)).toEqual([
      { type: "sync.started", source: "command", summary: "quote q synced: 1 line(s) copied", quoteId: "q" },
      {
        type: "change.pending",
        source: "cpq",
        summary: "1 line change(s) from cpq pending",
        eventId: "m-1",
        quoteId: "q",
      },
      {
        type: "change.pending",
        source: "crm",
        summary: "1 line change(s) from crm pending",
        eventId: "m-2",
        quoteId: "q",
      },
      {
        type: "change.applied",
        source: "cpq",
        summary: "1 line change(s) from cpq applied; nothing to mirror to crm",
        eventId: "m-3",
        quoteId: "q",
      },
      {
        type: "sync.resynced",
        source: "command",
        summary:
          "quote q re-synchronized: 2 pending change(s), 2 line(s) that differed copied, every line sent again",
        quoteId: "q",
      },
    ]);
  });

  it("a stale line report is answered with the current values and audited as stale", async () => {
    const h = engineHarness({ tenant: guardedTenant({ permissions: { start: [], stop: [] } }) });
    await onePair(h);
    await h.start("q");
    await h.crm(
      opportunityLinesUpserted("opp", [line("c1", { syncKey: "sk-1", quantity: "4" })], {
        occurredAt: afterStart(10),
      }),
    );
    const stale = await h.crm(
      opportunityLinesUpserted("opp", [line("c1", { syncKey: "sk-1", quantity: "9" })], {
        occurredAt: afterStart(5),
        eventId: "old",
      }),
    );
    expect(stale.response.status).toBe("stale");
    expect(stale.response.mirrors).toEqual([
      expect.objectContaining({
        target: "crm",
        lines: { upsert: [expect.objectContaining({ id: "c1", quantity: "4" })], delete: [] },
      }),
    ]);
    expect((await trail(h)).at(-1)).toEqual({
      type: "change.stale",
      source: "crm",
      summary: "1 stale line change(s) from crm answered with the current values",
      eventId: "old",
      quoteId: "q",
    });
  });

  it("what stops a sync, each with its reason; a stop without an actor; stopping again changes nothing", async () => {
    const h = engineHarness({ tenant: guardedTenant({ permissions: { start: [], stop: [] } }) });
    await onePair(h);
    await h.start("q");
    const corrected = await h.crm(
      opportunityUpserted(
        "opp",
        { amount: "100.00", fields: { Region__c: "EMEA" } },
        { occurredAt: afterStart(2), eventId: "o-1" },
      ),
    );
    expect(corrected.response.status).toBe("applied");
    expect(corrected.response.mirrors[0]?.opportunity?.fields).toEqual({ Region__c: "NA" });
    expect(
      (
        await h.cpq(
          quoteUpserted(
            "q",
            "opp",
            { currency: "EUR", fields: { Region__c: "NA" } },
            { occurredAt: afterStart(3), eventId: "q-cur" },
          ),
        )
      ).response.status,
    ).toBe("stopped");
    await h.cpq(quoteUpserted("q", "opp", { fields: { Region__c: "NA" } }, { occurredAt: afterStart(4) }));
    await h.start("q");
    expect(
      (
        await h.crm(
          opportunityUpserted(
            "opp",
            { currency: "EUR", fields: { Region__c: "NA" } },
            { occurredAt: afterStart(5), eventId: "o-cur" },
          ),
        )
      ).response.status,
    ).toBe("stopped");
    await h.crm(opportunityUpserted("opp", { fields: { Region__c: "NA" } }, { occurredAt: afterStart(6) }));
    await h.start("q");
    expect((await h.stop("q")).response.status).toBe("stopped");
    expect((await h.stop("q")).response).toEqual({
      status: "no_change",
      mirrors: [],
      opportunityId: "opp",
      quoteId: "q",
    });
    await h.start("q");
    expect(
      (await h.cpq(quoteUpserted("q", "opp-2", {}, { occurredAt: afterStart(7), eventId: "q-move" })))
        .response.status,
    ).toBe("stopped");
    expect((await h.stop("q")).response).toEqual({
      status: "no_change",
      mirrors: [],
      opportunityId: "opp-2",
      quoteId: "q",
    });
    const stops = (await trail(h)).filter((entry) => entry.type !== "sync.started");
    expect(stops).toEqual([
      {
        type: "change.corrected",
        source: "crm",
        summary: "opportunity reported by crm answered with the synced mapped fields",
        eventId: "o-1",
        quoteId: "q",
      },
      {
        type: "sync.stopped",
        source: "cpq",
        summary: "sync stopped: the quote's currency changed",
        eventId: "q-cur",
        quoteId: "q",
      },
      {
        type: "sync.stopped",
        source: "crm",
        summary: "sync stopped: the opportunity's currency changed",
        eventId: "o-cur",
        quoteId: "q",
      },
      { type: "sync.stopped", source: "command", summary: "sync of quote q stopped", quoteId: "q" },
      {
        type: "sync.stopped",
        source: "cpq",
        summary: "sync stopped: the quote's moved to another opportunity",
        eventId: "q-move",
        quoteId: "q",
      },
    ]);
  });

  it("deleting the synced quote or the opportunity stops the sync; a second delete changes nothing", async () => {
    const h = engineHarness({ tenant: guardedTenant({ permissions: { start: [], stop: [] } }) });
    await onePair(h);
    await h.cpq(quoteUpserted("q2", "opp", {}, { occurredAt: at(4) }));
    await h.start("q");
    const quoteGone = await h.cpq(
      cpqEvent("quote.deleted", { quoteId: "q" }, { occurredAt: afterStart(6), eventId: "d-q" }),
    );
    expect(quoteGone.response.status).toBe("stopped");
    // A deleted quote is told nothing; the CRM is told the amount is free again.
    expect(quoteGone.response.mirrors).toEqual([
      expect.objectContaining({
        target: "crm",
        opportunity: expect.objectContaining({ amountLocked: false, syncedQuoteId: null }),
      }),
    ]);
    expect(
      (await h.cpq(cpqEvent("quote.deleted", { quoteId: "q" }, { occurredAt: afterStart(7) }))).response
        .status,
    ).toBe("no_change");
    await h.start("q2");
    const opportunityGone = await h.crm(
      crmEvent(
        "opportunity.deleted",
        { opportunityId: "opp" },
        { occurredAt: afterStart(8), eventId: "d-o" },
      ),
    );
    expect(opportunityGone.response.status).toBe("stopped");
    expect(opportunityGone.response.mirrors).toEqual([
      expect.objectContaining({ target: "cpq", quoteId: "q2", quote: { syncing: false } }),
    ]);
    expect(
      (await h.crm(crmEvent("opportunity.deleted", { opportunityId: "opp" }, { occurredAt: afterStart(9) })))
        .response.status,
    ).toBe("no_change");
    expect(
      (await h.crm(opportunityUpserted("opp", {}, { occurredAt: afterStart(10) }))).response.status,
    ).toBe("stale");
    const stops = (await trail(h)).filter((entry) => entry.type === "sync.stopped");
    expect(stops).toEqual([
      {
        type: "sync.stopped",
        source: "cpq",
        summary: "sync stopped: quote q was deleted",
        eventId: "d-q",
        quoteId: "q",
      },
      {
        type: "sync.stopped",
        source: "crm",
        summary: "sync stopped: opportunity opp was deleted",
        eventId: "d-o",
        quoteId: "q2",
      },
    ]);
  });

  it("refuses a start on a price book mismatch or an expired quote; a date-only expiry lasts its whole day", async () => {
    const h = engineHarness({ tenant: guardedTenant({ permissions: { start: [], stop: [] } }) });
    await onePair(h);
    await h.cpq(quoteUpserted("q", "opp", { pricebookId: "pb-1" }, { occurredAt: at(5) }));
    await h.crm(opportunityUpserted("opp", { pricebookId: "pb-2" }, { occurredAt: at(6) }));
    const pricebook = await refusal(h.start("q"));
    expect(pricebook).toMatchObject({
      code: "pricebook_mismatch",
      message: "quote q uses price book pb-1 but opportunity opp uses pb-2",
      details: [{ quotePricebookId: "pb-1", opportunityPricebookId: "pb-2" }],
    });
    await h.cpq(
      quoteUpserted("q", "opp", { pricebookId: "pb-2", expiresAt: "2025-12-31" }, { occurredAt: at(7) }),
    );
    const expired = await refusal(h.start("q"));
    expect(expired).toMatchObject({
      code: "quote_expired",
      message: "quote q expired at 2025-12-31",
      details: [{ expiresAt: "2025-12-31" }],
    });
    await h.cpq(
      quoteUpserted(
        "q",
        "opp",
        { pricebookId: "pb-2", expiresAt: "2026-01-01T11:59:59Z" },
        { occurredAt: at(8) },
      ),
    );
    expect(await refusal(h.start("q"))).toMatchObject({ code: "quote_expired" });
    // The harness clock is 2026-01-01 12:00 UTC: a quote that expires that day is still valid.
    await h.cpq(
      quoteUpserted("q", "opp", { pricebookId: "pb-2", expiresAt: "2026-01-01" }, { occurredAt: at(9) }),
    );
    expect((await h.start("q")).response.status).toBe("started");
    expect((await trail(h)).map((entry) => [entry.type, entry.summary])).toEqual([
      [
        "start.refused",
        "start of quote q refused: quote q uses price book pb-1 but opportunity opp uses pb-2",
      ],
      ["start.refused", "start of quote q refused: quote q expired at 2025-12-31"],
      ["start.refused", "start of quote q refused: quote q expired at 2026-01-01T11:59:59Z"],
      ["sync.started", "quote q synced: 1 line(s) copied"],
    ]);
  });
});
