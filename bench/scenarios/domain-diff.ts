import { decideLineChange } from "../../domain/engine/line-events.js";
import { CpqEvent } from "../../domain/events.js";
import { storedLine } from "../../domain/lines.js";
import type { OpportunityAggregate, QuoteAggregate, StoredLine } from "../../domain/model.js";
import { placeholderOpportunity, placeholderQuote } from "../../domain/records.js";
import { demoTenant } from "../../domain/tenant.js";
import { linesOf, quoteLinesReplaced } from "../events.js";
import { SECRETS } from "../harness.js";
import { median, round } from "../stats.js";

export interface DomainResult {
  lines: number;
  repetitions: number;
  p50Ms: number;
  mirroredLines: number;
}

export interface DomainDiffResult {
  sizes: DomainResult[];
  /** Median over the rounds of t(5,000) ÷ median t(500) in the same round. */
  ratio: number;
  roundRatios: number[];
  /**
   * The same, timed up to the decision only, without the minor GC that ends each run: the 500-line
   * runs' garbage then goes uncharged (the next run's setup collects it), the 5,000-line run's not.
   */
  ratioUncollected: number;
}

const SMALL = 500;
const LARGE = 5000;
const ROUNDS = 36;
/** Runs of the small size per round, around the round's one large run. */
const SMALL_PER_ROUND = 6;

/**
 * The pure engine alone: a `quote.lines.replaced` snapshot of N lines, each changed, on a synced
 * pair — the line diff, the copies to the opportunity and the mirror (and its ChangeSet). The
 * lines carry only the CPQ's own ids, as a CPQ reports its own lines.
 *
 * Both sizes are warmed up first (so neither is timed while the JIT still compiles the engine),
 * then timed in interleaved rounds — small runs around one large run — so both see the same state
 * of this shared machine; the ratio is the median of the rounds' ratios.
 */
export async function domainDiff(): Promise<DomainDiffResult> {
  const tenant = demoTenant(SECRETS);
  const small = prepare(SMALL);
  const large = prepare(LARGE);
  for (let warm = 0; warm < 5; warm++) await timeRun(tenant, small);
  for (let warm = 0; warm < 2; warm++) await timeRun(tenant, large);
  const smallTimes: number[] = [];
  const largeTimes: number[] = [];
  const roundRatios: number[] = [];
  const uncollectedRatios: number[] = [];
  let mirrored = { small: 0, large: 0 };
  for (let round = 0; round < ROUNDS; round++) {
    const runs: Run[] = [];
    for (let run = 0; run < SMALL_PER_ROUND / 2; run++) runs.push(await timeRun(tenant, small));
    const largeRun = await timeRun(tenant, large);
    for (let run = 0; run < SMALL_PER_ROUND / 2; run++) runs.push(await timeRun(tenant, small));
    smallTimes.push(...runs.map((run) => run.ms));
    largeTimes.push(largeRun.ms);
    roundRatios.push(round2(largeRun.ms / median(runs.map((run) => run.ms))));
    uncollectedRatios.push(largeRun.decidedMs / median(runs.map((run) => run.decidedMs)));
    mirrored = { small: (await timeRun(tenant, small)).mirrored, large: largeRun.mirrored };
  }
  return {
    sizes: [
      {
        lines: SMALL,
        repetitions: smallTimes.length,
        p50Ms: round(median(smallTimes), 2),
        mirroredLines: mirrored.small,
      },
      {
        lines: LARGE,
        repetitions: largeTimes.length,
        p50Ms: round(median(largeTimes), 2),
        mirroredLines: mirrored.large,
      },
    ],
    ratio: round2(median(roundRatios)),
    roundRatios,
    ratioUncollected: round2(median(uncollectedRatios)),
  };
}

const round2 = (value: number) => round(value, 2);

/** `gc()` when node runs with --expose-gc (`npm run bench` does), else nothing. */
const collectGarbage = (globalThis as { gc?: (options?: { type: "minor" | "major" }) => void }).gc;

/** One timed run: with the minor GC of its own garbage (`ms`), and up to its decision only. */
interface Run {
  ms: number;
  decidedMs: number;
  mirrored: number;
}

function prepare(lines: number) {
  const event = CpqEvent.parse(quoteLinesReplaced("dq", linesOf("dq", lines, "7")));
  if (event.type !== "quote.lines.replaced") throw new Error("unexpected event");
  return { lines, event };
}

async function timeRun(
  tenant: ReturnType<typeof demoTenant>,
  { lines, event }: ReturnType<typeof prepare>,
): Promise<Run> {
  const { quote, opportunity } = syncedPair(tenant.tenantId, lines);
  const snapshot = {
    tenantId: tenant.tenantId,
    quotes: new Map([["dq", quote]]),
    opportunities: new Map([["do", opportunity]]),
  };
  const context = {
    tenant,
    cause: { source: "cpq" as const, eventId: "e", at: Date.UTC(2026, 1, 1) },
    now: Date.UTC(2026, 1, 1),
    newSyncKey: () => `new-${key++}`,
  };
  let key = 0;
  collectGarbage?.(); // the setup's garbage is not the engine's to collect
  const started = performance.now();
  const decision = decideLineChange(
    snapshot,
    { sender: "cpq", ownerId: "dq", change: { kind: "replaced", lines: event.data.lines } },
    context,
  );
  if (decision.refused) throw decision.refused;
  decision.changes.toChangeSet();
  const { response } = decision;
  const decidedMs = performance.now() - started;
  // Each run pays for collecting what it allocated: without this, a 500-line run's garbage would
  // be collected by the next run's setup, off the clock, while a 5,000-line run (more than the
  // young generation holds) collects most of its own on its time.
  collectGarbage?.({ type: "minor" });
  const ms = performance.now() - started;
  if (response.status !== "applied") throw new Error(`domain diff: ${response.status}`);
  const mirrored = response.mirrors.reduce((sum, mirror) => sum + (mirror.lines?.upsert.length ?? 0), 0);
  return { ms, decidedMs, mirrored };
}

function syncedPair(
  tenantId: string,
  count: number,
): { quote: QuoteAggregate; opportunity: OpportunityAggregate } {
  const quoteLines = new Map<string, StoredLine>();
  const opportunityLines = new Map<string, StoredLine>();
  for (const [index, input] of linesOf("dq", count, "1").entries()) {
    const values = {
      productId: input.productId,
      name: null,
      quantity: input.quantity,
      unitPrice: input.unitPrice,
      discountPercent: input.discountPercent ?? "0",
      billing: "one_time" as const,
      billingPeriod: null,
      position: input.position ?? null,
      serviceDate: null,
      fields: input.fields ?? {},
    };
    const syncKey = `sk-${index}`;
    quoteLines.set(syncKey, storedLine(values, { syncKey, id: input.id, changedAt: 1, changedBy: "cpq" }));
    opportunityLines.set(
      syncKey,
      storedLine(values, { syncKey, id: `crm-${index}`, changedAt: 1, changedBy: "cpq" }),
    );
  }
  const quote = {
    ...placeholderQuote(tenantId, "dq"),
    known: true,
    opportunityId: "do",
    currency: "USD",
    syncing: true,
    version: 3,
  };
  const opportunity = {
    ...placeholderOpportunity(tenantId, "do"),
    known: true,
    currency: "USD",
    syncedQuoteId: "dq",
    amountLocked: true,
    version: 3,
  };
  return {
    quote: { header: quote, lines: quoteLines },
    opportunity: { header: opportunity, lines: opportunityLines },
  };
}
