import { randomUUID } from "node:crypto";
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from "aws-lambda";
import type { TenantConfig } from "../../domain/tenant.js";
import { SIGNATURE_HEADER, signRequest } from "../lib/signature.js";
import { handler as startSync } from "../start-sync.js";
import { handler as stopSync } from "../stop-sync.js";

export type PageAction = "start" | "stop" | "resync";

/**
 * Runs a page action through the signed API's own function — the request the browser cannot sign
 * is signed here, with the tenant's secret, so it is checked, decided, audited and logged exactly
 * as a signed call from an integration is. The viewer is the actor.
 */
export async function callSignedApi(
  tenant: TenantConfig,
  action: PageAction,
  quoteId: string,
  viewer: string,
  context: Context,
): Promise<{ statusCode: number; body: Record<string, unknown> }> {
  const command = action === "stop" ? "stop" : "start";
  const path = `/sync/${encodeURIComponent(tenant.tenantId)}/quotes/${encodeURIComponent(quoteId)}/${command}`;
  const body = JSON.stringify({ eventId: `page-${randomUUID()}`, actor: { userId: `viewer:${viewer}` } });
  const secret = tenant.secrets.cpq[0] ?? tenant.secrets.crm[0] ?? "";
  const now = new Date();
  const event: APIGatewayProxyEventV2 = {
    version: "2.0",
    routeKey: `POST /sync/{tenantId}/quotes/{quoteId}/${command}`,
    rawPath: path,
    rawQueryString: "",
    headers: {
      "content-type": "application/json",
      [SIGNATURE_HEADER]: signRequest({ secret, method: "POST", pathWithQuery: path, body }),
    },
    pathParameters: { tenantId: tenant.tenantId, quoteId },
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
      routeKey: `POST /sync/{tenantId}/quotes/{quoteId}/${command}`,
      stage: "$default",
      time: now.toISOString(),
      timeEpoch: now.getTime(),
    },
  };
  const result = (await (command === "stop" ? stopSync : startSync)(
    event,
    context,
  )) as APIGatewayProxyStructuredResultV2;
  return {
    statusCode: result.statusCode ?? 200,
    body: JSON.parse(String(result.body ?? "{}")) as Record<string, unknown>,
  };
}
