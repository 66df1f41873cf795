import { linesOf } from "../events.js";
import { type Bench, expectOk } from "../harness.js";
import type { Cost } from "../meter.js";
import { median, round } from "../stats.js";
import { createQuote } from "./setup.js";

export interface ReplaceResult {
  lines: number;
  repetitions: number;
  start: { calls: number; roundTrips: number; wcu: number; rcu: number; p50Ms: number; maxMs: number };
  replace: { calls: number; roundTrips: number; wcu: number; rcu: number; p50Ms: number; maxMs: number };
  /** The opportunity held exactly the new quote's lines afterwards (every repetition). */
  works: boolean;
  readerPolls: number;
  /** Status reads that saw lines of both quotes, or a count other than `lines`. */
  tornReads: number;
}

const PLAN = [
  { lines: 10, repetitions: 8 },
  { lines: 100, repetitions: 6 },
  { lines: 2000, repetitions: 3 },
];

/** Starting sync (copy N lines) and replacing the synced quote (N deletes + N copies). */
export async function startAndReplace(bench: Bench): Promise<ReplaceResult[]> {
  const results: ReplaceResult[] = [];
  for (const { lines, repetitions } of PLAN) {
    const starts: Array<{ cost: Cost; ms: number }> = [];
    const replaces: Array<{ cost: Cost; ms: number }> = [];
    let works = true;
    for (let rep = 0; rep < repetitions; rep++) {
      const pair = await preparePair(bench, `rep-${lines}-${rep}`, lines);
      const start = await bench.meter.measure(() => bench.start(pair.first));
      expectOk(start.result, `start with ${lines} lines`);
      starts.push(start);
      const replace = await bench.meter.measure(() => bench.start(pair.second));
      expectOk(replace.result, `replace with ${lines} lines`);
      replaces.push(replace);
      works &&= await holdsExactly(bench, pair.opportunityId, pair.second, lines);
    }
    // A separate run with a reader polling the status all through the replace (not metered).
    const pair = await preparePair(bench, `rep-${lines}-read`, lines);
    expectOk(await bench.start(pair.first), "start before the read check");
    const reader = pollStatus(bench, pair.opportunityId, pair.first, pair.second, lines);
    expectOk(await bench.start(pair.second), "replace under a reader");
    const { polls, torn } = await reader.stop();
    works &&= await holdsExactly(bench, pair.opportunityId, pair.second, lines);
    results.push({
      lines,
      repetitions,
      start: summarize(starts),
      replace: summarize(replaces),
      works,
      readerPolls: polls,
      tornReads: torn,
    });
  }
  return results;
}

async function preparePair(bench: Bench, prefix: string, lines: number) {
  const opportunityId = `${prefix}-o`;
  const first = `${prefix}-qa`;
  const second = `${prefix}-qb`;
  await createQuote(bench, opportunityId, first, linesOf(first, lines));
  await createQuote(bench, opportunityId, second, linesOf(second, lines));
  return { opportunityId, first, second };
}

async function holdsExactly(bench: Bench, opportunityId: string, quoteId: string, lines: number) {
  const status = expectOk(await bench.status(opportunityId), "status after replace");
  const held = status.body.lines as Array<{ productId: string }>;
  return (
    status.body.syncedQuoteId === quoteId &&
    held.length === lines &&
    held.every((line) => line.productId.startsWith(`${quoteId}-p`))
  );
}

/** Reads the status in a loop until stopped; counts reads that mix the two quotes' lines. */
function pollStatus(bench: Bench, opportunityId: string, first: string, second: string, lines: number) {
  let running = true;
  let polls = 0;
  let torn = 0;
  const loop = (async () => {
    while (running) {
      const status = expectOk(await bench.status(opportunityId), "status under replace");
      const held = status.body.lines as Array<{ productId: string }>;
      const fromFirst = held.filter((line) => line.productId.startsWith(`${first}-p`)).length;
      const fromSecond = held.filter((line) => line.productId.startsWith(`${second}-p`)).length;
      const whole = (fromFirst === lines && fromSecond === 0) || (fromSecond === lines && fromFirst === 0);
      polls++;
      if (!whole || held.length !== lines) torn++;
    }
  })();
  return {
    async stop() {
      // Keep reading a little past the replace: the old generation is cleaned up after the switch.
      await new Promise((resolve) => setTimeout(resolve, 300));
      running = false;
      await loop;
      return { polls, torn };
    },
  };
}

function summarize(samples: Array<{ cost: Cost; ms: number }>) {
  return {
    calls: median(samples.map((sample) => sample.cost.calls)),
    roundTrips: median(samples.map((sample) => sample.cost.roundTrips)),
    wcu: round(median(samples.map((sample) => sample.cost.wcu)), 1),
    rcu: round(median(samples.map((sample) => sample.cost.rcu)), 1),
    p50Ms: round(median(samples.map((sample) => sample.ms))),
    maxMs: round(Math.max(...samples.map((sample) => sample.ms))),
  };
}
