import type { EventBridgeEvent } from "aws-lambda";
import { z } from "zod";
import { Forbidden, InvalidEvent, PreconditionFailed } from "../domain/errors.js";
import { CpqEvent } from "../domain/events.js";
import type { SyncResponse } from "../domain/model.js";
import { TenantId } from "../domain/tenant.js";
import { zodDetails } from "./lib/error-responses.js";
import { functionStack, type LambdaFunction } from "./lib/function-stack.js";
import { logger } from "./lib/logger.js";
import { recordEvent } from "./lib/metrics.js";
import { type EventFacts, failureLog } from "./lib/middleware/failure-log.js";
import { type Runtime, runtime } from "./lib/runtime.js";

const TRIGGER_TYPES = ["cart.finalized", "quote.accepted"] as const;

/**
 * A trigger as EventBridge delivers it from the trigger bus: a source the tenant allows
 * (`policy.triggerSources`, `cpq` by default), detail-type = the event type, detail = the CPQ
 * event envelope plus the `tenantId` it belongs to (EventBridge has no URL to carry it).
 */
const TriggerDelivery = z.object({
  source: z.string().min(1).max(256),
  "detail-type": z.enum(TRIGGER_TYPES),
  detail: z.looseObject({
    tenantId: TenantId,
    type: z.enum(TRIGGER_TYPES).optional(),
  }),
});

export type TriggerResult =
  | { outcome: "applied"; tenantId: string; replayed: boolean; response: SyncResponse }
  | { outcome: "dropped"; tenantId: string; reason: string };

/**
 * Validates an EventBridge trigger and runs it like the CPQ webhook would, under the same
 * idempotency key (`cpq` + eventId): the same trigger through both channels takes effect once.
 * Throws (so EventBridge retries, then dead-letters) on an invalid event, a quote or opportunity
 * not known yet, or busy storage; drops, with a log line, what no retry can change: an unknown
 * tenant, a source the tenant does not allow, a trigger refused by a precondition or permission
 * (audited by the domain). What it learns of the trigger goes into `facts`, for the failure line.
 */
export async function handleTrigger(
  delivery: unknown,
  rt: Runtime = runtime(),
  facts: EventFacts = {},
): Promise<TriggerResult> {
  const { tenantId, source, detailType, event } = parseTrigger(delivery);
  Object.assign(facts, {
    tenantId,
    source: source.slice(0, 64),
    eventType: detailType,
    eventId: event.eventId,
  });
  logger.setCorrelationId(event.eventId);
  const tenant = await rt.loadTenant(tenantId);
  if (!tenant) {
    logger.warn("trigger dropped: unknown tenant", { ...facts });
    return { outcome: "dropped", tenantId, reason: `tenant ${tenantId} not found` };
  }
  // Anyone allowed to put events on the trigger bus names the tenant in the detail: the tenant's own
  // pin of the sources that may trigger it is what keeps one sender from triggering another's quotes.
  if (!tenant.policy.triggerSources.includes(source)) {
    logger.warn("trigger dropped: source not allowed for the tenant", { ...facts });
    recordEvent(detailType, "refused", 0);
    return {
      outcome: "dropped",
      tenantId,
      reason: `source ${source.slice(0, 64)} may not trigger tenant ${tenantId}`,
    };
  }
  try {
    const outcome = await rt.engine.handleCpqEvent(tenant, event, "eventbridge");
    const result = outcome.replayed ? "duplicate" : outcome.response.status;
    logger.info("trigger", { ...facts, outcome: result, mirrors: outcome.response.mirrors.length });
    recordEvent(detailType, result, outcome.response.mirrors.length);
    return { outcome: "applied", tenantId, replayed: outcome.replayed, response: outcome.response };
  } catch (error) {
    if (error instanceof PreconditionFailed || error instanceof Forbidden) {
      logger.warn("trigger refused", { ...facts, error: error.message });
      recordEvent(detailType, "refused", 0);
      return { outcome: "dropped", tenantId, reason: error.message };
    }
    throw error;
  }
}

/** The trigger's tenant, source, type and CPQ event; `InvalidEvent` when it is not one. */
function parseTrigger(delivery: unknown) {
  const parsed = TriggerDelivery.safeParse(delivery);
  if (!parsed.success) {
    throw new InvalidEvent(
      "not a quotesync trigger event",
      zodDetails(parsed.error) as InvalidEvent["details"],
    );
  }
  const { tenantId, ...envelope } = parsed.data.detail;
  const detailType = parsed.data["detail-type"];
  if (envelope.type !== undefined && envelope.type !== detailType) {
    throw new InvalidEvent("detail.type differs from detail-type", [
      { path: ["detail", "type"], message: `expected ${detailType}` },
    ]);
  }
  const event = CpqEvent.safeParse({ ...envelope, type: detailType });
  if (!event.success) {
    const details = zodDetails(event.error) as InvalidEvent["details"];
    throw new InvalidEvent(
      "the detail is not a valid trigger envelope",
      details.map((issue) => ({ ...issue, path: ["detail", ...issue.path] })),
    );
  }
  return { tenantId, source: parsed.data.source, detailType, event: event.data };
}

type TriggerEvent = EventBridgeEvent<(typeof TRIGGER_TYPES)[number], unknown>;

/** The trigger function: `cart.finalized` and `quote.accepted` from EventBridge. */
export const handler = functionStack<TriggerEvent, TriggerResult>()
  .use(failureLog("trigger failed; EventBridge will retry"))
  .handler((event, context) => handleTrigger(event, runtime(), context.facts)) as unknown as LambdaFunction<
  TriggerEvent,
  TriggerResult
>;
