import { httpFunction, jsonResponse } from "./lib/http-function.js";

/** `GET /sync/{tenantId}/opportunities/{opportunityId}`: the sync status of an opportunity. */
export const handler = httpFunction("either", async ({ event, tenant, runtime }) => {
  const opportunityId = event.pathParameters?.opportunityId ?? "";
  return jsonResponse(200, await runtime.engine.status(tenant, opportunityId));
});
