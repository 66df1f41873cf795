import type { Context, ScheduledEvent } from "aws-lambda";
import { type DeliveryRuntime, deliveryRuntime } from "./lib/delivery-runtime.js";
import { logger } from "./lib/logger.js";
import { metrics } from "./lib/metrics.js";

/**
 * The retry pass (every minute): pages through the queues whose next attempt is due (a sparse
 * index, never a scan) and delivers their waiting mirrors in order.
 */
export async function retryDueDeliveries(
  remainingMs: () => number,
  rt: DeliveryRuntime = deliveryRuntime(),
): Promise<{ queues: number; delivered: number; retrying: number; parked: number }> {
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

export const handler = (_event: ScheduledEvent, context?: Context) =>
  retryDueDeliveries(() => context?.getRemainingTimeInMillis() ?? Number.POSITIVE_INFINITY).finally(() =>
    metrics.publishStoredMetrics(),
  );
