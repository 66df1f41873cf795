import { CRM_EVENT_TYPES, CrmEvent } from "../domain/events.js";
import { httpFunction, parseJsonBody } from "./lib/http-function.js";
import { outcomeResponse } from "./lib/outcome.js";
import { parseEvent } from "./lib/parse-event.js";

/** `POST /webhooks/crm/{tenantId}`: opportunity and opportunity-line events from the CRM. */
export const handler = httpFunction("crm", async ({ tenant, rawBody, runtime, log }) => {
  const event = parseEvent(CrmEvent, CRM_EVENT_TYPES, parseJsonBody(rawBody), log);
  return outcomeResponse(await runtime.engine.handleCrmEvent(tenant, event), log);
});
