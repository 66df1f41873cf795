import { NotFound } from "../domain/errors.js";
import { httpFunction, jsonResponse } from "./lib/http-function.js";
import { pageQuery } from "./lib/paging.js";
import { pathId } from "./lib/path-ids.js";

/**
 * `GET /sync/{tenantId}/opportunities/{opportunityId}/audit`: the audit trail, newest first.
 * An opportunity quotesync has never heard of, with no trail, is `404 not_found` (SPEC §2); a
 * deleted one keeps its trail.
 */
export const handler = httpFunction({ audience: "either" }, async ({ event, tenant, runtime }) => {
  const { limit, cursor } = pageQuery(event.queryStringParameters);
  const opportunityId = pathId(event, "opportunityId");
  const page = await runtime.store.readAudit(tenant.tenantId, opportunityId, cursor ?? null, limit);
  if (page.entries.length === 0 && !cursor) {
    const opportunity = await runtime.store.loadOpportunity(tenant.tenantId, opportunityId);
    if (!opportunity?.header.known) throw new NotFound("opportunity", opportunityId);
  }
  return jsonResponse(200, page);
});
