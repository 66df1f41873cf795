import type { APIGatewayProxyStructuredResultV2 } from "aws-lambda";
import type { Outcome } from "../../domain/engine/decision.js";
import { jsonResponse } from "./error-responses.js";
import type { RequestFacts } from "./middleware/request-log.js";

/** A decision's response, its outcome noted in the request's facts; a redelivered event gets the original body, marked as replayed. */
export function outcomeResponse(outcome: Outcome, facts: RequestFacts): APIGatewayProxyStructuredResultV2 {
  facts.outcome = outcome.replayed ? "duplicate" : outcome.response.status;
  facts.mirrors = outcome.response.mirrors.length;
  return jsonResponse(200, outcome.response, outcome.replayed ? { "x-quotesync-replayed": "true" } : {});
}
