import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { IndexedLines } from "../../domain/line-index.js";
import { storedLine } from "../../domain/lines.js";
import type { StoredLine } from "../../domain/model.js";
import { engineHarness } from "../support/engine.js";
import {
  at,
  line,
  opportunityLinesUpserted,
  opportunityUpserted,
  quoteLinesUpserted,
  quoteUpserted,
} from "../support/events.js";

function stored(syncKey: string, id: string | null): StoredLine {
  const values = {
    productId: "p",
    name: null,
    quantity: "1",
    unitPrice: "1",
    discountPercent: "0",
    billing: "one_time" as const,
    billingPeriod: null,
    position: null,
    serviceDate: null,
    fields: {},
  };
  return storedLine(values, { syncKey, id, changedAt: 0, changedBy: "cpq" });
}

/** What findLine answered before the index: the first line in Map order holding the id. */
function scanById(lines: Map<string, StoredLine>, id: string): StoredLine | undefined {
  for (const candidate of lines.values()) if (candidate.id === id) return candidate;
  return undefined;
}

describe("the line index", () => {
  it("finds a line by its owner's id exactly as a scan in insertion order does, through sets and deletes", () => {
    const key = fc.constantFrom("k1", "k2", "k3", "k4", "k5");
    const id = fc.option(fc.constantFrom("a", "b", "c"), { nil: null });
    const operation = fc.oneof(
      fc.record({ kind: fc.constant("set" as const), key, id }),
      fc.record({ kind: fc.constant("delete" as const), key }),
    );
    fc.assert(
      fc.property(fc.array(operation, { maxLength: 40 }), (operations) => {
        const indexed = new IndexedLines();
        const plain = new Map<string, StoredLine>();
        for (const op of operations) {
          if (op.kind === "set") {
            indexed.set(op.key, stored(op.key, op.id));
            plain.set(op.key, stored(op.key, op.id));
          } else {
            indexed.delete(op.key);
            plain.delete(op.key);
          }
          for (const probe of ["a", "b", "c", "z"]) {
            expect(indexed.findById(probe)?.syncKey).toBe(scanById(plain, probe)?.syncKey);
          }
        }
        expect([...indexed.keys()]).toEqual([...plain.keys()]);
      }),
    );
  });
});

/** Seconds after the harness clock (12:00), so changes are newer than the start commands. */
const AFTER_START = 12 * 3600;

describe("loading a synced pair for a line change", () => {
  it("mirrors a CRM change to the quote synced now, after the pair it last saw was replaced", async () => {
    const h = engineHarness();
    await h.setup();
    await h.crm(opportunityUpserted("opp-1", {}, { occurredAt: at(1) }));
    await h.cpq(quoteUpserted("quote-a", "opp-1", {}, { occurredAt: at(2) }));
    await h.cpq(quoteLinesUpserted("quote-a", [line("qa1")], { occurredAt: at(3) }));
    await h.start("quote-a");
    const first = (await h.status("opp-1")).lines[0];
    // Reads the pair opp-1 ↔ quote-a: the engine now expects quote-a for opp-1.
    await h.crm(
      opportunityLinesUpserted("opp-1", [{ ...line("o1"), syncKey: first?.syncKey, quantity: "2" }], {
        occurredAt: at(AFTER_START + 4),
      }),
    );
    await h.cpq(quoteUpserted("quote-b", "opp-1", {}, { occurredAt: at(5) }));
    await h.cpq(quoteLinesUpserted("quote-b", [line("qb1")], { occurredAt: at(6) }));
    await h.start("quote-b");
    const synced = (await h.status("opp-1")).lines[0];

    const changed = await h.crm(
      opportunityLinesUpserted("opp-1", [{ ...line("o2"), syncKey: synced?.syncKey, quantity: "3" }], {
        occurredAt: at(AFTER_START + 7),
      }),
    );
    expect(changed.response.status).toBe("applied");
    expect(changed.response.mirrors.map((mirror) => [mirror.target, mirror.quoteId])).toContainEqual([
      "cpq",
      "quote-b",
    ]);
    const quoteB = await h.store.loadQuote(h.tenant.tenantId, "quote-b");
    expect([...(quoteB?.lines.values() ?? [])].map((l) => l.quantity)).toEqual(["3"]);
    const quoteA = await h.store.loadQuote(h.tenant.tenantId, "quote-a");
    expect([...(quoteA?.lines.values() ?? [])].map((l) => l.quantity)).toEqual(["2"]);
  });

  it("treats a CPQ change of a quote that stopped syncing as not synced, though its opportunity was expected", async () => {
    const h = engineHarness();
    await h.setup();
    await h.crm(opportunityUpserted("opp-9", {}, { occurredAt: at(1) }));
    await h.cpq(quoteUpserted("quote-9", "opp-9", {}, { occurredAt: at(2) }));
    await h.cpq(quoteLinesUpserted("quote-9", [line("q9")], { occurredAt: at(3) }));
    await h.start("quote-9");
    await h.cpq(
      quoteLinesUpserted("quote-9", [line("q9", { quantity: "2" })], { occurredAt: at(AFTER_START + 4) }),
    );
    await h.stop("quote-9");

    const changed = await h.cpq(
      quoteLinesUpserted("quote-9", [line("q9", { quantity: "5" })], { occurredAt: at(AFTER_START + 5) }),
    );
    expect(changed.response.status).toBe("not_synced");
    expect(changed.response.mirrors).toEqual([]);
    expect((await h.status("opp-9")).lines.map((l) => l.quantity)).toEqual(["2"]);
  });
});
