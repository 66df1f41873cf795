import type { APIGatewayProxyStructuredResultV2 } from "aws-lambda";
import { TenantConfig } from "../../domain/tenant.js";
import { createRuntime, setRuntime } from "../../functions/lib/runtime.js";
import { mintViewerToken } from "../../functions/lib/viewer-link.js";
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
  attentionP50Ms: number;
  attentionCost: Cost;
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

/**
 * The pipeline page of a tenant of 5,000 opportunities (one in ten synced): the time the page
 * function takes to render the first page (the handler's own time, DynamoDB Local included),
 * cold and warm, the DynamoDB calls it makes — a Query of the tenant's list and batched reads, no
 * Scan — and the "needs attention" view and an opportunity page beside it.
 */
export async function pipelinePage(bench: Bench): Promise<PipelinePageResult> {
  await loadPipeline(bench);

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
  const attention = await timed(`/app/${TENANT}?view=attention`);
  const opportunity = await timed(`/app/${TENANT}/opportunities/pp-o-00010`);
  return {
    opportunities: OPPORTUNITIES,
    synced: OPPORTUNITIES / SYNCED_EVERY,
    coldFirstPageMs: round(cold.result.ms),
    firstPageP50Ms: round(median(first.times)),
    firstPageP95Ms: round(percentile(first.times, 95)),
    firstPageMaxMs: round(Math.max(...first.times)),
    firstPageCost: first.cost,
    attentionP50Ms: round(median(attention.times)),
    attentionCost: attention.cost,
    opportunityPageP50Ms: round(median(opportunity.times)),
    scans,
    rows,
  };
}

/** The tenant's 5,000 opportunities, one in ten with a synced quote of three lines, made through the handlers. */
async function loadPipeline(bench: Bench): Promise<void> {
  const tenant = TenantConfig.parse({
    tenantId: TENANT,
    secrets: { crm: [SECRETS.crm], cpq: [SECRETS.cpq] },
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
}

/** GETs a page through the page function with the viewer's session; its own time and body. */
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
    const result = (await handler(event, localLambdaContext)) as APIGatewayProxyStructuredResultV2;
    const ms = performance.now() - started;
    if (result.statusCode !== 200) throw new Error(`${path}: HTTP ${result.statusCode}`);
    return { ms, body: String(result.body) };
  };
}
