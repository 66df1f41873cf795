import type { ScheduledEvent } from "aws-lambda";
import { type DeliveryRuntime, deliveryRuntime } from "./lib/delivery-runtime.js";
import { functionStack, type LambdaFunction, remainingTimeOf } from "./lib/function-stack.js";
import { logger } from "./lib/logger.js";
import { failureLog } from "./lib/middleware/failure-log.js";

/** What one retry pass did: queues looked at, mirrors delivered, retrying and parked. */
export interface RetryPassReport {
  queues: number;
  delivered: number;
  retrying: number;
  parked: number;
}

/**
 * The retry pass (every minute): pages through the queues whose next attempt is due (a sparse
 * index, never a scan) and delivers their waiting mirrors in order.
 */
export async function retryDueDeliveries(
  remainingMs: () => number,
  rt: DeliveryRuntime = deliveryRuntime(),
): Promise<RetryPassReport> {
  const started = performance.now();
  const report = await rt.service.retryDue(remainingMs);
  // An idle pass (nothing due) stays out of the logs: it runs every minute.
  if (report.queues > 0)
    logger.info("delivery retry pass", {
      queues: report.queues,
      delivered: report.delivered,
      retrying: report.retrying,
      parked: report.parked,
      durationMs: Math.round(performance.now() - started),
    });
  return {
    queues: report.queues,
    delivered: report.delivered,
    retrying: report.retrying,
    parked: report.parked,
  };
}

/** The retry pass's function, on the schedule; its delivery metrics are flushed once per invocation. */
export const handler = functionStack<ScheduledEvent, RetryPassReport>()
  .use(failureLog("delivery retry pass failed"))
  .handler((_event, context) => retryDueDeliveries(remainingTimeOf(context))) as unknown as LambdaFunction<
  ScheduledEvent,
  RetryPassReport
>;
