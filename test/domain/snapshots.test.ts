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

const linesOf = async (h: Awaited<ReturnType<typeof pair>>["h"]) =>
  (await h.status("opp")).lines.map((held) => held.productId).sort();

describe("a snapshot (`*.lines.replaced`) is the sender's whole set of lines at its time (SPEC §1.11)", () => {
  it("does not bring back a CRM line added before a CRM snapshot that no longer held it, delivered after it", async () => {
    const { h, syncKey } = await pair();
    // The CRM adds crm-9 at +10 s and deletes it again; its snapshot at +20 s holds crm-1 only.
    // The snapshot arrives first, then the add, late: crm-9 was gone by +20 s.
    const snapshot = await h.crm(
      crmEvent(
        "opportunity.lines.replaced",
        { opportunityId: "opp", lines: [line("crm-1", { productId: "prod-q1", syncKey })] },
        { occurredAt: afterStart(20) },
      ),
    );
    expect(snapshot.response.status).toBe("no_change");
    const late = await h.crm(
      opportunityLinesUpserted("opp", [line("crm-9", { productId: "prod-late" })], {
        occurredAt: afterStart(10),
      }),
    );
    expect(late.response.status).toBe("stale");
    expect(late.response.mirrors.filter((mirror) => mirror.target === "cpq")).toEqual([]);
    expect(await linesOf(h)).toEqual(["prod-q1"]);
    expect((await h.status("opp")).amount).toBe("100.00");
    const quote = await h.store.loadQuote("demo", "q");
    expect([...(quote?.lines.values() ?? [])].filter((held) => !held.deleted)).toHaveLength(1);
    // A CRM line added after the snapshot is a change like any other.
    const after = await h.crm(
      opportunityLinesUpserted("opp", [line("crm-10", { productId: "prod-new" })], {
        occurredAt: afterStart(30),
      }),
    );
    expect(after.response.status).toBe("applied");
    expect(await linesOf(h)).toEqual(["prod-new", "prod-q1"]);
  });

  it("does not bring back a quote line from an older quote snapshot delivered after a newer, emptier one", async () => {
    const { h } = await pair();
    const older = cpqEvent(
      "quote.lines.replaced",
      { quoteId: "q", lines: [line("q1"), line("q7", { productId: "prod-q7" })] },
      { occurredAt: afterStart(10) },
    );
    const newer = cpqEvent(
      "quote.lines.replaced",
      { quoteId: "q", lines: [] },
      { occurredAt: afterStart(20) },
    );
    const emptied = await h.cpq(newer);
    expect(emptied.response.status).toBe("applied");
    expect(await linesOf(h)).toEqual([]);
    const late = await h.cpq(older);
    expect(late.response.status).toBe("stale");
    expect(late.response.mirrors.flatMap((mirror) => mirror.lines?.upsert ?? [])).toEqual([]);
    expect(await linesOf(h)).toEqual([]);
    expect((await h.status("opp")).amount).toBe("0.00");
  });
});

describe("a line re-created by a mirror in flight across a stop (SPEC §1.2, §1.6, §1.11)", () => {
  it("is deleted from the CRM by the next start when the CRM's snapshot had deleted it before the stop", async () => {
    const { h, syncKey } = await pair();
    // The CPQ adds q2 at +10 s; its mirror to the CRM is in flight.
    const added = await h.cpq(quoteLinesUpserted("q", [line("q2")], { occurredAt: afterStart(10) }));
    const copy = added.response.mirrors.find((mirror) => mirror.target === "crm")?.lines?.upsert[0];
    expect(copy?.syncKey).toBeDefined();
    // The CRM's snapshot at +20 s, taken before the mirror arrived, holds crm-1 only: q2 goes.
    const snapshot = await h.crm(
      crmEvent(
        "opportunity.lines.replaced",
        { opportunityId: "opp", lines: [line("crm-1", { productId: "prod-q1", syncKey })] },
        { occurredAt: afterStart(20) },
      ),
    );
    expect(snapshot.response.status).toBe("applied");
    h.advance(30_000);
    expect((await h.stop("q")).response.status).toBe("stopped");
    // The mirror then reaches the CRM, which creates the line and reports it.
    const report = await h.crm(
      opportunityLinesUpserted("opp", [line("crm-2", { productId: "prod-q2", syncKey: copy?.syncKey })], {
        occurredAt: afterStart(40),
      }),
    );
    expect(report.response.mirrors).toEqual([]);
    h.advance(20_000);
    const started = await h.start("q");
    // The start replaces the opportunity's lines by the quote's: the CRM's copy of q2 goes.
    const toCrm = started.response.mirrors.find((mirror) => mirror.target === "crm");
    expect(toCrm?.lines?.delete).toContain("crm-2");
    expect((await h.status("opp")).lines.map((held) => held.productId)).toEqual(["prod-q1"]);
  });
});

describe("a line its owner deleted again after quotesync had deleted it (SPEC §1.11)", () => {
  it("is not brought back by the owner's older snapshot once the pair has moved to another quote", async () => {
    const h = engineHarness();
    await h.setup();
    await h.crm(opportunityUpserted("opp", {}, { occurredAt: at(1) }));
    await h.cpq(quoteUpserted("qa", "opp", {}, { occurredAt: at(2) }));
    await h.cpq(quoteUpserted("qb", "opp", {}, { occurredAt: at(3) }));
    await h.cpq(quoteLinesUpserted("qa", [line("a1")], { occurredAt: at(4) }));
    await h.start("qa");
    // The CRM's snapshot at +10 s, taken before the start's copy of a1 arrived, is empty: a1 is
    // deleted on both sides, and the delete to the CPQ is in flight.
    const emptied = await h.crm(
      crmEvent(
        "opportunity.lines.replaced",
        { opportunityId: "opp", lines: [] },
        { occurredAt: afterStart(10) },
      ),
    );
    expect(emptied.response.mirrors.find((mirror) => mirror.target === "cpq")?.lines?.delete).toEqual(["a1"]);
    // The pair moves to quote qb.
    h.advance(20_000);
    expect((await h.start("qb")).response.status).toBe("started");
    // Still holding a1, the CPQ reports qa's lines at +30 s; its user deletes a1 at +40 s. The
    // delete arrives first: quotesync had deleted a1 already.
    const snapshot = cpqEvent(
      "quote.lines.replaced",
      { quoteId: "qa", lines: [line("a1")] },
      { occurredAt: afterStart(30) },
    );
    const deleted = await h.cpq(
      cpqEvent("quote.lines.deleted", { quoteId: "qa", lineIds: ["a1"] }, { occurredAt: afterStart(40) }),
    );
    expect(deleted.response.status).toBe("no_change");
    // The older snapshot, delivered late, held a line its owner has deleted since: it is stale.
    const late = await h.cpq(snapshot);
    expect(late.response.status).toBe("stale");
    const quote = await h.store.loadQuote("demo", "qa");
    expect([...(quote?.lines.values() ?? [])].filter((held) => !held.deleted)).toEqual([]);
    // Back on qa, the opportunity gets no copy of a1: both sides hold no lines.
    h.advance(30_000);
    const started = await h.start("qa");
    expect(started.response.mirrors.flatMap((mirror) => mirror.lines?.upsert ?? [])).toEqual([]);
    expect((await h.status("opp")).lines).toEqual([]);
    expect((await h.status("opp")).amount).toBe("0.00");
  });
});

describe("a CRM line a start deleted, then re-created under the same sync key by a later start (SPEC §1.2, §1.11)", () => {
  it("is not added again by the CRM's snapshot from before the delete, which named it by its CRM id alone", async () => {
    const h = engineHarness();
    await h.setup();
    await h.crm(opportunityUpserted("opp", {}, { occurredAt: at(1) }));
    await h.cpq(quoteUpserted("qa", "opp", {}, { occurredAt: at(2) }));
    await h.cpq(quoteUpserted("qb", "opp", {}, { occurredAt: at(3) }));
    await h.start("qa");
    // The CRM adds crm-1 at +10 s; quotesync copies it to quote qa.
    const added = await h.crm(
      opportunityLinesUpserted("opp", [line("crm-1")], { occurredAt: afterStart(10) }),
    );
    expect(added.response.status).toBe("applied");
    // A start of qb at +20 s deletes crm-1 (qb has no lines); the delete to the CRM is in flight.
    h.advance(20_000);
    const replaced = await h.start("qb");
    expect(replaced.response.mirrors.find((mirror) => mirror.target === "crm")?.lines?.delete).toEqual([
      "crm-1",
    ]);
    // Back on qa at +30 s: its copy of the line goes to the opportunity again, as a new CRM line.
    h.advance(10_000);
    const back = await h.start("qa");
    const copy = back.response.mirrors.find((mirror) => mirror.target === "crm")?.lines?.upsert[0];
    expect(copy).toMatchObject({ id: null, productId: "prod-crm-1" });
    // The CRM's snapshot taken at +15 s (it still held crm-1, without a sync key) arrives now.
    const snapshot = await h.crm(
      crmEvent(
        "opportunity.lines.replaced",
        { opportunityId: "opp", lines: [line("crm-1")] },
        { occurredAt: afterStart(15) },
      ),
    );
    expect(
      snapshot.response.mirrors.flatMap((mirror) =>
        mirror.target === "cpq" ? (mirror.lines?.upsert ?? []) : [],
      ),
    ).toEqual([]);
    const held = async () => {
      const quote = await h.store.loadQuote("demo", "qa");
      return {
        opportunity: (await h.status("opp")).lines.map((line) => line.productId),
        quote: [...(quote?.lines.values() ?? [])]
          .filter((line) => !line.deleted)
          .map((line) => line.productId),
      };
    };
    expect(await held()).toEqual({ opportunity: ["prod-crm-1"], quote: ["prod-crm-1"] });
    // The CRM then applies the delete (+40 s) and creates the start's copy as crm-2 (+41 s).
    await h.crm(
      crmEvent(
        "opportunity.lines.deleted",
        { opportunityId: "opp", lineIds: ["crm-1"] },
        { occurredAt: afterStart(40) },
      ),
    );
    const created = await h.crm(
      opportunityLinesUpserted("opp", [line("crm-2", { productId: "prod-crm-1", syncKey: copy?.syncKey })], {
        occurredAt: afterStart(41),
      }),
    );
    expect(created.response.mirrors).toEqual([]);
    expect(await held()).toEqual({ opportunity: ["prod-crm-1"], quote: ["prod-crm-1"] });
    expect((await h.status("opp")).amount).toBe("100.00");
  });
});

describe("a CRM line a start deleted by another id than the one the CRM reports it under (SPEC §1.2, §1.6)", () => {
  it("is kept while stopped and deleted by the next start, when the CRM re-created it from a duplicate mirror", async () => {
    const h = engineHarness();
    await h.setup();
    await h.crm(opportunityUpserted("opp", {}, { occurredAt: at(1) }));
    await h.cpq(quoteUpserted("qa", "opp", {}, { occurredAt: at(2) }));
    await h.cpq(quoteUpserted("qb", "opp", {}, { occurredAt: at(3) }));
    await h.cpq(quoteLinesUpserted("qa", [line("a1")], { occurredAt: at(4) }));
    const started = await h.start("qa");
    const syncKey = started.response.mirrors.find((mirror) => mirror.target === "crm")?.lines?.upsert[0]
      ?.syncKey as string;
    // The pair moves to qb (no lines) at +1 s: the copy is deleted by its sync key; stopped at +2 s.
    h.advance(1_000);
    await h.start("qb");
    h.advance(1_000);
    await h.stop("qb");
    // The CRM had created the copy as crm-1; its snapshot at +3 s, taken before the delete
    // arrived, holds it. With no pair, a report made after the tombstone is kept.
    const snapshot = await h.crm(
      crmEvent(
        "opportunity.lines.replaced",
        { opportunityId: "opp", lines: [line("crm-1", { productId: "prod-a1", syncKey })] },
        { occurredAt: afterStart(3) },
      ),
    );
    expect(snapshot.response.status).toBe("not_synced");
    // The delete then reaches the CRM, and a second delivery of the start's copy creates crm-2.
    // A start and a stop of qb at +5 s and +6 s delete crm-1, the id quotesync holds.
    h.advance(3_000);
    const replaced = await h.start("qb");
    expect(replaced.response.mirrors.find((mirror) => mirror.target === "crm")?.lines?.delete).toEqual([
      "crm-1",
    ]);
    h.advance(1_000);
    await h.stop("qb");
    // The CRM's report of crm-2 (made at +4 s) arrives: no delete has named crm-2, so it is what
    // the CRM holds, and the opportunity holds it again.
    const report = await h.crm(
      opportunityLinesUpserted("opp", [line("crm-2", { productId: "prod-a1", syncKey })], {
        occurredAt: afterStart(4),
      }),
    );
    expect(report.response.status).toBe("not_synced");
    expect((await h.status("opp")).lines.map((held) => held.id)).toEqual(["crm-2"]);
    // The next start of qb replaces the opportunity's lines by qb's: crm-2 goes.
    h.advance(4_000);
    const again = await h.start("qb");
    expect(again.response.mirrors.find((mirror) => mirror.target === "crm")?.lines?.delete).toEqual([
      "crm-2",
    ]);
    expect((await h.status("opp")).lines).toEqual([]);
  });
});

describe("a line report older than its owner's snapshot that left the line out (SPEC §1.11)", () => {
  it("does not bring back a deleted line while stopped, though made after the line's tombstone", async () => {
    const { h } = await pair();
    // The CRM deletes its copy at +10 s: q1 is deleted on both sides, the delete to the CPQ in flight.
    const deleted = await h.crm(
      crmEvent(
        "opportunity.lines.deleted",
        { opportunityId: "opp", lineIds: ["crm-1"] },
        { occurredAt: afterStart(10) },
      ),
    );
    expect(deleted.response.status).toBe("applied");
    // The CPQ, still holding q1, edits it at +20 s; the report is held up.
    const edit = quoteLinesUpserted("q", [line("q1", { quantity: "2" })], { occurredAt: afterStart(20) });
    h.advance(30_000);
    await h.stop("q");
    // The CPQ's user then replaces its lines by none at +40 s: q1 was gone by then.
    const replaced = await h.cpq(
      cpqEvent("quote.lines.replaced", { quoteId: "q", lines: [] }, { occurredAt: afterStart(40) }),
    );
    expect(replaced.response.status).toBe("no_change");
    const late = await h.cpq(edit);
    expect(late.response.status).toBe("stale");
    // The next start copies no line to the CRM: both sides hold none.
    h.advance(20_000);
    const started = await h.start("q");
    expect(started.response.mirrors.flatMap((mirror) => mirror.lines?.upsert ?? [])).toEqual([]);
    expect((await h.status("opp")).lines).toEqual([]);
  });
});

describe("a late mirror a system applied over its user's newer change, reported while stopped (SPEC §1.6, §1.11)", () => {
  it("is what the system holds: the quote line takes its values, and the next start copies them to the CRM", async () => {
    const { h, syncKey } = await pair();
    // The CRM changes the price at +10 s; the mirror to the CPQ is in flight.
    const edited = await h.crm(
      opportunityLinesUpserted("opp", [line("crm-1", { productId: "prod-q1", unitPrice: "150", syncKey })], {
        occurredAt: afterStart(10),
      }),
    );
    expect(edited.response.status).toBe("applied");
    // The CPQ's user sets another price at +20 s, before the mirror arrives; the report is held up.
    const userEdit = quoteLinesUpserted("q", [line("q1", { unitPrice: "120" })], {
      occurredAt: afterStart(20),
    });
    h.advance(30_000);
    await h.stop("q");
    // The mirror then reaches the CPQ, which applies it over its user's price and reports it (+40 s).
    expect((await h.cpq(userEdit)).response.status).toBe("not_synced");
    const echo = await h.cpq(
      quoteLinesUpserted("q", [line("q1", { unitPrice: "150", syncKey })], { occurredAt: afterStart(40) }),
    );
    expect(echo.response.status).toBe("not_synced");
    const quote = await h.store.loadQuote("demo", "q");
    expect([...(quote?.lines.values() ?? [])].map((held) => held.unitPrice)).toEqual(["150"]);
    // The next start copies the quote's line as the CPQ holds it.
    h.advance(20_000);
    const started = await h.start("q");
    expect(
      started.response.mirrors.flatMap((mirror) => mirror.lines?.upsert ?? []).map((copy) => copy.unitPrice),
    ).toEqual(["150"]);
    expect((await h.status("opp")).amount).toBe("150.00");
  });
});
