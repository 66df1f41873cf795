import { describe, expect, it } from "vitest";
import { InvalidEvent } from "../../domain/errors.js";
import { LIMITS } from "../../domain/events.js";
import { engineHarness } from "../support/engine.js";
import {
  at,
  line,
  opportunityLinesUpserted,
  opportunityUpserted,
  quoteLinesUpserted,
  quoteUpserted,
} from "../support/events.js";

/**
 * A record holds at most `LIMITS.linesPerRecord` live lines, whichever side adds them: the change
 * that would pass the limit is refused as invalid, names the lines it would make, and writes
 * nothing; a change that reaches the limit exactly is applied.
 */

const FULL = LIMITS.linesPerRecord;
const lines = (prefix: string, count: number) =>
  Array.from({ length: count }, (_, i) => line(`${prefix}${i}`));

describe(`at most ${FULL} lines on a record`, () => {
  it("a quote: filled to the limit in two events, the next line refused and nothing written", async () => {
    const h = engineHarness();
    await h.setup();
    await h.crm(opportunityUpserted("o", {}, { occurredAt: at(1) }));
    await h.cpq(quoteUpserted("q", "o", {}, { occurredAt: at(2) }));
    await h.cpq(quoteLinesUpserted("q", lines("a", FULL - 1), { occurredAt: at(3) }));
    const last = await h.cpq(quoteLinesUpserted("q", [line("b0")], { occurredAt: at(4) }));
    expect(last.response.status).not.toBe("rejected");
    expect((await h.store.loadQuote("demo", "q"))?.lines.size).toBe(FULL);

    const over = h.cpq(quoteLinesUpserted("q", [line("c0"), line("c1")], { occurredAt: at(5) }));
    await expect(over).rejects.toThrow(InvalidEvent);
    await expect(over).rejects.toMatchObject({
      message: `a quote may hold at most ${FULL} lines`,
      details: [{ path: ["data", "lines"], message: `would hold ${FULL + 2} lines` }],
    });
    const quote = await h.store.loadQuote("demo", "q");
    expect(quote?.lines.size).toBe(FULL);
    expect([...(quote?.lines.values() ?? [])].some((stored) => stored.id === "c0")).toBe(false);
  });

  it("an opportunity: the CRM's line past the limit refused the same way", async () => {
    const h = engineHarness();
    await h.setup();
    await h.crm(opportunityUpserted("o", {}, { occurredAt: at(1) }));
    await h.crm(opportunityLinesUpserted("o", lines("a", FULL), { occurredAt: at(2) }));
    const over = h.crm(opportunityLinesUpserted("o", [line("b0")], { occurredAt: at(3) }));
    await expect(over).rejects.toMatchObject({
      name: "InvalidEvent",
      message: `an opportunity may hold at most ${FULL} lines`,
      details: [{ path: ["data", "lines"], message: `would hold ${FULL + 1} lines` }],
    });
    expect((await h.store.loadOpportunity("demo", "o"))?.lines.size).toBe(FULL);
  });
});
