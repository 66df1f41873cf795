import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from "aws-lambda";
import { HubSpotUnavailable } from "../connectors/hubspot/errors.js";
import { handleHubSpotWebhook, type WebhookDeps } from "../connectors/hubspot/webhook.js";
import { httpResponseFor, jsonResponse } from "./lib/error-responses.js";
import { functionStack, remainingTimeOf } from "./lib/function-stack.js";
import { hubSpotDeps } from "./lib/hubspot-deps.js";
import { logger } from "./lib/logger.js";
import { recordRequest, recordSignatureFailure } from "./lib/metrics.js";

/** `POST /connectors/hubspot`: HubSpot's app webhooks (signature v3), for every portal quotesync serves. */
export const handler = functionStack<APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2>()
  .use({
    onError: async (request) => {
      const { response, expected } = httpResponseFor(request.error);
      if (!expected) logger.error("request failed", { error: request.error as Error });
      else if (request.error instanceof HubSpotUnavailable)
        logger.warn("HubSpot unavailable; HubSpot will retry", { error: request.error.message });
      recordRequest(response.statusCode ?? 500);
      request.response = response;
    },
  })
  .handler(async (event, context) => {
    const started = performance.now();
    const log: WebhookDeps["log"] = (message, facts) => logger.info(message, facts);
    const deps = hubSpotDeps(log, remainingTimeOf(context));
    const body = Buffer.from(event.body ?? "", event.isBase64Encoded ? "base64" : "utf8");
    const answer = await handleHubSpotWebhook(
      {
        method: event.requestContext.http.method,
        rawQuery: event.rawQueryString ?? "",
        headers: event.headers,
        body,
      },
      deps,
    );
    logger.info("request", {
      route: event.routeKey,
      status: answer.statusCode,
      ...answer.body,
      durationMs: Math.round(performance.now() - started),
    });
    recordRequest(answer.statusCode);
    if (answer.statusCode === 401) recordSignatureFailure();
    return jsonResponse(answer.statusCode, answer.body);
  });
