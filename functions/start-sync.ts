import { SyncCommandInput } from "../domain/events.js";
import { signedRequestKey } from "./lib/authenticate.js";
import { httpFunction } from "./lib/http-function.js";
import { outcomeResponse } from "./lib/outcome.js";
import { pathId } from "./lib/path-ids.js";

/** `POST /sync/{tenantId}/quotes/{quoteId}/start`: start, replace or re-run sync of a quote. */
export const handler = httpFunction({ audience: "either", body: "json-or-empty" }, async (request) => {
  const { event, tenant, rawBody, body, runtime, facts } = request;
  const input = SyncCommandInput.parse(body ?? {});
  const quoteId = pathId(event, "quoteId");
  facts.eventType = "sync.start";
  if (input.eventId) facts.eventId = input.eventId;
  return outcomeResponse(
    await runtime.engine.startSync(tenant, quoteId, input, signedRequestKey(event, rawBody)),
    facts,
  );
});
