import { CPQ_EVENT_TYPES, CpqEvent } from "../domain/events.js";
import { httpFunction, parseJsonBody } from "./lib/http-function.js";
import { outcomeResponse } from "./lib/outcome.js";
import { parseEvent } from "./lib/parse-event.js";

/** `POST /webhooks/cpq/{tenantId}`: quote, quote-line and trigger events from the CPQ. */
export const handler = httpFunction("cpq", async ({ tenant, rawBody, runtime, log }) => {
  const event = parseEvent(CpqEvent, CPQ_EVENT_TYPES, parseJsonBody(rawBody), log);
  return outcomeResponse(await runtime.engine.handleCpqEvent(tenant, event), log);
});
