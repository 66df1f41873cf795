/**
 * A replayed 1,500-line `quote.lines.replaced`: what answering a duplicate costs (time and
 * DynamoDB calls) against the first delivery. `node --expose-gc --import tsx bench/replayed-replace.ts`
 * (DynamoDB Local, the real handlers, as `npm run bench`).
 */
import { linesOf, quoteLinesReplaced } from "./events.js";
import { expectOk, startBench } from "./harness.js";
import { createSyncedPair } from "./scenarios/setup.js";
import { median, round } from "./stats.js";

const LINES = 1500;
const REPETITIONS = 5;

const bench = await startBench();
try {
  const first: number[] = [];
  const replayed: number[] = [];
  let replayCalls: Record<string, number> = {};
  for (let rep = 0; rep < REPETITIONS; rep++) {
    const quoteId = `replay-${rep}-q`;
    await createSyncedPair(bench, `replay-${rep}-o`, quoteId, 10);
    const event = quoteLinesReplaced(quoteId, linesOf(`${quoteId}-new`, LINES));
    const original = await bench.meter.measure(() => bench.cpq(event));
    expectOk(original.result, "first delivery");
    first.push(original.ms);
    const again = await bench.meter.measure(() => bench.cpq(event));
    expectOk(again.result, "replayed delivery");
    if (again.result.headers["x-quotesync-replayed"] !== "true") throw new Error("not answered as a replay");
    replayed.push(again.ms);
    replayCalls = again.cost.byOperation;
  }
  console.log(
    JSON.stringify({
      lines: LINES,
      repetitions: REPETITIONS,
      firstDeliveryP50Ms: round(median(first)),
      replayP50Ms: round(median(replayed)),
      replayMaxMs: round(Math.max(...replayed)),
      replayDynamoCalls: replayCalls,
    }),
  );
} finally {
  await bench.close();
}
