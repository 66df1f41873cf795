import { SyncCommandInput } from "../domain/events.js";
import { readOutboxEntry } from "../infra/dynamodb/delivery-queue.js";
import { deliveryRuntime } from "./lib/delivery-runtime.js";
import { RequestRejected } from "./lib/http-errors.js";
import { httpFunction, jsonResponse } from "./lib/http-function.js";

/** The route answers well within API Gateway's 30 s: a long queue is finished by the retry pass. */
const ROUTE_BUDGET_MS = 20_000;

/**
 * `POST /sync/{tenantId}/deliveries/{entryId}/retry` (signed with the CRM secret): sends a parked
 * mirror again now, and the mirrors of its pair waiting behind it; the audit names who asked. 404 for an entry the tenant's
 * outbox does not have; 409 `not_parked` when that mirror is not parked (delivered, or retrying).
 */
export const handler = httpFunction(
  { audience: "crm", body: "json-or-empty" },
  async ({ event, tenant, body, facts }) => {
    const entryId = event.pathParameters?.entryId ?? "";
    facts.eventType = "delivery.retry";
    // Optional: who asked, for the audit (`mirror.retried`); the same body as the sync commands'.
    const input = SyncCommandInput.parse(body ?? {});
    const rt = deliveryRuntime();
    const entry = /^[1-9]\d{0,15}$/.test(entryId)
      ? await readOutboxEntry(rt.doc, rt.tableName, tenant.tenantId, Number(entryId))
      : null;
    if (!entry) {
      throw new RequestRejected(404, "not_found", `outbox entry ${entryId.slice(0, 40)} not found`, [
        { resource: "outbox entry" },
      ]);
    }
    const started = Date.now();
    const result = await rt.service.retryParked(
      tenant.tenantId,
      { sequence: Number(entryId), entryId, mirror: entry.mirror },
      () => ROUTE_BUDGET_MS - (Date.now() - started),
      input.actor?.userId,
    );
    if (!result) {
      throw new RequestRejected(409, "not_parked", `mirror ${entryId} is not parked`, [{ entryId }]);
    }
    const status =
      result.report.parked > 0
        ? "parked"
        : result.status.parkedEntryId
          ? "parked"
          : result.report.retrying > 0
            ? "retrying"
            : "delivered";
    return jsonResponse(200, { entryId, status, delivery: result.status });
  },
);
