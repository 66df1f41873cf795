import fc from "fast-check";
import { afterAll, beforeAll, describe, it } from "vitest";
import type { Mirror } from "../../domain/model.js";
import { convergenceSeed, play, type Quotesync, scenario } from "../support/convergence.js";
import { at, opportunityUpserted, quoteUpserted } from "../support/events.js";
import { handlerHarness } from "../support/handlers.js";

const DYNAMO_RUNS = Number(process.env.CONVERGENCE_DYNAMO_RUNS ?? 12);

/** The in-memory property (test/domain/convergence.test.ts) on DynamoDB Local, through the handlers. */
describe("convergence of a synced pair on DynamoDB Local through the handlers", () => {
  let h: Awaited<ReturnType<typeof handlerHarness>>;
  // quotesync's clock is the systems' clock: a command runs at the time its button is pressed (the
  // time of the last command, or the wall clock, when no run has pressed one yet).
  let pressedAt: number | undefined;
  beforeAll(async () => {
    h = await handlerHarness({ clock: () => pressedAt ?? Date.now() });
  });
  afterAll(async () => {
    await h.dispose();
  });

  /** quotesync over HTTP; a 503 retry_later (contention between concurrent deliveries) is redelivered. */
  const overHttp = (opportunityId: string): Quotesync => {
    const answer = (response: { statusCode: number; body: { status: string; mirrors: Mirror[] } }) => {
      if (response.statusCode === 503) return null;
      if (response.statusCode !== 200)
        throw new Error(`answered ${response.statusCode}: ${JSON.stringify(response.body)}`);
      return response.body;
    };
    return {
      send: async (from, event) => answer(from === "crm" ? await h.crm(event) : await h.cpq(event)),
      start: async (quoteId, time) => {
        pressedAt = Date.parse(time);
        return answer(await h.start(quoteId))?.mirrors ?? null;
      },
      stop: async (quoteId, time) => {
        pressedAt = Date.parse(time);
        return answer(await h.stop(quoteId))?.mirrors ?? null;
      },
      status: async () => (await h.status(opportunityId)).body,
    };
  };

  for (const concurrent of [false, true]) {
    it(`converges with no echo loop (${DYNAMO_RUNS} generated runs${concurrent ? ", bursts delivered concurrently" : ""})`, async () => {
      let run = 0;
      await fc.assert(
        fc.asyncProperty(scenario, async (input) => {
          run++;
          const prefix = `conv-${concurrent ? "c" : "s"}-${run}`;
          const ids = {
            opportunityId: `${prefix}-opp`,
            quoteIds: [`${prefix}-qa`, `${prefix}-qb`] as [string, string],
          };
          await h.crm(opportunityUpserted(ids.opportunityId, {}, { occurredAt: at(1) }));
          for (const quoteId of ids.quoteIds)
            await h.cpq(quoteUpserted(quoteId, ids.opportunityId, {}, { occurredAt: at(2) }));
          await play(overHttp(ids.opportunityId), input, ids, { concurrent });
        }),
        {
          numRuns: DYNAMO_RUNS,
          ...convergenceSeed(),
        },
      );
    }, 900_000);
  }
});
