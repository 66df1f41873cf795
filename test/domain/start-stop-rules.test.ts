import { describe, expect, it } from "vitest";
import { TenantConfig } from "../../domain/tenant.js";
import { afterStart, engineHarness } from "../support/engine.js";
import {
  at,
  cpqEvent,
  line,
  opportunityLinesUpserted,
  opportunityUpserted,
  quoteLinesUpserted,
  quoteUpserted,
} from "../support/events.js";

/**
 * SPEC §1.2, §1.6, §1.7, §1.10 and §6 for the start and stop commands and the CPQ's triggers,
 * through the engine's public API on the in-memory store: what a start answers and stores, what
 * it refuses, who may trigger it, and what a stop tells both systems.
 */

type Harness = ReturnType<typeof engineHarness>;

function tenantWith(overrides: Record<string, unknown>): TenantConfig {
  const base = engineHarness().tenant;
  return TenantConfig.parse({ ...base, ...overrides });
}

/** Opportunity `opp` and its quote `q` with one line (200.00), not synced yet. */
async function unsyncedPair(h: Harness) {
  await h.setup();
  await h.crm(opportunityUpserted("opp", { stage: "Prospecting" }, { occurredAt: at(1) }));
  await h.cpq(quoteUpserted("q", "opp", {}, { occurredAt: at(2) }));
  await h.cpq(quoteLinesUpserted("q", [line("q1", { quantity: "2" })], { occurredAt: at(3) }));
}

async function auditTypes(h: Harness): Promise<string[]> {
  const page = await h.store.readAudit(h.tenant.tenantId, "opp", null, 100);
  return page.entries.reverse().map((entry) => entry.type);
}

const trigger = (
  type: "cart.finalized" | "quote.accepted",
  actor?: { userId: string; permissions?: string[] },
) => cpqEvent(type, { quoteId: "q" }, { occurredAt: afterStart(5), ...(actor ? { actor } : {}) });

describe("a first start (SPEC §1.2)", () => {
  it("answers started with the CRM's lines and locked amount and the CPQ told it is syncing", async () => {
    const h = engineHarness();
    await unsyncedPair(h);
    const started = await h.start("q");
    expect(started.response).toMatchObject({ status: "started", opportunityId: "opp", quoteId: "q" });
    expect(started.response.mirrors).toEqual([
      {
        target: "crm",
        opportunityId: "opp",
        quoteId: "q",
        lines: {
          upsert: [expect.objectContaining({ id: null, syncKey: "sk-1", quantity: "2" })],
          delete: [],
        },
        opportunity: expect.objectContaining({ amount: "200.00", amountLocked: true, syncedQuoteId: "q" }),
      },
      { target: "cpq", opportunityId: "opp", quoteId: "q", quote: { syncing: true } },
    ]);
    const status = await h.status("opp");
    expect(status).toMatchObject({
      syncedQuoteId: "q",
      amount: "200.00",
      amountLocked: true,
      lastSyncedAt: new Date(Date.UTC(2026, 0, 1, 12)).toISOString(),
    });
    expect(status.quotes).toEqual([
      expect.objectContaining({ quoteId: "q", syncing: true, pendingChanges: 0 }),
    ]);
    expect(await auditTypes(h)).toEqual(["sync.started"]);
  });

  it("a re-run of the synced quote sends its state again without a replace", async () => {
    const h = engineHarness();
    await unsyncedPair(h);
    await h.start("q");
    const again = await h.start("q");
    expect(again.response.status).toBe("started");
    expect(again.response.mirrors.map((mirror) => mirror.target)).toEqual(["crm", "cpq"]);
    expect(again.response.mirrors[1]).toEqual({
      target: "cpq",
      opportunityId: "opp",
      quoteId: "q",
      quote: { syncing: true },
    });
    // The header is pushed again too, though nothing about it changed.
    expect(again.response.mirrors[0]?.opportunity).toEqual({
      amount: "200.00",
      amountLocked: true,
      syncedQuoteId: "q",
      approval: { required: false, reasons: [] },
      stage: "Prospecting",
    });
    expect(await auditTypes(h)).toEqual(["sync.started", "sync.resynced"]);
  });
});

describe("starts refused (SPEC §2 errors, §1.10)", () => {
  it("a deleted quote, or a quote whose opportunity is unknown or deleted, is not found; nothing is written", async () => {
    const h = engineHarness();
    await unsyncedPair(h);
    await h.cpq(quoteUpserted("q-lost", "opp-unknown", {}, { occurredAt: at(4) }));
    await expect(h.start("q-lost")).rejects.toMatchObject({
      name: "NotFound",
      resource: "opportunity",
      resourceId: "opp-unknown",
    });
    await h.cpq(cpqEvent("quote.deleted", { quoteId: "q-lost" }, { occurredAt: at(5) }));
    await expect(h.start("q-lost")).rejects.toMatchObject({
      name: "NotFound",
      resource: "quote",
      resourceId: "q-lost",
    });
    await expect(h.stop("q-lost")).rejects.toMatchObject({ name: "NotFound", resource: "quote" });

    await h.crm(opportunityUpserted("opp-2", {}, { occurredAt: at(6) }));
    await h.cpq(quoteUpserted("q-2", "opp-2", {}, { occurredAt: at(7) }));
    await h.crm({
      eventId: "crm-del-opp-2",
      type: "opportunity.deleted",
      occurredAt: at(8),
      data: { opportunityId: "opp-2" },
    });
    await expect(h.start("q-2")).rejects.toMatchObject({
      name: "NotFound",
      resource: "opportunity",
      resourceId: "opp-2",
    });
    expect((await h.store.loadOpportunity("demo", "opp-2"))?.header.syncedQuoteId ?? null).toBeNull();
  });

  it("currency mismatch names both currencies in its details", async () => {
    const h = engineHarness();
    await h.setup();
    await h.crm(opportunityUpserted("opp", { currency: "EUR" }, { occurredAt: at(1) }));
    await h.cpq(quoteUpserted("q", "opp", {}, { occurredAt: at(2) }));
    await expect(h.start("q")).rejects.toMatchObject({
      code: "currency_mismatch",
      details: [{ quoteCurrency: "USD", opportunityCurrency: "EUR" }],
    });
  });

  it("a quote expiring at this very instant can still be started; one that expired a moment ago cannot", async () => {
    const h = engineHarness();
    await h.setup();
    await h.crm(opportunityUpserted("opp", {}, { occurredAt: at(1) }));
    const now = new Date(Date.UTC(2026, 0, 1, 12)).toISOString();
    const before = new Date(Date.UTC(2026, 0, 1, 12) - 1).toISOString();
    await h.cpq(quoteUpserted("q-now", "opp", { expiresAt: now }, { occurredAt: at(2) }));
    await h.cpq(quoteUpserted("q-gone", "opp", { expiresAt: before }, { occurredAt: at(2) }));
    expect((await h.start("q-now")).response.status).toBe("started");
    await expect(h.start("q-gone")).rejects.toMatchObject({ code: "quote_expired" });
  });
});

describe("triggers (SPEC §1.7, §6)", () => {
  it("cart.finalized starts sync without accepting the quote or moving the stage", async () => {
    const h = engineHarness();
    await unsyncedPair(h);
    const fired = await h.cpq(trigger("cart.finalized"));
    expect(fired.response.status).toBe("started");
    const status = await h.status("opp");
    expect(status.stage).toBe("Prospecting");
    expect(status.quotes[0]).toMatchObject({ quoteId: "q", syncing: true, status: "draft" });
    expect(await auditTypes(h)).toEqual(["sync.started", "trigger.fired"]);
  });

  it("checked triggers act as the event's actor, else as the tenant's trigger actor", async () => {
    const permissions = {
      start: ["sync:start"],
      stop: [],
      checkTriggers: true,
      triggerActor: { userId: "robot", permissions: ["sync:start"] },
    };
    // The tenant's trigger actor may start: a trigger without an actor passes.
    const robot = engineHarness({ tenant: tenantWith({ permissions }) });
    await unsyncedPair(robot);
    expect((await robot.cpq(trigger("cart.finalized"))).response.status).toBe("started");

    // The event's own actor is the one checked, even when the trigger actor could start.
    const named = engineHarness({ tenant: tenantWith({ permissions }) });
    await unsyncedPair(named);
    await expect(
      named.cpq(trigger("cart.finalized", { userId: "eve", permissions: [] })),
    ).rejects.toMatchObject({
      name: "Forbidden",
    });

    // Without a trigger actor, the event's actor with the permission starts it.
    const own = engineHarness({
      tenant: tenantWith({ permissions: { ...permissions, triggerActor: null } }),
    });
    await unsyncedPair(own);
    const started = await own.cpq(trigger("cart.finalized", { userId: "ann", permissions: ["sync:start"] }));
    expect(started.response.status).toBe("started");
  });
});

describe("a trigger the tenant does not enable (SPEC §1.7, §1.9)", () => {
  const disabled = () => tenantWith({ policy: { ...engineHarness().tenant.policy, triggers: [] } });

  it("quote.accepted of an unsynced quote accepts it and starts nothing: not_synced", async () => {
    const h = engineHarness({ tenant: disabled() });
    await unsyncedPair(h);
    const accepted = await h.cpq(trigger("quote.accepted"));
    expect(accepted.response).toMatchObject({ status: "not_synced", mirrors: [], quoteId: "q" });
    const status = await h.status("opp");
    expect(status.syncedQuoteId).toBeNull();
    expect(status.quotes[0]).toMatchObject({ syncing: false, status: "accepted" });
  });

  it("quote.accepted of the synced quote clears its approval flag at once: applied", async () => {
    const h = engineHarness({ tenant: disabled() });
    await h.setup();
    await h.crm(opportunityUpserted("opp", {}, { occurredAt: at(1) }));
    await h.cpq(quoteUpserted("q", "opp", {}, { occurredAt: at(2) }));
    await h.cpq(quoteLinesUpserted("q", [line("q1", { discountPercent: "50" })], { occurredAt: at(3) }));
    await h.start("q");
    expect((await h.status("opp")).approval.required).toBe(true);
    const accepted = await h.cpq(trigger("quote.accepted"));
    expect(accepted.response.status).toBe("applied");
    expect(accepted.response.mirrors).toEqual([
      expect.objectContaining({
        target: "crm",
        opportunity: expect.objectContaining({ approval: { required: false, reasons: [] } }),
      }),
    ]);
    expect((await h.status("opp")).approval).toEqual({ required: false, reasons: [] });
  });

  it("a deleted quote accepted under a disabled trigger stays as it was, and nothing is mirrored", async () => {
    const h = engineHarness({
      tenant: tenantWith({ policy: { ...engineHarness().tenant.policy, triggers: [] } }),
    });
    await unsyncedPair(h);
    await h.cpq(cpqEvent("quote.deleted", { quoteId: "q" }, { occurredAt: at(4) }));
    const before = await h.store.loadQuote("demo", "q");
    const accepted = await h.cpq(trigger("quote.accepted"));
    expect(accepted.response).toEqual({
      status: "no_change",
      mirrors: [],
      quoteId: "q",
      trigger: "disabled by tenant policy",
    });
    expect((await h.store.loadQuote("demo", "q"))?.header).toEqual(before?.header);
  });
});

describe("stop (SPEC §1.6)", () => {
  it("tells the CPQ the quote stopped and the CRM the amount is unlocked; lines stay", async () => {
    const h = engineHarness();
    await unsyncedPair(h);
    await h.start("q");
    const stopped = await h.stop("q");
    expect(stopped.response).toMatchObject({ status: "stopped", opportunityId: "opp", quoteId: "q" });
    expect(stopped.response.mirrors).toEqual([
      { target: "cpq", opportunityId: "opp", quoteId: "q", quote: { syncing: false } },
      {
        target: "crm",
        opportunityId: "opp",
        quoteId: "q",
        opportunity: {
          amount: "200.00",
          amountLocked: false,
          syncedQuoteId: null,
          approval: { required: false, reasons: [] },
        },
      },
    ]);
    const status = await h.status("opp");
    expect(status).toMatchObject({ syncedQuoteId: null, amountLocked: false, amount: "200.00" });
    expect(status.lines).toHaveLength(1);
    expect(status.quotes[0]).toMatchObject({ syncing: false, pendingChanges: 0 });
    // Stopping again changes nothing.
    expect((await h.stop("q")).response).toMatchObject({ status: "no_change", mirrors: [] });
    expect(await auditTypes(h)).toEqual(["sync.started", "sync.stopped"]);
  });
});

describe("permissions (SPEC §6)", () => {
  it("a refusal names every permission the caller lacks", async () => {
    const h = engineHarness({
      tenant: tenantWith({ permissions: { start: ["sync:start", "sync:admin"], stop: [] } }),
    });
    await unsyncedPair(h);
    await expect(h.start("q", { actor: { userId: "bob", permissions: [] } })).rejects.toMatchObject({
      name: "Forbidden",
      message: "start needs the permission(s) sync:start, sync:admin",
    });
    const page = await h.store.readAudit("demo", "opp", null, 10);
    expect(page.entries.map((entry) => entry.summary)).toEqual([
      "start refused: user bob lacks sync:start, sync:admin",
    ]);
  });
});

describe("a quote that says it is syncing with an opportunity that does not name it", () => {
  /** The pair of `unsyncedPair`, started, then the opportunity's side lost behind the engine's back. */
  async function tornPair(h: Harness) {
    await unsyncedPair(h);
    await h.start("q");
    const opportunity = await h.store.loadOpportunity("demo", "opp");
    if (!opportunity) throw new Error("no opportunity");
    await h.store.commit({
      tenantId: "demo",
      opportunity: { record: { ...opportunity.header, syncedQuoteId: null } },
      quotes: [],
      outbox: [],
      audit: [],
    });
  }

  it("a start over it is a fresh start, not a re-sync: the quote's lines replace the opportunity's", async () => {
    const h = engineHarness();
    await tornPair(h);
    const again = await h.start("q");
    expect(again.response.status).toBe("started");
    expect(await auditTypes(h)).toEqual(["sync.started", "sync.started"]);
  });

  it("a start of a quote the opportunity names but that stopped syncing is a fresh start too", async () => {
    const h = engineHarness();
    await unsyncedPair(h);
    await h.start("q");
    const quote = await h.store.loadQuote("demo", "q");
    if (!quote) throw new Error("no quote");
    await h.store.commit({
      tenantId: "demo",
      quotes: [{ record: { ...quote.header, syncing: false } }],
      outbox: [],
      audit: [],
    });
    await h.start("q");
    expect(await auditTypes(h)).toEqual(["sync.started", "sync.started"]);
  });

  it("a stop changes nothing and tells no one", async () => {
    const h = engineHarness();
    await tornPair(h);
    const stopped = await h.stop("q");
    expect(stopped.response).toEqual({
      status: "no_change",
      mirrors: [],
      opportunityId: "opp",
      quoteId: "q",
    });
    expect((await h.store.loadQuote("demo", "q"))?.header.syncing).toBe(true);
  });

  it("an accepted quote under a disabled trigger is accepted, and nothing is mirrored", async () => {
    const h = engineHarness({
      tenant: tenantWith({ policy: { ...engineHarness().tenant.policy, triggers: [] } }),
    });
    await tornPair(h);
    const accepted = await h.cpq(trigger("quote.accepted"));
    expect(accepted.response).toEqual({
      status: "not_synced",
      mirrors: [],
      quoteId: "q",
      trigger: "disabled by tenant policy",
    });
    expect((await h.store.loadQuote("demo", "q"))?.header.status).toBe("accepted");
  });
});

describe("a start after a stop: the quote's lines replace the CRM's again (SPEC §1.2, §1.11)", () => {
  const crmLine = (id: string, when: string, values: Record<string, unknown> = {}) =>
    opportunityLinesUpserted(
      "opp",
      [line(id, { productId: "prod-q1", quantity: "2", syncKey: "sk-1", ...values })],
      {
        occurredAt: when,
      },
    );

  /** Started, the CRM's copy confirmed as c1, stopped, then changed in the CRM to 5 at +50 s. */
  async function restarted() {
    const h = engineHarness();
    await unsyncedPair(h);
    await h.start("q");
    await h.crm(crmLine("c1", afterStart(1)));
    await h.stop("q");
    await h.crm(crmLine("c1", afterStart(50), { quantity: "5" }));
    const again = await h.start("q");
    return { h, again };
  }

  it("updates the CRM's own line, under its id, to the quote's values", async () => {
    const { h, again } = await restarted();
    expect(again.response.mirrors[0]?.lines).toEqual({
      upsert: [expect.objectContaining({ id: "c1", syncKey: "sk-1", quantity: "2" })],
      delete: [],
    });
    expect((await h.status("opp")).lines).toEqual([expect.objectContaining({ id: "c1", quantity: "2" })]);
  });

  it("the copy counts as changed when the CRM's line last was: older CRM reports are answered", async () => {
    const { h } = await restarted();
    const older = await h.crm(crmLine("c1", afterStart(40), { quantity: "7" }));
    expect(older.response.status).toBe("stale");
    // At the same time: the CPQ's side wins.
    const tie = await h.crm(crmLine("c1", afterStart(50), { quantity: "7" }));
    expect(tie.response.status).toBe("stale");
    // The CRM's user setting 5 again later is a change of theirs, not an echo of the overwritten value.
    const later = await h.crm(crmLine("c1", afterStart(60), { quantity: "5" }));
    expect(later.response.status).toBe("applied");
    expect(later.response.mirrors[0]).toMatchObject({
      target: "cpq",
      lines: { upsert: [expect.objectContaining({ id: "q1", quantity: "5" })], delete: [] },
    });
  });

  it("a CRM line the start deleted cannot come back from a report made before the start", async () => {
    const h = engineHarness();
    await unsyncedPair(h);
    await h.crm(opportunityLinesUpserted("opp", [line("c-x")], { occurredAt: at(4) }));
    const started = await h.start("q");
    expect(started.response.mirrors[0]?.lines?.delete).toEqual(["c-x"]);
    await h.stop("q");
    const late = await h.crm(
      opportunityLinesUpserted("opp", [line("c-x", { quantity: "3" })], { occurredAt: at(5) }),
    );
    expect(late.response.status).toBe("stale");
    expect((await h.status("opp")).lines.map((l) => l.id)).toEqual([null]);
  });
});

describe("a re-sync of a manual-mode pair (SPEC §1.8)", () => {
  it("pushes a pending quote line delete to the CRM", async () => {
    const h = engineHarness();
    await h.setup();
    await h.crm(opportunityUpserted("opp", {}, { occurredAt: at(1) }));
    await h.cpq(quoteUpserted("q", "opp", { syncMode: "manual" }, { occurredAt: at(2) }));
    await h.cpq(quoteLinesUpserted("q", [line("q1"), line("q2")], { occurredAt: at(3) }));
    await h.start("q");
    await h.crm(
      opportunityLinesUpserted(
        "opp",
        [
          line("c1", { productId: "prod-q1", syncKey: "sk-1" }),
          line("c2", { productId: "prod-q2", syncKey: "sk-2" }),
        ],
        { occurredAt: afterStart(1) },
      ),
    );
    const pending = await h.cpq(
      cpqEvent("quote.lines.deleted", { quoteId: "q", lineIds: ["q1"] }, { occurredAt: afterStart(5) }),
    );
    expect(pending.response.status).toBe("pending");
    const resync = await h.start("q");
    expect(resync.response.mirrors[0]?.lines).toEqual({
      upsert: [expect.objectContaining({ id: "c2", syncKey: "sk-2" })],
      delete: ["c1"],
    });
    expect((await h.status("opp")).lines.map((l) => l.id)).toEqual(["c2"]);
  });
});
