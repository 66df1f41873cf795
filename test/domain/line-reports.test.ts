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
 * SPEC §1.3, §1.11 and §5 for line reports whose ids and times are awkward: a line its owner
 * reports under several ids, a delete that arrives before the line it deletes, late reports over
 * tombstones with no pair to answer them, and snapshots. Through the engine on the in-memory store.
 */

type Harness = ReturnType<typeof engineHarness>;

/** A live pair: quote line `q1` (sync key sk-1) copied to the CRM (200.00 = 2 × 100). */
async function started() {
  const h = engineHarness();
  await h.setup();
  await h.crm(opportunityUpserted("opp", {}, { occurredAt: at(1) }));
  await h.cpq(quoteUpserted("q", "opp", {}, { occurredAt: at(2) }));
  await h.cpq(quoteLinesUpserted("q", [line("q1", { quantity: "2" })], { occurredAt: at(3) }));
  await h.start("q");
  return h;
}

/** The CRM's report of its copy of q1 under `id`, at `seconds` after the start. */
const crmCopy = (id: string, seconds: number, values: Record<string, unknown> = {}) =>
  opportunityLinesUpserted(
    "opp",
    [line(id, { productId: "prod-q1", quantity: "2", syncKey: "sk-1", ...values })],
    { occurredAt: afterStart(seconds) },
  );

const crmDelete = (ids: string[], seconds: number) =>
  crmEvent(
    "opportunity.lines.deleted",
    { opportunityId: "opp", lineIds: ids },
    { occurredAt: afterStart(seconds) },
  );

async function crmLine(h: Harness, syncKey = "sk-1") {
  return (await h.store.loadOpportunity("demo", "opp"))?.lines.get(syncKey);
}

describe("the ids an owner reports a line under (SPEC §5: paired by sync key)", () => {
  it("a confirmation dated before the change it copies still teaches quotesync the CRM's id", async () => {
    const h = await started();
    // The CRM's clock runs behind: its confirmation is dated before the quote line's change (at(3)).
    const confirmed = await h.crm(crmCopy("c1", -12 * 3600 + 2)); // at(2): the start was at 12:00
    expect(confirmed.response).toEqual({ status: "no_change", mirrors: [] });
    expect(await crmLine(h)).toMatchObject({ id: "c1" });
    const edit = await h.cpq(
      quoteLinesUpserted("q", [line("q1", { quantity: "3", syncKey: "sk-1" })], {
        occurredAt: afterStart(10),
      }),
    );
    expect(edit.response.mirrors[0]?.lines?.upsert).toEqual([
      expect.objectContaining({ id: "c1", quantity: "3" }),
    ]);
  });

  it("an older report under another id is remembered once, and does not move the line's time back", async () => {
    const h = await started();
    await h.crm(crmCopy("c1", 5));
    const older = await h.crm(crmCopy("c0", 4));
    expect(older.response).toEqual({ status: "no_change", mirrors: [] });
    expect(await crmLine(h)).toMatchObject({ id: "c1", formerIds: ["c0"] });
    // Reported again: nothing new to remember.
    await h.crm(crmCopy("c0", 4));
    expect((await crmLine(h))?.formerIds).toEqual(["c0"]);
    // A change made between the two reports is older than what the line holds: answered.
    const between = await h.crm(crmCopy("c1", 4.5, { quantity: "9" }));
    expect(between.response.status).toBe("stale");
    expect(between.response.mirrors).toEqual([
      expect.objectContaining({
        target: "crm",
        lines: { upsert: [expect.objectContaining({ id: "c1", quantity: "2" })], delete: [] },
      }),
    ]);
  });

  it("a report under a new id at the line's own time takes the new id", async () => {
    const h = await started();
    await h.crm(crmCopy("c1", 5));
    await h.crm(crmCopy("c2", 5));
    expect(await crmLine(h)).toMatchObject({ id: "c2", formerIds: ["c1"] });
  });

  it("each new id keeps the ones before; an id reported again is current, not former", async () => {
    const h = await started();
    await h.crm(crmCopy("c1", 5));
    await h.crm(crmCopy("c2", 6));
    await h.crm(crmCopy("c3", 7));
    expect(await crmLine(h)).toMatchObject({ id: "c3", formerIds: ["c1", "c2"] });
    await h.crm(crmCopy("c1", 8));
    expect(await crmLine(h)).toMatchObject({ id: "c1", formerIds: ["c2", "c3"] });
    // A CPQ delete reaches the CRM under every id it may still hold the line under.
    const deleted = await h.cpq(
      cpqEvent("quote.lines.deleted", { quoteId: "q", lineIds: ["q1"] }, { occurredAt: afterStart(9) }),
    );
    expect(deleted.response.mirrors[0]).toMatchObject({
      target: "crm",
      lines: { upsert: [], delete: ["c1", "c2", "c3"] },
    });
  });

  it("a delete by an id quotesync learns only later deletes the line on both sides", async () => {
    const h = await started();
    // The CRM created its copy as c1 and deleted it; the delete arrives first.
    const early = await h.crm(crmDelete(["c1"], 10));
    expect(early.response).toEqual({ status: "no_change", mirrors: [] });
    const creation = await h.crm(crmCopy("c1", 5));
    expect(creation.response.status).toBe("applied");
    expect(creation.response.mirrors).toEqual([
      expect.objectContaining({ target: "cpq", lines: { upsert: [], delete: ["q1"] } }),
      expect.objectContaining({ target: "crm", opportunity: expect.objectContaining({ amount: "0.00" }) }),
    ]);
    expect((await h.status("opp")).lines).toEqual([]);
    expect((await h.store.loadQuote("demo", "q"))?.lines.get("sk-1")).toMatchObject({ deleted: true });
  });
});

describe("a sync key quotesync never issued", () => {
  it("does not hide the line the sender's id names", async () => {
    const h = engineHarness();
    await h.setup();
    await h.cpq(quoteUpserted("q", "opp", {}, { occurredAt: at(2) }));
    await h.cpq(quoteLinesUpserted("q", [line("q1")], { occurredAt: at(3) }));
    const changed = await h.cpq(
      quoteLinesUpserted("q", [line("q1", { syncKey: "sk-foreign", quantity: "4" })], { occurredAt: at(4) }),
    );
    expect(changed.response.status).toBe("not_synced");
    const lines = [...((await h.store.loadQuote("demo", "q"))?.lines.values() ?? [])];
    expect(lines).toEqual([expect.objectContaining({ id: "q1", syncKey: "sk-1", quantity: "4" })]);
  });
});

describe("reports over tombstones with no pair to answer them (SPEC §1.11)", () => {
  /** The pair of `started`, its CRM line confirmed as c1 and renamed c2, then stopped. */
  async function stoppedWithRenamedLine() {
    const h = await started();
    await h.crm(crmCopy("c1", 1));
    await h.crm(crmCopy("c2", 2));
    await h.stop("q");
    return h;
  }

  it("a delete is stored, answered not_synced, and mirrors nothing", async () => {
    const h = await stoppedWithRenamedLine();
    const deleted = await h.crm(crmDelete(["c2"], 10));
    expect(deleted.response).toEqual({ status: "not_synced", mirrors: [] });
    expect(await crmLine(h)).toMatchObject({
      deleted: true,
      id: "c2",
      changedAt: Date.parse(afterStart(10)),
    });
  });

  it("a late report by a deleted id is stale; an older repeat of the delete keeps the later time", async () => {
    const h = await stoppedWithRenamedLine();
    await h.crm(crmDelete(["c2"], 10));
    // The same delete delivered again with an older time keeps the tombstone at +10 s.
    expect((await h.crm(crmDelete(["c2"], 5))).response.status).toBe("no_change");
    expect((await h.crm(crmCopy("c2", 7))).response.status).toBe("stale");
    expect((await h.crm(crmCopy("c2", 10))).response.status).toBe("stale");
    expect((await h.status("opp")).lines).toEqual([]);
  });

  it("a report under an id the delete did not name is kept, unless that id was deleted since", async () => {
    const h = await stoppedWithRenamedLine();
    await h.crm(crmDelete(["c2"], 10));
    // The CRM deleted a line c3 at +20 s, before quotesync heard of it.
    await h.crm(crmDelete(["c3"], 20));
    // A report of the sync key's line as c3, made no later than that delete: stale.
    expect((await h.crm(crmCopy("c3", 20))).response.status).toBe("stale");
    expect((await h.status("opp")).lines).toEqual([]);
    // Made after it: what the CRM holds now, kept.
    const kept = await h.crm(crmCopy("c3", 21));
    expect(kept.response.status).toBe("not_synced");
    expect((await h.status("opp")).lines).toEqual([expect.objectContaining({ id: "c3", syncKey: "sk-1" })]);
  });

  it("a report made at the time of the owner's last snapshot is not older than it", async () => {
    const h = await stoppedWithRenamedLine();
    await h.crm(crmDelete(["c2"], 10));
    await h.crm(
      crmEvent(
        "opportunity.lines.replaced",
        { opportunityId: "opp", lines: [] },
        { occurredAt: afterStart(30) },
      ),
    );
    // Under a new id over the tombstone, and a line quotesync never saw: both made at +30 s, kept.
    expect((await h.crm(crmCopy("c4", 30))).response.status).toBe("not_synced");
    expect(
      (await h.crm(opportunityLinesUpserted("opp", [line("c9")], { occurredAt: afterStart(30) }))).response
        .status,
    ).toBe("not_synced");
    // Made before it: the snapshot had left them out.
    expect(
      (await h.crm(opportunityLinesUpserted("opp", [line("c8")], { occurredAt: afterStart(29) }))).response
        .status,
    ).toBe("stale");
    expect((await h.status("opp")).lines.map((l) => l.id).sort()).toEqual(["c4", "c9"]);
  });
});

describe("snapshots of a synced pair (`*.lines.replaced`)", () => {
  it("a line a CRM snapshot leaves out is deleted in the CPQ only: the CRM is not told to delete it again", async () => {
    const h = await started();
    await h.crm(crmCopy("c1", 1));
    const snapshot = await h.crm(
      crmEvent(
        "opportunity.lines.replaced",
        { opportunityId: "opp", lines: [] },
        { occurredAt: afterStart(10) },
      ),
    );
    expect(snapshot.response.status).toBe("applied");
    expect(snapshot.response.mirrors).toEqual([
      expect.objectContaining({ target: "cpq", lines: { upsert: [], delete: ["q1"] } }),
      {
        target: "crm",
        opportunityId: "opp",
        quoteId: "q",
        opportunity: expect.objectContaining({ amount: "0.00" }),
      },
    ]);
  });

  it("an older report of a line a snapshot held is answered with the snapshot's values", async () => {
    const h = await started();
    await h.crm(crmCopy("c1", 1));
    await h.crm(
      crmEvent(
        "opportunity.lines.replaced",
        {
          opportunityId: "opp",
          lines: [line("c1", { productId: "prod-q1", quantity: "2", syncKey: "sk-1" })],
        },
        { occurredAt: afterStart(30) },
      ),
    );
    const older = await h.crm(crmCopy("c1", 25, { quantity: "5" }));
    expect(older.response.status).toBe("stale");
    expect(older.response.mirrors).toEqual([
      expect.objectContaining({
        target: "crm",
        lines: { upsert: [expect.objectContaining({ id: "c1", quantity: "2" })], delete: [] },
      }),
    ]);
  });
});
