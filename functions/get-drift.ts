import { httpFunction, jsonResponse } from "./lib/http-function.js";
import { pageQuery } from "./lib/paging.js";

/** `GET /sync/{tenantId}/drift?cursor=&limit=`: the tenant's current drift findings, by opportunity. */
export const handler = httpFunction({ audience: "either" }, async ({ event, tenant, runtime }) => {
  const { limit, cursor } = pageQuery(event.queryStringParameters);
  return jsonResponse(200, await runtime.store.readDriftReport(tenant.tenantId, cursor ?? null, limit));
});
