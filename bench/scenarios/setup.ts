import {
  type BenchLine,
  linesOf,
  opportunityUpserted,
  quoteLinesReplaced,
  quoteUpserted,
} from "../events.js";
import { type Bench, expectOk } from "../harness.js";

/** Creates an opportunity and a quote of `lines` lines on it (not synced yet). */
export async function createQuote(
  bench: Bench,
  opportunityId: string,
  quoteId: string,
  lines: BenchLine[],
): Promise<void> {
  expectOk(await bench.crm(opportunityUpserted(opportunityId)), `opportunity ${opportunityId}`);
  expectOk(await bench.cpq(quoteUpserted(quoteId, opportunityId)), `quote ${quoteId}`);
  if (lines.length > 0) expectOk(await bench.cpq(quoteLinesReplaced(quoteId, lines)), `lines of ${quoteId}`);
}

/** A synced pair whose quote has `count` lines (ids `<quoteId>-l<i>`). */
export async function createSyncedPair(
  bench: Bench,
  opportunityId: string,
  quoteId: string,
  count: number,
): Promise<void> {
  await createQuote(bench, opportunityId, quoteId, linesOf(quoteId, count));
  const started = expectOk(await bench.start(quoteId), `start ${quoteId}`);
  if (started.body.status !== "started") throw new Error(`start ${quoteId}: ${started.body.status}`);
}
