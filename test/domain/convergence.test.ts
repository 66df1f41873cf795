import fc from "fast-check";
import { describe, it } from "vitest";
import { convergenceSeed, play, type Quotesync, scenario } from "../support/convergence.js";
import { counterexamples } from "../support/convergence-counterexamples.js";
import { engineHarness } from "../support/engine.js";
import { at, opportunityUpserted, quoteUpserted } from "../support/events.js";

const RUNS = Number(process.env.CONVERGENCE_RUNS ?? 200);

/** The property: after any generated story, both sides hold the same lines and the CRM the locked subtotal. */
function converges() {
  let run = 0;
  return fc.asyncProperty(scenario, async (input) => {
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
  });
}

describe("convergence of a synced pair under random edits, duplicates and out-of-order delivery", () => {
  it(`converges with no echo loop, the CRM holding the locked subtotal (${RUNS} generated runs, in-memory store)`, async () => {
    await fc.assert(converges(), {
      numRuns: RUNS,
      ...convergenceSeed(),
      ...(process.env.CONVERGENCE_EXAMPLE
        ? { examples: [[JSON.parse(process.env.CONVERGENCE_EXAMPLE)]] }
        : {}),
    });
  }, 900_000);

  // Once a non-convergence (docs/mutation.md): this seed's 20 runs, kept beside the property's own.
  it("seed 1963931975: a line deleted on both sides stays deleted across a move to the other quote and back", async () => {
    await fc.assert(converges(), { numRuns: 20, seed: 1963931975 });
  }, 900_000);

  for (const { seed, story, example } of counterexamples) {
    it(`seed ${seed}, as shrunk: ${story}`, async () => {
      await fc.assert(converges(), { numRuns: 1, seed: 1, examples: [[example]] });
    }, 900_000);
  }
});
