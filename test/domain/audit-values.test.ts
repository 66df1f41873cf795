import { beforeEach, describe, expect, it } from "vitest";
import type { AuditEntry } from "../../domain/model.js";
import { timelineSentence } from "../../functions/page/timeline.js";
import { afterStart, engineHarness } from "../support/engine.js";
import {
  line,
  opportunityLinesUpserted,
  opportunityUpserted,
  quoteLinesUpserted,
  quoteUpserted,
} from "../support/events.js";

/** Line changes are audited with their values before and after, and the timeline says them. */
describe("audited line values", () => {
  let h: ReturnType<typeof engineHarness>;

  beforeEach(async () => {
    h = engineHarness();
    await h.setup();
    await h.crm(opportunityUpserted("o-1", {}, { occurredAt: afterStart(-30) }));
    await h.cpq(quoteUpserted("q-1", "o-1", {}, { occurredAt: afterStart(-20) }));
    await h.cpq(
      quoteLinesUpserted(
        "q-1",
        [
          line("seats", { name: "Seats", quantity: "200", unitPrice: "45.00" }),
          line("support", { name: "Support" }),
        ],
        { occurredAt: afterStart(-10) },
      ),
    );
    await h.start("q-1");
  });

  const newest = async () => (await h.store.readAudit("demo", "o-1", null, 1)).entries[0] as AuditEntry;

  it("records each changed field of a CRM edit mirrored to the CPQ, and the timeline says it", async () => {
    const status = await h.status("o-1");
    const seats = status.lines.find((mirrored) => mirrored.productId === "prod-seats");
    await h.crm(
      opportunityLinesUpserted(
        "o-1",
        [
          {
            ...line("crm-seats", {
              productId: "prod-seats",
              name: "Seats",
              quantity: "250",
              unitPrice: "40.00",
            }),
            syncKey: seats?.syncKey,
          },
        ],
        { occurredAt: afterStart(10) },
      ),
    );
    const entry = await newest();
    expect(entry.type).toBe("change.mirrored");
    expect(entry.changes).toEqual([
      { line: "Seats", field: "quantity", from: "200", to: "250" },
      { line: "Seats", field: "unitPrice", from: "45", to: "40" },
    ]);
    expect(timelineSentence(entry)).toBe(
      "Line Seats: quantity 200 → 250, unit price 45 → 40, from the CRM, mirrored to the CPQ.",
    );
  });

  it("records an added and a deleted line", async () => {
    await h.cpq(
      quoteLinesUpserted("q-1", [line("training", { name: "Training", quantity: "2", unitPrice: "1500" })], {
        occurredAt: afterStart(20),
      }),
    );
    expect((await newest()).changes).toEqual([
      { line: "Training", field: "line", from: null, to: "2 × 1500" },
    ]);
    await h.cpq({
      eventId: "del-training",
      type: "quote.lines.deleted",
      occurredAt: afterStart(30),
      data: { quoteId: "q-1", lineIds: ["training"] },
    });
    const deleted = await newest();
    expect(deleted.changes).toEqual([{ line: "Training", field: "line", from: "2 × 1500", to: null }]);
    expect(timelineSentence(deleted)).toMatch(
      /^Line Training: deleted \(was 2 × 1500\), from the CPQ, mirrored to the CRM\./,
    );
  });

  it("keeps entries written before values were recorded readable: their counted sentence", () => {
    const old: AuditEntry = {
      at: afterStart(0),
      type: "change.mirrored",
      source: "crm",
      summary: "1 line change(s) from crm mirrored to cpq",
    };
    expect(timelineSentence(old)).toBe("1 line change from the CRM mirrored to the CPQ. (from the CRM)");
  });
});
