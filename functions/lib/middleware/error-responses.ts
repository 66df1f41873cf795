import type { MiddlewareObj } from "@middy/core";
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from "aws-lambda";
import { httpResponseFor } from "../error-responses.js";
import { outcomeOfStatus } from "../metrics.js";
import type { RequestLogContext } from "./request-log.js";

/**
 * The HTTP stack's one `onError`: maps what the route or a middleware threw to its answer, once
 * (error-responses.ts), and notes the error code, the event's outcome and whether the error was
 * unexpected in the request's facts for the request log.
 */
export function errorResponses(): MiddlewareObj<
  APIGatewayProxyEventV2,
  APIGatewayProxyStructuredResultV2,
  Error,
  Context & RequestLogContext
> {
  return {
    onError: function errorResponsesOnError(request) {
      const { response, code, expected } = httpResponseFor(request.error);
      request.response = response;
      const { facts } = request.context;
      if (facts === undefined) return;
      facts.errorCode = code;
      if (facts.eventType !== undefined) facts.outcome = outcomeOfStatus(response.statusCode);
      if (!expected) request.context.unexpectedError = true;
    },
  };
}
