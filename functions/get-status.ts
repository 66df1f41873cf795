import { deliversTo } from "../domain/connectors.js";
import { deliveryRuntime } from "./lib/delivery-runtime.js";
import { httpFunction, jsonResponse } from "./lib/http-function.js";
import { pathId } from "./lib/path-ids.js";

/** `GET /sync/{tenantId}/opportunities/{opportunityId}`: the sync status of an opportunity. */
export const handler = httpFunction({ audience: "either" }, async ({ event, tenant, runtime }) => {
  const opportunityId = pathId(event, "opportunityId");
  const status = await runtime.engine.status(tenant, opportunityId);
  if (deliversTo(tenant.connectors.crm) || deliversTo(tenant.connectors.cpq)) {
    status.delivery = await deliveryRuntime().service.status(tenant, opportunityId);
  }
  return jsonResponse(200, status);
});
