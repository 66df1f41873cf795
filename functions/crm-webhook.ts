import { CRM_EVENT_TYPES, CrmEvent } from "../domain/events.js";
import { httpFunction } from "./lib/http-function.js";
import { outcomeResponse } from "./lib/outcome.js";
import { parseEvent } from "./lib/parse-event.js";

/** `POST /webhooks/crm/{tenantId}`: opportunity and opportunity-line events from the CRM. */
export const handler = httpFunction(
  { audience: "crm", body: "json" },
  async ({ tenant, body, runtime, facts }) => {
    const event = parseEvent(CrmEvent, CRM_EVENT_TYPES, body, facts);
    return outcomeResponse(await runtime.engine.handleCrmEvent(tenant, event), facts);
  },
);
