import { httpFunction, jsonResponse } from "./lib/http-function.js";
import { pageQuery } from "./lib/paging.js";

/** `GET /sync/{tenantId}/outbox?after=&limit=`: every mirror produced, oldest first. */
export const handler = httpFunction({ audience: "either" }, async ({ event, tenant, runtime }) => {
  const { limit, after } = pageQuery(event.queryStringParameters);
  return jsonResponse(200, await runtime.store.readOutbox(tenant.tenantId, after ?? null, limit));
});
