import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from "aws-lambda";

/** A Lambda handler as API Gateway (HTTP API, payload 2.0) invokes it. */
export type HttpLambda = (
  event: APIGatewayProxyEventV2,
  context: Context,
) => Promise<APIGatewayProxyStructuredResultV2>;

/** One HTTP route of quotesync, the same as `serverless.yml` declares for API Gateway. */
export interface LocalRoute {
  method: "GET" | "POST";
  /** API Gateway route syntax, e.g. `/webhooks/crm/{tenantId}`. */
  path: string;
  /** Loads the handler lazily so the environment is set before any function module initialises. */
  load: () => Promise<HttpLambda>;
}

export const localRoutes: LocalRoute[] = [
  {
    method: "POST",
    path: "/webhooks/crm/{tenantId}",
    load: async () => (await import("../functions/crm-webhook.js")).handler,
  },
  {
    method: "POST",
    path: "/webhooks/cpq/{tenantId}",
    load: async () => (await import("../functions/cpq-webhook.js")).handler,
  },
  {
    method: "POST",
    path: "/connectors/hubspot",
    load: async () => (await import("../functions/hubspot-webhook.js")).handler,
  },
  {
    method: "POST",
    path: "/sync/{tenantId}/quotes/{quoteId}/start",
    load: async () => (await import("../functions/start-sync.js")).handler,
  },
  {
    method: "POST",
    path: "/sync/{tenantId}/quotes/{quoteId}/stop",
    load: async () => (await import("../functions/stop-sync.js")).handler,
  },
  {
    method: "GET",
    path: "/sync/{tenantId}/opportunities/{opportunityId}",
    load: async () => (await import("../functions/get-status.js")).handler,
  },
  {
    method: "GET",
    path: "/sync/{tenantId}/opportunities/{opportunityId}/audit",
    load: async () => (await import("../functions/get-audit.js")).handler,
  },
  {
    method: "GET",
    path: "/sync/{tenantId}/outbox",
    load: async () => (await import("../functions/get-outbox.js")).handler,
  },
  {
    method: "POST",
    path: "/sync/{tenantId}/deliveries/{entryId}/retry",
    load: async () => (await import("../functions/retry-delivery.js")).handler,
  },
  {
    method: "GET",
    path: "/sync/{tenantId}/drift",
    load: async () => (await import("../functions/get-drift.js")).handler,
  },
  // The pipeline page (docs/pipeline-page.md): one function behind four routes.
  ...(
    [
      ["GET", "/app/{tenantId}"],
      ["GET", "/app/{tenantId}/enter"],
      ["GET", "/app/{tenantId}/opportunities/{opportunityId}"],
      ["POST", "/app/{tenantId}/opportunities/{opportunityId}/actions"],
    ] as const
  ).map(([method, path]) => ({
    method,
    path,
    load: async () => (await import("../functions/pipeline-page.js")).handler as HttpLambda,
  })),
];
