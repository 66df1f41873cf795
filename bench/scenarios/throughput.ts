import { TransactWriteCommand } from "@aws-sdk/lib-dynamodb";
import { benchLine, quoteLinesUpserted } from "../events.js";
import { type Bench, expectOk } from "../harness.js";
import { median, p99, round, runPool } from "../stats.js";
import { createSyncedPair } from "./setup.js";

export interface ThroughputResult {
  pairs: number;
  clients: number;
  events: number;
  eventsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  rawTransactions: number;
  rawPerSecond: number;
  rawP50Ms: number;
  /** Median over the rounds of handlers ÷ raw, each measured back to back. */
  ratio: number;
  /** All handler events ÷ all raw transactions, per second. */
  overallRatio: number;
  roundRatios: number[];
}

const PAIRS = 200;
const CLIENTS = 16;
const EVENTS_PER_ROUND = 160;
const ROUNDS = 6;

/**
 * Events per second through the handlers (16 clients, one-line CPQ changes over 200 synced
 * pairs, a pair never changed by two clients at once) against a raw baseline: the very
 * TransactWriteItems those events committed, sent directly by 16 senders to a fresh table (their
 * conditions dropped, as the versions they name belong to the first table). Six rounds alternate
 * between the two so both see the same machine; the ratio is the median of the rounds' ratios.
 */
export async function endToEndThroughput(bench: Bench): Promise<ThroughputResult> {
  for (let pair = 0; pair < PAIRS; pair++) await createSyncedPair(bench, `tp-o-${pair}`, `tp-q-${pair}`, 3);
  const rawTable = "quotesync-bench-raw";
  await bench.newTable(rawTable);

  let eventMs = 0;
  let rawMs = 0;
  let events = 0;
  let rawCount = 0;
  const latencies: number[] = [];
  const rawLatencies: number[] = [];
  /** Each round's handlers ÷ raw rate: the machine's load changes less within a pair of rounds. */
  const roundRatios: number[] = [];
  // Client c owns pairs c, c + 16, … below 200, and cycles through them: no two clients race on one pair.
  const owned = Array.from({ length: CLIENTS }, (_, client) =>
    Array.from({ length: PAIRS }, (_, pair) => pair).filter((pair) => pair % CLIENTS === client),
  );
  // Every event sets a quantity its line never had: each one is a change (none is a no-op repeat).
  const next = { quantity: 10 };
  for (let round = 0; round < ROUNDS; round++) {
    const work = owned.map((pairs) =>
      Array.from({ length: EVENTS_PER_ROUND / CLIENTS }, (_, index) => pairs[index % pairs.length] as number),
    );
    const handlers = await handlersRound(bench, work, next, latencies);
    eventMs += handlers.ms;
    events += EVENTS_PER_ROUND;
    const raw = await rawRound(bench, handlers.captured, rawTable, rawLatencies);
    rawCount += raw.transactions;
    rawMs += raw.ms;
    roundRatios.push(EVENTS_PER_ROUND / handlers.ms / (raw.transactions / raw.ms));
  }
  const eventsPerSecond = (events / eventMs) * 1000;
  const rawPerSecond = (rawCount / rawMs) * 1000;
  return {
    pairs: PAIRS,
    clients: CLIENTS,
    events,
    eventsPerSecond: round(eventsPerSecond),
    p50Ms: round(median(latencies)),
    p99Ms: round(p99(latencies)),
    rawTransactions: rawCount,
    rawPerSecond: round(rawPerSecond),
    rawP50Ms: round(median(rawLatencies)),
    ratio: round(median(roundRatios), 2),
    overallRatio: round(eventsPerSecond / rawPerSecond, 2),
    roundRatios: roundRatios.map((value) => round(value, 2)),
  };
}

/**
 * One round through the handlers: each client sends its one-line changes in turn. Returns the
 * round's time and the transactions the handlers committed (captured by the meter).
 */
async function handlersRound(
  bench: Bench,
  work: number[][],
  next: { quantity: number },
  latencies: number[],
): Promise<{ ms: number; captured: Array<Array<Record<string, unknown>>> }> {
  bench.meter.captured = [];
  const started = performance.now();
  await Promise.all(
    work.map(async (pairs) => {
      for (const pair of pairs) {
        const quoteId = `tp-q-${pair}`;
        const begin = performance.now();
        next.quantity++;
        const response = await bench.cpq(
          quoteLinesUpserted(quoteId, [benchLine(quoteId, 0, String(next.quantity))]),
        );
        latencies.push(performance.now() - begin);
        expectOk(response, "throughput event");
        if (response.body.status !== "applied") throw new Error(`throughput event: ${response.body.status}`);
      }
    }),
  );
  const ms = performance.now() - started;
  const captured = structuredClone(bench.meter.captured);
  bench.meter.captured = null;
  return { ms, captured };
}

/** The same transactions sent straight to the baseline table, as many at a time as there are clients. */
async function rawRound(
  bench: Bench,
  captured: Array<Array<Record<string, unknown>>>,
  rawTable: string,
  rawLatencies: number[],
): Promise<{ ms: number; transactions: number }> {
  const transactions = captured.map((items) => items.map((item) => unconditional(item, rawTable)));
  const rawStarted = performance.now();
  await runPool(transactions, CLIENTS, async (items) => {
    const begin = performance.now();
    await bench.doc.send(new TransactWriteCommand({ TransactItems: items }));
    rawLatencies.push(performance.now() - begin);
  });
  return { ms: performance.now() - rawStarted, transactions: transactions.length };
}

/** The same item, into the baseline table, without its condition. */
function unconditional(item: Record<string, unknown>, tableName: string): Record<string, unknown> {
  const [kind, body] = Object.entries(item)[0] as [string, Record<string, unknown>];
  const { ConditionExpression, ExpressionAttributeNames, ExpressionAttributeValues, ...rest } = body;
  void ConditionExpression;
  const copy: Record<string, unknown> = { ...rest, TableName: tableName };
  // A check is kept as a check (same cost), of a condition that always holds.
  if (kind === "ConditionCheck")
    copy.ConditionExpression = "attribute_not_exists(pk) OR attribute_exists(pk)";
  // Update expressions keep the names and values they use (and only those: DynamoDB refuses unused ones).
  if (kind === "Update") {
    const expression = String(rest.UpdateExpression);
    const used = (map: unknown) =>
      Object.fromEntries(Object.entries((map ?? {}) as object).filter(([key]) => expression.includes(key)));
    if (ExpressionAttributeNames) copy.ExpressionAttributeNames = used(ExpressionAttributeNames);
    if (ExpressionAttributeValues) copy.ExpressionAttributeValues = used(ExpressionAttributeValues);
    delete copy.ReturnValuesOnConditionCheckFailure;
  }
  return { [kind]: copy };
}
