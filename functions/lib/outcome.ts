import type { APIGatewayProxyStructuredResultV2 } from "aws-lambda";
import type { Outcome } from "../../domain/engine/decision.js";
import { jsonResponse } from "./error-responses.js";

/** A decision's response; a redelivered event gets the original body, marked as replayed. */
export function outcomeResponse(
  outcome: Outcome,
  log: Record<string, unknown>,
): APIGatewayProxyStructuredResultV2 {
  log.outcome = outcome.replayed ? "duplicate" : outcome.response.status;
  log.mirrors = outcome.response.mirrors.length;
  return jsonResponse(200, outcome.response, outcome.replayed ? { "x-quotesync-replayed": "true" } : {});
}
