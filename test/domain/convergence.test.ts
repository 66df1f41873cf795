import fc from "fast-check";
import { describe, it } from "vitest";
import { play, type Quotesync, scenario } from "../support/convergence.js";
import { engineHarness } from "../support/engine.js";
import { at, opportunityUpserted, quoteUpserted } from "../support/events.js";

const RUNS = Number(process.env.CONVERGENCE_RUNS ?? 200);

describe("convergence of a synced pair under random edits, duplicates and out-of-order delivery", () => {
  it(`converges with no echo loop, the CRM holding the locked subtotal (${RUNS} generated runs, in-memory store)`, async () => {
    let run = 0;
    await fc.assert(
      fc.asyncProperty(scenario, async (input) => {
        run++;
        // quotesync's clock is the systems' clock: a command runs at the time its button is pressed.
        let now = Date.parse(at(0));
        const h = engineHarness({ now });
        const pressAt = (time: string) => {
          const target = Date.parse(time);
          if (target > now) h.advance(target - now);
          now = Math.max(now, target);
        };
        await h.setup();
        const ids = {
          opportunityId: `opp-${run}`,
          quoteIds: [`quote-${run}-a`, `quote-${run}-b`] as [string, string],
        };
        await h.crm(opportunityUpserted(ids.opportunityId, {}, { occurredAt: at(1) }));
        for (const quoteId of ids.quoteIds)
          await h.cpq(quoteUpserted(quoteId, ids.opportunityId, {}, { occurredAt: at(2) }));
        const quotesync: Quotesync = {
          send: async (from, event) => (from === "crm" ? await h.crm(event) : await h.cpq(event)).response,
          start: async (quoteId, time) => {
            pressAt(time);
            return (await h.start(quoteId)).response.mirrors;
          },
          stop: async (quoteId, time) => {
            pressAt(time);
            return (await h.stop(quoteId)).response.mirrors;
          },
          status: () => h.status(ids.opportunityId),
        };
        await play(quotesync, input, ids);
      }),
      {
        numRuns: RUNS,
        ...(process.env.CONVERGENCE_SEED ? { seed: Number(process.env.CONVERGENCE_SEED) } : {}),
        ...(process.env.CONVERGENCE_EXAMPLE
          ? { examples: [[JSON.parse(process.env.CONVERGENCE_EXAMPLE)]] }
          : {}),
      },
    );
  }, 900_000);
});
