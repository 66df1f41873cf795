import { randomUUID } from "node:crypto";
import type { APIGatewayProxyStructuredResultV2, Context } from "aws-lambda";
import type { TenantConfig } from "../../domain/tenant.js";
import { apiGatewayEvent } from "../lib/gateway-event.js";
import { SIGNATURE_HEADER, signRequest } from "../lib/signature.js";
import { handler as retryDelivery } from "../retry-delivery.js";
import { handler as startSync } from "../start-sync.js";
import { handler as stopSync } from "../stop-sync.js";

export type PageAction = "start" | "stop" | "resync" | "retry";

/**
 * Runs a page action through the signed API's own function — the request the browser cannot sign
 * is signed here, with the tenant's secret, so it is checked, decided, audited and logged exactly
 * as a signed call from an integration is. The viewer is the actor. `target` is the quote id, or
 * for `retry` the parked mirror's entry id (`POST /sync/{t}/deliveries/{entryId}/retry`, signed
 * with the CRM secret as that route requires).
 */
export async function callSignedApi(
  tenant: TenantConfig,
  action: PageAction,
  target: string,
  viewer: string,
  context: Context,
): Promise<{ statusCode: number; body: Record<string, unknown> }> {
  const tenantPath = `/sync/${encodeURIComponent(tenant.tenantId)}`;
  const route: {
    routeKey: string;
    path: string;
    pathParameters: Record<string, string>;
    secret: string;
    handler: typeof startSync;
  } =
    action === "retry"
      ? {
          routeKey: "/sync/{tenantId}/deliveries/{entryId}/retry",
          path: `${tenantPath}/deliveries/${encodeURIComponent(target)}/retry`,
          pathParameters: { tenantId: tenant.tenantId, entryId: target },
          secret: tenant.secrets.crm[0] ?? "",
          handler: retryDelivery,
        }
      : {
          routeKey: `/sync/{tenantId}/quotes/{quoteId}/${action === "stop" ? "stop" : "start"}`,
          path: `${tenantPath}/quotes/${encodeURIComponent(target)}/${action === "stop" ? "stop" : "start"}`,
          pathParameters: { tenantId: tenant.tenantId, quoteId: target },
          secret: tenant.secrets.cpq[0] ?? tenant.secrets.crm[0] ?? "",
          handler: action === "stop" ? stopSync : startSync,
        };
  const { path, secret } = route;
  const body = JSON.stringify({ eventId: `page-${randomUUID()}`, actor: { userId: `viewer:${viewer}` } });
  const event = apiGatewayEvent({
    method: "POST",
    routeKey: route.routeKey,
    path,
    headers: {
      "content-type": "application/json",
      "user-agent": "quotesync-page",
      [SIGNATURE_HEADER]: signRequest({ secret, method: "POST", pathWithQuery: path, body }),
    },
    body,
    pathParameters: route.pathParameters,
    domainName: "pipeline-page",
    apiId: "pipeline-page",
  });
  const result = (await route.handler(event, context)) as APIGatewayProxyStructuredResultV2;
  return {
    statusCode: result.statusCode ?? 200,
    body: JSON.parse(String(result.body ?? "{}")) as Record<string, unknown>,
  };
}
