import type { APIGatewayProxyStructuredResultV2 } from "aws-lambda";
import { TenantConfig } from "../../domain/tenant.js";
import { createDeliveryRuntime, setDeliveryRuntime } from "../../functions/lib/delivery-runtime.js";
import { createRuntime, setRuntime } from "../../functions/lib/runtime.js";
import { mintViewerToken } from "../../functions/lib/viewer-link.js";
import { DeliveryQueue } from "../../infra/dynamodb/delivery-queue.js";
import { apiGatewayEvent, invokeRoute, localLambdaContext, matchRoute } from "../../local/invoke.js";
import { benchLine, opportunityUpserted, quoteLinesReplaced, quoteUpserted } from "../events.js";
import { type Bench, expectOk } from "../harness.js";
import { type Cost, emptyCost } from "../meter.js";
import { median, percentile, round, runPool } from "../stats.js";

export interface PipelinePageResult {
  opportunities: number;
  synced: number;
  /** The first page in a fresh runtime (tenant not cached), in the page function. */
  coldFirstPageMs: number;
  /** The first page, warm: median and p95 of the runs. */
  firstPageP50Ms: number;
  firstPageP95Ms: number;
  firstPageMaxMs: number;
  firstPageCost: Cost;
  /** The first page sorted by amount (largest first): the whole list's sort values, then the page. */
  sortedFirstPageP50Ms: number;
  sortedFirstPageP95Ms: number;
  sortedFirstPageCost: Cost;
  attentionP50Ms: number;
  attentionCost: Cost;
  /** Delivery queues seeded: delivered (one per synced pair) and parked (one opportunity in 100). */
  deliveryQueues: number;
  parkedQueues: number;
  /** Rows of the first "needs attention" page whose reason is a failing delivery. */
  attentionDeliveryRows: number;
  opportunityPageP50Ms: number;
  scans: number;
  rows: number;
}

const TENANT = "pipeline5k";
const SECRETS = { crm: "pipeline-crm-secret", cpq: "pipeline-cpq-secret" };
const OPPORTUNITIES = 5_000;
/** One opportunity in ten has a synced quote of three lines. */
const SYNCED_EVERY = 10;
const RUNS = 30;
/** One opportunity in this many has a parked delivery. */
const PARKED_EVERY = 100;

/**
 * The pipeline page of a tenant of 5,000 opportunities (one in ten synced): the time the page
 * function takes to render the first page (the handler's own time, DynamoDB Local included),
 * cold and warm, the DynamoDB calls it makes — a Query of the tenant's list and batched reads, no
 * Scan — the first page sorted by amount, the "needs attention" view (with parked deliveries found
 * through the tenant's failing index) and an opportunity page beside it. The CRM side delivers:
 * every page reads the delivery queues of its rows.
 */
export async function pipelinePage(bench: Bench): Promise<PipelinePageResult> {
  const ids = await loadPipeline(bench);
  const seeded = await seedDeliveryQueues(bench, ids);
  setDeliveryRuntime(
    createDeliveryRuntime({
      doc: bench.doc,
      tableName: bench.tableName,
      loadTenant: (tenantId) => bench.store.loadTenant(tenantId),
    }),
  );

  const token = mintViewerToken(SECRETS.crm, { tenantId: TENANT, viewer: "bench", hours: 1, actions: false });
  const handler = await matchRoute("GET", `/app/${TENANT}`).route.load();
  const get = pageGetter(handler, token);

  // Cold: a fresh runtime, as in a new Lambda container (the tenant is not cached yet).
  setRuntime(createRuntime(bench.store, { tenantCacheMs: 10 * 60_000 }));
  const cold = await bench.meter.measure(() => get(`/app/${TENANT}?view=all`));
  // Rows of the table body (the header row is the first <tr>).
  const rows = (cold.result.body.match(/<tr>/g) ?? []).length - 1;
  let scans = cold.cost.byOperation.Scan ?? 0;

  const timed = async (path: string) => {
    const times: number[] = [];
    let cost = emptyCost();
    for (let run = 0; run < RUNS; run++) {
      const measured = await bench.meter.measure(() => get(path));
      times.push(measured.result.ms);
      cost = measured.cost;
      scans += measured.cost.byOperation.Scan ?? 0;
    }
    return { times, cost };
  };
  const first = await timed(`/app/${TENANT}?view=all`);
  const sorted = await timed(`/app/${TENANT}?view=all&sort=amount-desc`);
  const attention = await timed(`/app/${TENANT}?view=attention`);
  const opportunity = await timed(`/app/${TENANT}/opportunities/pp-o-00010`);
  const attentionBody = (await get(`/app/${TENANT}?view=attention`)).body;
  setDeliveryRuntime(undefined);
  return {
    opportunities: OPPORTUNITIES,
    synced: OPPORTUNITIES / SYNCED_EVERY,
    coldFirstPageMs: round(cold.result.ms),
    firstPageP50Ms: round(median(first.times)),
    firstPageP95Ms: round(percentile(first.times, 95)),
    firstPageMaxMs: round(Math.max(...first.times)),
    firstPageCost: first.cost,
    sortedFirstPageP50Ms: round(median(sorted.times)),
    sortedFirstPageP95Ms: round(percentile(sorted.times, 95)),
    sortedFirstPageCost: sorted.cost,
    attentionP50Ms: round(median(attention.times)),
    attentionCost: attention.cost,
    deliveryQueues: seeded.length,
    parkedQueues: seeded.filter((index) => index % PARKED_EVERY === 7).length,
    attentionDeliveryRows: (attentionBody.match(/>Delivery failing</g) ?? []).length,
    opportunityPageP50Ms: round(median(opportunity.times)),
    scans,
    rows,
  };
}

/** The tenant (its CRM side delivers) and its 5,000 opportunities, one in ten synced, through the handlers. */
async function loadPipeline(bench: Bench): Promise<number[]> {
  // The CRM side delivers its mirrors (docs/delivery.md): the page reads the delivery queues.
  const tenant = TenantConfig.parse({
    tenantId: TENANT,
    secrets: { crm: [SECRETS.crm], cpq: [SECRETS.cpq] },
    connectors: {
      crm: {
        kind: "native",
        delivery: {
          kind: "webhook",
          url: "http://127.0.0.1:9/quotesync",
          secret: "pipeline-delivery-secret-0123",
        },
      },
    },
  });
  await bench.store.putTenant(tenant);
  const post = (path: string, body: unknown, secret: string) =>
    invokeRoute("POST", path, { rawBody: JSON.stringify(body), secret });
  const ids = Array.from({ length: OPPORTUNITIES }, (_, index) => index);
  await runPool(ids, 16, async (index) => {
    const opportunityId = `pp-o-${String(index).padStart(5, "0")}`;
    expectOk(
      await post(`/webhooks/crm/${TENANT}`, opportunityUpserted(opportunityId), SECRETS.crm),
      opportunityId,
    );
    if (index % SYNCED_EVERY !== 0) return;
    const quoteId = `pp-q-${index}`;
    expectOk(
      await post(`/webhooks/cpq/${TENANT}`, quoteUpserted(quoteId, opportunityId), SECRETS.cpq),
      quoteId,
    );
    const lines = [0, 1, 2].map((line) => benchLine(quoteId, line));
    expectOk(await post(`/webhooks/cpq/${TENANT}`, quoteLinesReplaced(quoteId, lines), SECRETS.cpq), quoteId);
    expectOk(await post(`/sync/${TENANT}/quotes/${quoteId}/start`, {}, SECRETS.cpq), `start ${quoteId}`);
  });

  return ids;
}

/**
 * Delivery queues as the deliver function leaves them: each synced pair's mirror delivered, and
 * one opportunity in 100 (synced or not) with a mirror the target refused, parked. The seeded ids.
 */
async function seedDeliveryQueues(bench: Bench, ids: number[]): Promise<number[]> {
  const queue = new DeliveryQueue(bench.doc, bench.tableName);
  const seeded = ids.filter((index) => index % SYNCED_EVERY === 0 || index % PARKED_EVERY === 7);
  let sequence = 0;
  await runPool(seeded, 16, async (index) => {
    const opportunityId = `pp-o-${String(index).padStart(5, "0")}`;
    const pair = { tenantId: TENANT, opportunityId, side: "crm" as const };
    const entry = {
      sequence: ++sequence,
      entryId: String(sequence),
      cursor: `c${sequence}`,
      at: new Date().toISOString(),
      mirror: { target: "crm" as const, opportunityId, quoteId: `pp-q-${index}`, quote: { syncing: true } },
    };
    await queue.enqueue(pair, entry, Date.now());
    const owner = `bench-${index}`;
    await queue.acquire(pair, owner, Date.now(), Date.now() + 60_000);
    const at = new Date().toISOString();
    const audit = { at, type: "mirror.failed" as const, source: "crm" as const, summary: "seeded" };
    if (index % PARKED_EVERY === 7) {
      await queue.markParked(
        pair,
        owner,
        entry,
        {
          attempts: 1,
          firstFailedAt: Date.now(),
          lastError: "the receiver answered HTTP 422: unknown product",
          target: { lineIds: {}, facts: {} },
        },
        audit,
      );
    } else {
      await queue.markDelivered(pair, owner, entry, { lineIds: {}, facts: {} }, at, {
        ...audit,
        type: "mirror.delivered",
      });
    }
    await queue.release(pair, owner);
  });
  return seeded;
}

/** GETs a page through the page function with the viewer's session: its own time and body. */
function pageGetter(
  handler: Awaited<ReturnType<ReturnType<typeof matchRoute>["route"]["load"]>>,
  token: string,
): (path: string) => Promise<{ ms: number; body: string }> {
  return async (path: string): Promise<{ ms: number; body: string }> => {
    const [rawPath = path, query = ""] = path.split("?");
    const { route, pathParameters } = matchRoute("GET", rawPath);
    const event = apiGatewayEvent({
      method: "GET",
      routeKey: route.path,
      path: rawPath,
      query,
      pathParameters,
    });
    event.cookies = [`qs_view=${token}`];
    const started = performance.now();
    const result = (await handler(event, localLambdaContext())) as APIGatewayProxyStructuredResultV2;
    const ms = performance.now() - started;
    if (result.statusCode !== 200) throw new Error(`${path}: HTTP ${result.statusCode}`);
    return { ms, body: String(result.body) };
  };
}
