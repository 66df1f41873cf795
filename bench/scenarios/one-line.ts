import { benchLine, opportunityLinesUpserted, quoteLinesUpserted } from "../events.js";
import { type Bench, expectOk } from "../harness.js";
import type { Cost } from "../meter.js";
import { median, p99, round } from "../stats.js";
import { createSyncedPair } from "./setup.js";

export interface OneLineResult {
  lines: number;
  side: "cpq" | "crm";
  repetitions: number;
  calls: number;
  roundTrips: number;
  maxRoundTrips: number;
  wcu: number;
  rcu: number;
  p50Ms: number;
  p99Ms: number;
  operations: Record<string, number>;
}

const SIZES = [1, 100, 1000];
const REPETITIONS = 25;

/** One line changed on a synced pair of 1 / 100 / 1,000 lines, from each side. */
export async function oneLineChange(bench: Bench): Promise<OneLineResult[]> {
  const results: OneLineResult[] = [];
  for (const size of SIZES) {
    const opportunityId = `one-o-${size}`;
    const quoteId = `one-q-${size}`;
    await createSyncedPair(bench, opportunityId, quoteId, size);
    const status = expectOk(await bench.status(opportunityId), "status");
    const crmLine = status.body.lines[0];

    const cpqChange = (rep: number) => quoteLinesUpserted(quoteId, [benchLine(quoteId, 0, String(rep + 2))]);
    const crmChange = (rep: number) =>
      opportunityLinesUpserted(opportunityId, [
        { ...benchLine(opportunityId, 0, String(rep + 500)), id: "crm-line-0", syncKey: crmLine.syncKey },
      ]);
    results.push(await measureSide(bench, size, "cpq", (rep) => bench.cpq(cpqChange(rep))));
    results.push(await measureSide(bench, size, "crm", (rep) => bench.crm(crmChange(rep))));
  }
  return results;
}

async function measureSide(
  bench: Bench,
  size: number,
  side: "cpq" | "crm",
  send: (rep: number) => ReturnType<Bench["cpq"]>,
): Promise<OneLineResult> {
  const costs: Cost[] = [];
  const times: number[] = [];
  // Two warm-up events: the first pairs the CRM's line id, and JIT settles.
  for (let rep = -2; rep < REPETITIONS; rep++) {
    const { result, cost, ms } = await bench.meter.measure(() => send(rep + 2));
    expectOk(result, `${side} change on ${size} lines`);
    if (result.body.status !== "applied") throw new Error(`${side} change: status ${result.body.status}`);
    if (rep < 0) continue;
    costs.push(cost);
    times.push(ms);
  }
  const last = costs.at(-1) as Cost;
  return {
    lines: size,
    side,
    repetitions: REPETITIONS,
    calls: median(costs.map((cost) => cost.calls)),
    roundTrips: median(costs.map((cost) => cost.roundTrips)),
    maxRoundTrips: Math.max(...costs.map((cost) => cost.roundTrips)),
    wcu: round(median(costs.map((cost) => cost.wcu)), 2),
    rcu: round(median(costs.map((cost) => cost.rcu)), 2),
    p50Ms: round(median(times)),
    p99Ms: round(p99(times)),
    operations: last.byOperation,
  };
}
