import { SyncCommandInput } from "../domain/events.js";
import { signedRequestKey } from "./lib/authenticate.js";
import { httpFunction, parseJsonBody } from "./lib/http-function.js";
import { outcomeResponse } from "./lib/outcome.js";
import { pathId } from "./lib/path-ids.js";

/** `POST /sync/{tenantId}/quotes/{quoteId}/stop`: stop sync; the opportunity keeps its lines. */
export const handler = httpFunction("either", async ({ event, tenant, rawBody, runtime, log }) => {
  const input = SyncCommandInput.parse(parseJsonBody(rawBody, { allowEmpty: true }) ?? {});
  const quoteId = pathId(event, "quoteId");
  log.eventType = "sync.stop";
  if (input.eventId) log.eventId = input.eventId;
  return outcomeResponse(
    await runtime.engine.stopSync(tenant, quoteId, input, signedRequestKey(event, rawBody)),
    log,
  );
});
