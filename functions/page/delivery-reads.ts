import { statusOf } from "../../connectors/delivery.js";
import { deliversTo } from "../../domain/connectors.js";
import type { Source } from "../../domain/model.js";
import type { DeliveryReads } from "../../domain/pipeline/read-pipeline.js";
import type { DeliveryState } from "../../domain/pipeline/rows.js";
import type { TenantConfig } from "../../domain/tenant.js";
import { DeliveryQueue } from "../../infra/dynamodb/delivery-queue.js";
import { deliveryRuntime } from "../lib/delivery-runtime.js";

/**
 * The page's reads of the tenant's delivery queues (docs/delivery.md), on the delivery runtime's
 * table: the failing index (one Query) and queue states by key (BatchGetItem), each side's state
 * as the status route reports it. Undefined for a tenant none of whose sides delivers.
 */
export function pageDeliveryReads(tenant: TenantConfig): DeliveryReads | undefined {
  const sides = (["crm", "cpq"] as const).filter((side) => deliversTo(tenant.connectors[side]));
  if (sides.length === 0) return undefined;
  const { doc, tableName } = deliveryRuntime();
  const queue = new DeliveryQueue(doc, tableName);
  const delivering = new Set<Source>(sides);
  return {
    sides: [...sides],
    async failingOpportunities(tenantId) {
      return (await queue.failing(tenantId))
        .filter((pair) => delivering.has(pair.side))
        .map((pair) => pair.opportunityId);
    },
    async deliveryStates(tenantId, ids) {
      const found = await queue.states(
        ids.flatMap((opportunityId) => sides.map((side) => ({ tenantId, opportunityId, side }))),
      );
      const states = new Map<string, DeliveryState>();
      for (const { pair, state } of found) {
        const current = states.get(pair.opportunityId) ?? {};
        current[pair.side] = statusOf(state);
        states.set(pair.opportunityId, current);
      }
      return states;
    },
  };
}
