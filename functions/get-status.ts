import { httpFunction, jsonResponse } from "./lib/http-function.js";
import { pathId } from "./lib/path-ids.js";

/** `GET /sync/{tenantId}/opportunities/{opportunityId}`: the sync status of an opportunity. */
export const handler = httpFunction("either", async ({ event, tenant, runtime }) => {
  const opportunityId = pathId(event, "opportunityId");
  return jsonResponse(200, await runtime.engine.status(tenant, opportunityId));
});
