import { lineTotal, sumMoney } from "../../domain/decimal.js";
import type { InvokeResponse } from "../../local/invoke.js";
import { benchLine, opportunityLinesUpserted, quoteLinesUpserted } from "../events.js";
import { type Bench, expectOk } from "../harness.js";
import { median, p99, round } from "../stats.js";
import { createSyncedPair } from "./setup.js";

export interface HotPairResult {
  writers: number;
  eventsPerWriter: number;
  sent: number;
  applied: number;
  /** 503 answers the writers retried (after Retry-After, shortened). */
  retried: number;
  appliedPercent: number;
  p50Ms: number;
  p99Ms: number;
  /** Every line holds its writer's last value on both sides, and the amount is the subtotal. */
  noLostUpdate: boolean;
}

const WRITERS = 16;
const EVENTS_PER_WRITER = 6;
const MAX_CLIENT_RETRIES = 20;

/**
 * 16 writers on one synced pair, each changing its own line EVENTS_PER_WRITER times — even
 * writers from the CPQ, odd ones from the CRM — all at once. Every change must be applied, and
 * the final state must hold every writer's last value.
 */
export async function hotPair(bench: Bench): Promise<HotPairResult> {
  const opportunityId = "hot-o";
  const quoteId = "hot-q";
  await createSyncedPair(bench, opportunityId, quoteId, WRITERS);
  const status = expectOk(await bench.status(opportunityId), "hot status");
  const syncKeyOf = new Map<string, string>(
    (status.body.lines as Array<{ productId: string; syncKey: string }>).map((line) => [
      line.productId,
      line.syncKey,
    ]),
  );

  let applied = 0;
  let retried = 0;
  const latencies: number[] = [];
  const send = async (writer: number, value: number): Promise<InvokeResponse> => {
    const line = benchLine(quoteId, writer, String(value));
    if (writer % 2 === 0) return bench.cpq(quoteLinesUpserted(quoteId, [line]));
    const syncKey = syncKeyOf.get(line.productId) ?? "";
    return bench.crm(
      opportunityLinesUpserted(opportunityId, [{ ...line, id: `crm-hot-${writer}`, syncKey }]),
    );
  };
  await Promise.all(
    Array.from({ length: WRITERS }, async (_, writer) => {
      for (let change = 1; change <= EVENTS_PER_WRITER; change++) {
        const begin = performance.now();
        const event = { writer, value: change * 10 + writer };
        let response = await send(event.writer, event.value);
        for (let attempt = 0; response.statusCode === 503 && attempt < MAX_CLIENT_RETRIES; attempt++) {
          retried++;
          await new Promise((resolve) => setTimeout(resolve, 20 + Math.random() * 80));
          response = await send(event.writer, event.value);
        }
        latencies.push(performance.now() - begin);
        if (response.statusCode === 200 && response.body.status === "applied") applied++;
      }
    }),
  );

  const intact = await finalStateIntact(bench, opportunityId, quoteId);
  const sent = WRITERS * EVENTS_PER_WRITER;
  return {
    writers: WRITERS,
    eventsPerWriter: EVENTS_PER_WRITER,
    sent,
    applied,
    retried,
    appliedPercent: round((applied / sent) * 100, 1),
    p50Ms: round(median(latencies)),
    p99Ms: round(p99(latencies)),
    noLostUpdate: intact,
  };
}

/** Both sides hold every writer's last value, and the amount is the exact sum of the lines. */
async function finalStateIntact(bench: Bench, opportunityId: string, quoteId: string): Promise<boolean> {
  const final = expectOk(await bench.status(opportunityId), "hot final status");
  const quote = await bench.store.loadQuote("demo", quoteId);
  const expected = (writer: number) => String(EVENTS_PER_WRITER * 10 + writer);
  let intact = quote !== null && final.body.lines.length === WRITERS;
  for (let writer = 0; writer < WRITERS; writer++) {
    const productId = `${quoteId}-p${writer}`;
    const onOpportunity = (final.body.lines as Array<{ productId: string; quantity: string }>).find(
      (line) => line.productId === productId,
    );
    const onQuote = [...(quote?.lines.values() ?? [])].find(
      (line) => line.productId === productId && !line.deleted,
    );
    intact &&= onOpportunity?.quantity === expected(writer) && onQuote?.quantity === expected(writer);
  }
  const lineTotals = (
    final.body.lines as Array<{ quantity: string; unitPrice: string; discountPercent: string }>
  ).map((line) => lineTotal({ ...line, currency: "USD" }));
  intact &&= final.body.amount === sumMoney(lineTotals, "USD");
  return intact;
}
