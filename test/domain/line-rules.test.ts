import { describe, expect, it } from "vitest";
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
 * SPEC §1.3, §1.11 and §1.12 for lines, through the engine's public API on the in-memory store:
 * deletes and their tombstones, older reports answered with the winner, echoes that change
 * nothing, snapshots, and the status each combination answers.
 */

/** A live pair: quote line `q1` (sync key sk-1) copied to the CRM, which confirmed it as `c1`. */
async function livePair(mode: "live" | "manual" = "live") {
  const h = engineHarness();
  await h.setup();
  await h.crm(opportunityUpserted("opp", {}, { occurredAt: at(1) }));
  await h.cpq(quoteUpserted("q", "opp", { syncMode: mode }, { occurredAt: at(2) }));
  await h.cpq(quoteLinesUpserted("q", [line("q1")], { occurredAt: at(3) }));
  await h.start("q");
  await h.crm(
    opportunityLinesUpserted("opp", [line("c1", { productId: "prod-q1", syncKey: "sk-1" })], {
      occurredAt: afterStart(1),
    }),
  );
  return h;
}

const crmDelete = (ids: string[], seconds: number) =>
  crmEvent(
    "opportunity.lines.deleted",
    { opportunityId: "opp", lineIds: ids },
    { occurredAt: afterStart(seconds) },
  );
const cpqDelete = (ids: string[], seconds: number) =>
  cpqEvent("quote.lines.deleted", { quoteId: "q", lineIds: ids }, { occurredAt: afterStart(seconds) });

describe("line deletes (SPEC §1.3, §1.11)", () => {
  it("a CRM delete removes the quote line by the CPQ's id and leaves tombstones on both sides", async () => {
    const h = await livePair();
    const deleted = await h.crm(crmDelete(["c1"], 10));
    expect(deleted.response.status).toBe("applied");
    expect(deleted.response.mirrors).toEqual([
      expect.objectContaining({ target: "cpq", lines: { upsert: [], delete: ["q1"] } }),
      expect.objectContaining({ target: "crm", opportunity: expect.objectContaining({ amount: "0.00" }) }),
    ]);
    expect((await h.status("opp")).lines).toEqual([]);
    const quote = await h.store.loadQuote("demo", "q");
    expect(quote?.lines.get("sk-1")).toMatchObject({ deleted: true, changedBy: "crm" });
    // A late upsert of the deleted line, from either side, is answered with the delete again.
    const lateCpq = await h.cpq(
      quoteLinesUpserted("q", [line("q1", { syncKey: "sk-1", quantity: "4" })], {
        occurredAt: afterStart(20),
      }),
    );
    expect(lateCpq.response.status).toBe("stale");
    expect(lateCpq.response.mirrors).toEqual([
      expect.objectContaining({ target: "cpq", lines: { upsert: [], delete: ["q1"] } }),
    ]);
    const lateCrm = await h.crm(
      opportunityLinesUpserted("opp", [line("c1", { syncKey: "sk-1" })], { occurredAt: afterStart(5) }),
    );
    expect(lateCrm.response.status).toBe("stale");
    expect(lateCrm.response.mirrors).toEqual([
      expect.objectContaining({ target: "crm", lines: { upsert: [], delete: ["c1"] } }),
    ]);
    // Deleting again changes nothing.
    const again = await h.crm(crmDelete(["c1"], 30));
    expect(again.response).toEqual({ status: "no_change", mirrors: [] });
  });

  it("a delete older than the line's last change is answered with the line", async () => {
    const h = await livePair();
    await h.cpq(
      quoteLinesUpserted("q", [line("q1", { syncKey: "sk-1", quantity: "3" })], {
        occurredAt: afterStart(20),
      }),
    );
    const late = await h.crm(crmDelete(["c1"], 10));
    expect(late.response.status).toBe("stale");
    expect(late.response.mirrors).toEqual([
      expect.objectContaining({
        target: "crm",
        lines: {
          upsert: [expect.objectContaining({ id: "c1", syncKey: "sk-1", quantity: "3" })],
          delete: [],
        },
      }),
    ]);
    expect((await h.status("opp")).lines).toHaveLength(1);
  });

  it("a delete of a line nobody knows is remembered, so its late upsert cannot create it", async () => {
    const h = await livePair();
    const unknown = await h.crm(crmDelete(["c-ghost"], 10));
    expect(unknown.response).toEqual({ status: "no_change", mirrors: [] });
    const late = await h.crm(
      opportunityLinesUpserted("opp", [line("c-ghost")], { occurredAt: afterStart(5) }),
    );
    expect(late.response.status).toBe("stale");
    expect((await h.status("opp")).lines.map((l) => l.id)).toEqual(["c1"]);
  });

  it("a CPQ delete in manual mode waits: pending, counted, nothing mirrored", async () => {
    const h = await livePair("manual");
    const deleted = await h.cpq(cpqDelete(["q1"], 10));
    expect(deleted.response).toEqual({ status: "pending", mirrors: [] });
    expect((await h.status("opp")).quotes[0]?.pendingChanges).toBe(1);
    expect((await h.status("opp")).lines).toHaveLength(1);
  });

  it("a CPQ delete of a line the CRM has not confirmed yet is mirrored by its sync key", async () => {
    const h = engineHarness();
    await h.setup();
    await h.crm(opportunityUpserted("opp", {}, { occurredAt: at(1) }));
    await h.cpq(quoteUpserted("q", "opp", {}, { occurredAt: at(2) }));
    await h.cpq(quoteLinesUpserted("q", [line("q1")], { occurredAt: at(3) }));
    await h.start("q");
    const deleted = await h.cpq(cpqDelete(["q1"], 10));
    expect(deleted.response.mirrors[0]).toMatchObject({
      target: "crm",
      lines: { upsert: [], delete: ["sk-1"] },
    });
  });
});

describe("older reports and echoes (SPEC §1.11, §1.12)", () => {
  it("an older CRM upsert is answered with the current values under the CRM's id; no change to the quote", async () => {
    const h = await livePair();
    await h.cpq(
      quoteLinesUpserted("q", [line("q1", { syncKey: "sk-1", unitPrice: "80" })], {
        occurredAt: afterStart(20),
      }),
    );
    const old = await h.crm(
      opportunityLinesUpserted("opp", [line("c1", { syncKey: "sk-1", unitPrice: "55" })], {
        occurredAt: afterStart(10),
      }),
    );
    expect(old.response.status).toBe("stale");
    expect(old.response.mirrors).toEqual([
      expect.objectContaining({
        target: "crm",
        lines: { upsert: [expect.objectContaining({ id: "c1", unitPrice: "80" })], delete: [] },
      }),
    ]);
    expect((await h.store.loadQuote("demo", "q"))?.lines.get("sk-1")?.unitPrice).toBe("80");
  });

  it("the echo of a stale answer, reported after the other side's newer change, is answered with that change", async () => {
    const h = await livePair();
    const crmPrice = (unitPrice: string, seconds: number) =>
      h.crm(
        opportunityLinesUpserted("opp", [line("c1", { productId: "prod-q1", syncKey: "sk-1", unitPrice })], {
          occurredAt: afterStart(seconds),
        }),
      );
    // The CRM's user sets 150 at +10 s; the CRM then applies a late second delivery of the start's
    // copy (100) and reports it at +11 s: a late echo, answered with 150.
    expect((await crmPrice("150", 10)).response.status).toBe("applied");
    const echo = await crmPrice("100", 11);
    expect(echo.response.status).toBe("stale");
    expect(echo.response.mirrors.flatMap((mirror) => mirror.lines?.upsert ?? [])).toEqual([
      expect.objectContaining({ unitPrice: "150" }),
    ]);
    // The CPQ's user sets 120 at +20 s: mirrored to the CRM.
    const cpqEdit = await h.cpq(
      quoteLinesUpserted("q", [line("q1", { syncKey: "sk-1", unitPrice: "120" })], {
        occurredAt: afterStart(20),
      }),
    );
    expect(cpqEdit.response.status).toBe("applied");
    // The answer (150) reaches the CRM after that, and the CRM reports it at +30 s: an echo of a
    // value quotesync sent and has moved past, not a user's change.
    const late = await crmPrice("150", 30);
    expect(late.response.status).toBe("stale");
    expect(late.response.mirrors).toEqual([
      expect.objectContaining({
        target: "crm",
        lines: { upsert: [expect.objectContaining({ id: "c1", unitPrice: "120" })], delete: [] },
      }),
    ]);
    expect((await h.store.loadQuote("demo", "q"))?.lines.get("sk-1")?.unitPrice).toBe("120");
    // The CRM then applies 120 and reports it: no change, the pair at rest.
    const settled = await crmPrice("120", 40);
    expect(settled.response).toMatchObject({ status: "no_change", mirrors: [] });
  });

  it("a newer CRM upsert wins and reaches the CPQ under the CPQ's id", async () => {
    const h = await livePair();
    const newer = await h.crm(
      opportunityLinesUpserted("opp", [line("c1", { syncKey: "sk-1", unitPrice: "55" })], {
        occurredAt: afterStart(10),
      }),
    );
    expect(newer.response.status).toBe("applied");
    expect(newer.response.mirrors[0]).toMatchObject({
      target: "cpq",
      lines: {
        upsert: [expect.objectContaining({ id: "q1", syncKey: "sk-1", unitPrice: "55" })],
        delete: [],
      },
    });
    expect((await h.status("opp")).amount).toBe("55.00");
  });

  it("an echo of the held values, in another notation, changes nothing and mirrors nothing", async () => {
    const h = await livePair();
    const echo = await h.crm(
      opportunityLinesUpserted(
        "opp",
        [line("c1", { productId: "prod-q1", syncKey: "sk-1", quantity: "1.0000001", unitPrice: 100 })],
        {
          occurredAt: afterStart(10),
        },
      ),
    );
    expect(echo.response).toEqual({ status: "no_change", mirrors: [] });
    const cpqEcho = await h.cpq(
      quoteLinesUpserted("q", [line("q1", { syncKey: "sk-1", unitPrice: "100.000000" })], {
        occurredAt: afterStart(11),
      }),
    );
    expect(cpqEcho.response).toEqual({ status: "no_change", mirrors: [] });
  });

  it("one event with a stale line and an applied line answers applied, with both mirrors", async () => {
    const h = await livePair();
    await h.cpq(
      quoteLinesUpserted("q", [line("q1", { syncKey: "sk-1", unitPrice: "80" })], {
        occurredAt: afterStart(20),
      }),
    );
    const mixed = await h.crm(
      opportunityLinesUpserted(
        "opp",
        [line("c1", { syncKey: "sk-1", unitPrice: "1" }), line("c2", { unitPrice: "9" })],
        {
          occurredAt: afterStart(10),
        },
      ),
    );
    expect(mixed.response.status).toBe("applied");
    expect(mixed.response.mirrors.map((mirror) => mirror.target)).toEqual(["crm", "cpq"]);
    // One mirror per target: the CRM gets the winner of its stale line and the new amount together.
    expect(mixed.response.mirrors[0]).toMatchObject({
      lines: { upsert: [expect.objectContaining({ id: "c1", unitPrice: "80" })], delete: [] },
      opportunity: { amount: "89.00" },
    });
    expect(mixed.response.mirrors[1]?.lines?.upsert).toEqual([
      expect.objectContaining({ id: null, unitPrice: "9" }),
    ]);
    const audit = await h.store.readAudit("demo", "opp", null, 2);
    expect(audit.entries.map((entry) => entry.type).sort()).toEqual(["change.mirrored", "change.stale"]);
  });

  it("lines of an unsynced quote are stored, not mirrored: not_synced", async () => {
    const h = engineHarness();
    await h.setup();
    await h.crm(opportunityUpserted("opp", {}, { occurredAt: at(1) }));
    await h.cpq(quoteUpserted("q", "opp", {}, { occurredAt: at(2) }));
    const stored = await h.cpq(quoteLinesUpserted("q", [line("q1")], { occurredAt: at(3) }));
    expect(stored.response).toEqual({ status: "not_synced", mirrors: [] });
    const same = await h.cpq(quoteLinesUpserted("q", [line("q1")], { occurredAt: at(4) }));
    expect(same.response).toEqual({ status: "no_change", mirrors: [] });
    expect((await h.store.loadQuote("demo", "q"))?.lines.size).toBe(1);
    expect(await h.store.readAudit("demo", "opp", null, 10)).toEqual({ entries: [], next: null });
  });
});

describe("snapshots (`*.lines.replaced`)", () => {
  it("a CRM snapshot without a line deletes it on both sides; lines it names are upserted", async () => {
    const h = await livePair();
    await h.cpq(quoteLinesUpserted("q", [line("q2", { unitPrice: "10" })], { occurredAt: afterStart(2) }));
    await h.crm(
      opportunityLinesUpserted(
        "opp",
        [line("c2", { productId: "prod-q2", unitPrice: "10", syncKey: "sk-2" })],
        { occurredAt: afterStart(3) },
      ),
    );
    const snapshot = await h.crm(
      crmEvent(
        "opportunity.lines.replaced",
        {
          opportunityId: "opp",
          lines: [line("c2", { productId: "prod-q2", unitPrice: "12", syncKey: "sk-2" })],
        },
        { occurredAt: afterStart(10) },
      ),
    );
    expect(snapshot.response.status).toBe("applied");
    const cpq = snapshot.response.mirrors.find((mirror) => mirror.target === "cpq");
    expect(cpq?.lines).toEqual({
      upsert: [expect.objectContaining({ id: "q2", unitPrice: "12" })],
      delete: ["q1"],
    });
    const status = await h.status("opp");
    expect(status.lines.map((l) => l.id)).toEqual(["c2"]);
    expect(status.amount).toBe("12.00");
  });
});

describe("a line its owner reports under a new id (SPEC §1.11: lines are matched by sync key)", () => {
  const crmLine = (id: string, seconds: number, values: { quantity?: string } = {}) =>
    opportunityLinesUpserted("opp", [line(id, { productId: "prod-q1", syncKey: "sk-1", ...values })], {
      occurredAt: afterStart(seconds),
    });

  it("takes the new id, keeps the old one: an older report under it is stale, a delete by it deletes the line", async () => {
    const h = await livePair();
    // The CRM re-created its line as c2 (same values, same sync key): nothing to mirror.
    const renamed = await h.crm(crmLine("c2", 5));
    expect(renamed.response).toMatchObject({ status: "no_change", mirrors: [] });
    const stored = (await h.store.loadOpportunity("demo", "opp"))?.lines.get("sk-1");
    expect(stored).toMatchObject({ id: "c2", formerIds: ["c1"], deleted: false });
    expect((await h.status("opp")).lines).toEqual([expect.objectContaining({ id: "c2" })]);

    // An older report under an id the line had before that: remembered, the current id kept.
    const older = await h.crm(crmLine("c0", 4));
    expect(older.response.status).toBe("no_change");
    expect((await h.store.loadOpportunity("demo", "opp"))?.lines.get("sk-1")).toMatchObject({
      id: "c2",
      formerIds: ["c1", "c0"],
    });

    // A late edit made under the old id, before the rename: stale, answered under the id it named.
    const late = await h.crm(
      opportunityLinesUpserted("opp", [line("c1", { productId: "prod-q1", quantity: "7" })], {
        occurredAt: afterStart(3),
      }),
    );
    expect(late.response.status).toBe("stale");
    expect(late.response.mirrors).toEqual([
      expect.objectContaining({
        target: "crm",
        lines: {
          upsert: [expect.objectContaining({ id: "c1", syncKey: "sk-1", quantity: "1" })],
          delete: [],
        },
      }),
    ]);

    // A delete naming the old id finds the line: the quote line goes, and the CRM is told to
    // delete the line under its other ids too.
    const deleted = await h.crm(
      crmEvent(
        "opportunity.lines.deleted",
        { opportunityId: "opp", lineIds: ["c1"] },
        { occurredAt: afterStart(10) },
      ),
    );
    expect(deleted.response.status).toBe("applied");
    expect(deleted.response.mirrors).toEqual([
      expect.objectContaining({
        target: "crm",
        lines: { upsert: [], delete: expect.arrayContaining(["c2", "c0"]) },
      }),
      expect.objectContaining({ target: "cpq", lines: { upsert: [], delete: ["q1"] } }),
    ]);
    expect((await h.status("opp")).lines).toEqual([]);
  });

  it("a changed line reported under a new id is applied and mirrored, and keeps the old id", async () => {
    const h = await livePair();
    const changed = await h.crm(crmLine("c2", 5, { quantity: "3" }));
    expect(changed.response.status).toBe("applied");
    expect(changed.response.mirrors).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          target: "cpq",
          lines: { upsert: [expect.objectContaining({ id: "q1", quantity: "3" })], delete: [] },
        }),
      ]),
    );
    expect((await h.store.loadOpportunity("demo", "opp"))?.lines.get("sk-1")).toMatchObject({
      id: "c2",
      formerIds: ["c1"],
      quantity: "3",
    });
  });
});
