import { httpFunction, jsonResponse } from "./lib/http-function.js";
import { pageQuery } from "./lib/paging.js";

/** `GET /sync/{tenantId}/opportunities/{opportunityId}/audit`: the audit trail, newest first. */
export const handler = httpFunction("either", async ({ event, tenant, runtime }) => {
  const { limit, cursor } = pageQuery(event.queryStringParameters);
  const opportunityId = event.pathParameters?.opportunityId ?? "";
  return jsonResponse(
    200,
    await runtime.store.readAudit(tenant.tenantId, opportunityId, cursor ?? null, limit),
  );
});
