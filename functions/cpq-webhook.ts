import { CPQ_EVENT_TYPES, CpqEvent } from "../domain/events.js";
import { httpFunction } from "./lib/http-function.js";
import { outcomeResponse } from "./lib/outcome.js";
import { parseEvent } from "./lib/parse-event.js";

/** `POST /webhooks/cpq/{tenantId}`: quote, quote-line and trigger events from the CPQ. */
export const handler = httpFunction(
  { audience: "cpq", body: "json" },
  async ({ tenant, body, runtime, facts }) => {
    const event = parseEvent(CpqEvent, CPQ_EVENT_TYPES, body, facts);
    return outcomeResponse(await runtime.engine.handleCpqEvent(tenant, event), facts);
  },
);
