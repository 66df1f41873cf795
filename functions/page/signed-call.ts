import { randomUUID } from "node:crypto";
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from "aws-lambda";
import type { TenantConfig } from "../../domain/tenant.js";
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
  const route =
    action === "retry"
      ? {
          routeKey: "POST /sync/{tenantId}/deliveries/{entryId}/retry",
          path: `${tenantPath}/deliveries/${encodeURIComponent(target)}/retry`,
          pathParameters: { tenantId: tenant.tenantId, entryId: target },
          secret: tenant.secrets.crm[0] ?? "",
          handler: retryDelivery,
        }
      : {
          routeKey: `POST /sync/{tenantId}/quotes/{quoteId}/${action === "stop" ? "stop" : "start"}`,
          path: `${tenantPath}/quotes/${encodeURIComponent(target)}/${action === "stop" ? "stop" : "start"}`,
          pathParameters: { tenantId: tenant.tenantId, quoteId: target },
          secret: tenant.secrets.cpq[0] ?? tenant.secrets.crm[0] ?? "",
          handler: action === "stop" ? stopSync : startSync,
        };
  const { path, secret } = route;
  const body = JSON.stringify({ eventId: `page-${randomUUID()}`, actor: { userId: `viewer:${viewer}` } });
  const now = new Date();
  const event: APIGatewayProxyEventV2 = {
    version: "2.0",
    routeKey: route.routeKey,
    rawPath: path,
    rawQueryString: "",
    headers: {
      "content-type": "application/json",
      [SIGNATURE_HEADER]: signRequest({ secret, method: "POST", pathWithQuery: path, body }),
    },
    pathParameters: route.pathParameters,
    isBase64Encoded: false,
    body,
    requestContext: {
      accountId: "self",
      apiId: "pipeline-page",
      domainName: "pipeline-page",
      domainPrefix: "pipeline-page",
      http: {
        method: "POST",
        path,
        protocol: "HTTP/1.1",
        sourceIp: "127.0.0.1",
        userAgent: "quotesync-page",
      },
      requestId: randomUUID(),
      routeKey: route.routeKey,
      stage: "$default",
      time: now.toISOString(),
      timeEpoch: now.getTime(),
    },
  };
  const result = (await route.handler(event, context)) as APIGatewayProxyStructuredResultV2;
  return {
    statusCode: result.statusCode ?? 200,
    body: JSON.parse(String(result.body ?? "{}")) as Record<string, unknown>,
  };
}
