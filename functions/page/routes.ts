import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from "aws-lambda";
import { z } from "zod";
import { NotFound } from "../../domain/errors.js";
import { readOpportunityView } from "../../domain/pipeline/opportunity-view.js";
import {
  InvalidPipelineCursor,
  type PipelineQuery,
  readPipelinePage,
} from "../../domain/pipeline/read-pipeline.js";
import { fieldMapping, isTenantId, type TenantConfig } from "../../domain/tenant.js";
import { rawBodyOf } from "../lib/authenticate.js";
import { logger } from "../lib/logger.js";
import { runtime } from "../lib/runtime.js";
import { csrfToken, type ViewerGrant, verifyCsrfToken, verifyViewerToken } from "../lib/viewer-link.js";
import { checkSession, refusalFor, sameOrigin, sessionCookie, viewerSecrets } from "./access.js";
import { pageDeliveryReads } from "./delivery-reads.js";
import { html, segment } from "./html.js";
import { layout } from "./layout.js";
import { NOTICES, opportunityBody } from "./opportunity-html.js";
import { pipelineBody, SORTS, type SortName } from "./pipeline-html.js";
import { htmlResponse, redirect, refusal } from "./responses.js";
import { callSignedApi, type PageAction } from "./signed-call.js";

const PAGE_SIZE = 50;
const COMMON_STAGES = [
  "Prospecting",
  "Qualification",
  "Proposal",
  "Negotiation",
  "Closed Won",
  "Closed Lost",
];

const PipelineParams = z.object({
  view: z.enum(["attention", "all"]).default("attention"),
  stage: z.string().min(1).max(120).optional(),
  sort: z.enum(Object.keys(SORTS) as [SortName, ...SortName[]]).optional(),
  after: z.string().min(1).max(600).optional(),
});

const ActionForm = z.discriminatedUnion("action", [
  z.object({
    csrf: z.string().min(1).max(200),
    action: z.enum(["start", "stop", "resync"]),
    quoteId: z.string().min(1).max(256),
  }),
  z.object({
    csrf: z.string().min(1).max(200),
    action: z.literal("retry"),
    /** The parked mirror's outbox entry id. */
    entryId: z.string().regex(/^[1-9]\d{0,15}$/),
  }),
]);

interface Viewing {
  tenant: TenantConfig;
  grant: ViewerGrant;
}

/** Routes one page request by its API Gateway route key. */
export async function routePage(
  event: APIGatewayProxyEventV2,
  context: Context,
): Promise<APIGatewayProxyStructuredResultV2> {
  const tenantId = event.pathParameters?.tenantId ?? "";
  const rt = runtime();
  const tenant = isTenantId(tenantId) ? await rt.loadTenant(tenantId) : null;
  const nowSeconds = Math.floor(Date.now() / 1000);
  if (event.routeKey === "GET /app/{tenantId}/enter") return enter(event, tenantId, tenant, nowSeconds);

  const session = checkSession(event, tenantId, tenant, nowSeconds);
  if (!session.ok || !tenant) {
    const { statusCode, title, message } = session.ok ? refusalFor({ reason: "mismatch" }) : session.refusal;
    logger.info("page refused", { route: event.routeKey, status: statusCode });
    return refusal(statusCode, title, message);
  }
  const viewing: Viewing = { tenant, grant: session.grant };
  switch (event.routeKey) {
    case "GET /app/{tenantId}":
      return pipeline(event, viewing);
    case "GET /app/{tenantId}/opportunities/{opportunityId}":
      return opportunity(event, viewing);
    case "POST /app/{tenantId}/opportunities/{opportunityId}/actions":
      return action(event, viewing, context);
    default:
      return refusal(404, "Not found", "There is no such page.");
  }
}

/** A viewer link becomes the session cookie; the link's token leaves the address bar at once. */
function enter(
  event: APIGatewayProxyEventV2,
  tenantId: string,
  tenant: TenantConfig | null,
  nowSeconds: number,
): APIGatewayProxyStructuredResultV2 {
  const token = event.queryStringParameters?.link;
  const verdict = verifyViewerToken(token, {
    tenantId,
    secrets: tenant ? viewerSecrets(tenant) : [],
    nowSeconds,
  });
  if (!verdict.ok || !token) {
    const { statusCode, title, message } = refusalFor(verdict.ok ? { reason: "missing" } : verdict);
    logger.info("viewer link refused", {
      status: statusCode,
      reason: verdict.ok ? "missing" : verdict.reason,
    });
    return refusal(statusCode, title, message);
  }
  const target = `/app/${segment(tenantId)}`;
  // A page, not a redirect: a SameSite=Strict cookie set while following a link from elsewhere
  // (mail, chat) is only sent on a navigation this site starts itself.
  const body = `<!doctype html>${
    html`<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<meta http-equiv="refresh" content="0;url=${target}"><title>Opening the pipeline · quotesync</title></head>
<body><main><p><a href="${target}">Open the pipeline</a></p></main></body></html>`.value
  }`;
  return htmlResponse(200, body, {
    cookies: [sessionCookie(event, tenantId, token, verdict.grant.expiresAt - nowSeconds)],
  });
}

async function pipeline(event: APIGatewayProxyEventV2, { tenant, grant }: Viewing) {
  const params = PipelineParams.safeParse(nonEmpty(event.queryStringParameters));
  if (!params.success) return refusal(400, "Bad request", "The page's parameters are not valid.");
  const sort = params.data.view === "all" && params.data.sort ? SORTS[params.data.sort] : undefined;
  const query: PipelineQuery = {
    view: params.data.view,
    after: params.data.after ?? null,
    limit: PAGE_SIZE,
    ...(params.data.stage ? { stage: params.data.stage } : {}),
    ...(sort ? { sort: { by: sort.by, direction: sort.direction } } : {}),
  };
  let page: Awaited<ReturnType<typeof readPipelinePage>>;
  try {
    page = await readPipelinePage(runtime().store, tenant, query, Date.now(), pageDeliveryReads(tenant));
  } catch (error) {
    if (error instanceof InvalidPipelineCursor)
      return refusal(400, "Bad request", "The page's parameters are not valid.");
    throw error;
  }
  const stages = [
    ...new Set([
      ...COMMON_STAGES,
      ...tenant.policy.milestoneStages,
      tenant.policy.acceptedStage,
      ...page.rows.flatMap((row) => (row.stage ? [row.stage] : [])),
      ...(query.stage ? [query.stage] : []),
    ]),
  ];
  return htmlResponse(
    200,
    layout({
      title: query.view === "attention" ? "Needs attention" : "Pipeline",
      tenantId: tenant.tenantId,
      viewer: grant.viewer,
      canAct: grant.actions,
      body: pipelineBody({ tenantId: tenant.tenantId, query, page, stages }),
    }),
  );
}

async function opportunity(event: APIGatewayProxyEventV2, { tenant, grant }: Viewing) {
  const opportunityId = event.pathParameters?.opportunityId ?? "";
  let view: Awaited<ReturnType<typeof readOpportunityView>>;
  try {
    view = await readOpportunityView(
      runtime().store,
      tenant,
      opportunityId,
      Date.now(),
      50,
      pageDeliveryReads(tenant),
    );
  } catch (error) {
    if (error instanceof NotFound) return refusal(404, "Not found", "quotesync has no such opportunity.");
    throw error;
  }
  const notice = event.queryStringParameters?.notice;
  return htmlResponse(
    200,
    layout({
      title: view.opportunity.name ?? view.opportunity.id,
      tenantId: tenant.tenantId,
      viewer: grant.viewer,
      canAct: grant.actions,
      body: opportunityBody({
        tenantId: tenant.tenantId,
        view,
        canAct: grant.actions,
        csrf: csrfToken(viewerSecrets(tenant)[0] ?? "", grant),
        notice: notice && Object.hasOwn(NOTICES, notice) ? notice : undefined,
        mappedLineFields: [...fieldMapping(tenant).lines].sort(),
      }),
    }),
  );
}

/** A button: checked (grant, CSRF, origin), then run through the signed API as the viewer. */
async function action(event: APIGatewayProxyEventV2, { tenant, grant }: Viewing, context: Context) {
  const opportunityId = event.pathParameters?.opportunityId ?? "";
  if (!grant.actions)
    return refusal(403, "Read-only link", "This link does not allow actions (sync, delivery retries).");
  const form = ActionForm.safeParse(
    Object.fromEntries(new URLSearchParams(rawBodyOf(event).toString("utf8"))),
  );
  if (!sameOrigin(event) || !form.success || !verifyCsrfToken(form.data.csrf, viewerSecrets(tenant), grant)) {
    logger.info("page action refused", { reason: "csrf" });
    return refusal(403, "Refused", "The form was not sent from this page. Reload the page and try again.");
  }
  const name = form.data.action;
  const target = form.data.action === "retry" ? form.data.entryId : form.data.quoteId;
  const answer = await callSignedApi(tenant, name as PageAction, target, grant.viewer, context);
  const code = answer.statusCode === 200 ? noticeOfSuccess(name, answer.body) : errorCode(answer.body);
  logger.info("page action", { action: name, status: answer.statusCode, viewer: grant.viewer });
  return redirect(
    `/app/${segment(tenant.tenantId)}/opportunities/${segment(opportunityId)}?notice=${encodeURIComponent(code)}`,
  );
}

function noticeOfSuccess(action: string, body: Record<string, unknown>): string {
  if (action === "retry")
    return body.status === "delivered"
      ? "retry_delivered"
      : body.status === "retrying"
        ? "retry_retrying"
        : "retry_parked";
  if (body.status === "no_change") return "no_change";
  if (action === "resync") return "resynced";
  return action === "stop" ? "stopped" : "started";
}

function errorCode(body: Record<string, unknown>): string {
  const code = (body.error as { code?: unknown } | undefined)?.code;
  return typeof code === "string" && Object.hasOwn(NOTICES, code) ? code : "failed";
}

function nonEmpty(parameters: Record<string, string | undefined> | undefined): Record<string, string> {
  return Object.fromEntries(
    Object.entries(parameters ?? {}).filter((entry): entry is [string, string] => Boolean(entry[1])),
  );
}
