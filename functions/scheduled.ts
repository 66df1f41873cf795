import type { ScheduledEvent } from "aws-lambda";
import { DEFAULT_SCHEDULED_LIMITS, type ScheduledRunReport } from "../domain/engine/scheduled-run.js";
import { functionStack, type LambdaFunction, remainingTimeOf } from "./lib/function-stack.js";
import { logger } from "./lib/logger.js";
import { recordScheduledRun } from "./lib/metrics.js";
import { failureLog } from "./lib/middleware/failure-log.js";
import { type Runtime, runtime } from "./lib/runtime.js";

/** The run stops taking new pairs when the invocation has less than this left. */
const STOP_MARGIN_MS = 10_000;

/**
 * One run of the scheduled function: pushes scheduled-mode pairs, then audits synced pairs, each
 * pass bounded and resuming at its checkpoint (docs/scheduled.md).
 */
export async function runScheduledOnce(
  rt: Runtime = runtime(),
  remainingMs: () => number = () => Number.POSITIVE_INFINITY,
): Promise<ScheduledRunReport> {
  const started = performance.now();
  const report = await rt.engine.runScheduled({
    limits: DEFAULT_SCHEDULED_LIMITS,
    shouldStop: () => remainingMs() < STOP_MARGIN_MS,
  });
  const summary = {
    pushed: report.push.pushed.length,
    pushExamined: report.push.examined,
    auditExamined: report.audit.examined,
    drifting: report.audit.drifting.length,
    driftRecorded: report.audit.recorded,
    failures: report.push.failures.length + report.audit.failures.length,
    stoppedEarly: report.stoppedEarly,
  };
  logger.info("scheduled run", { ...summary, durationMs: Math.round(performance.now() - started) });
  recordScheduledRun(summary);
  return report;
}

/** The scheduled function; its run metrics are flushed as one EMF line per invocation, even on failure. */
export const handler = functionStack<ScheduledEvent, ScheduledRunReport>()
  .use(failureLog("scheduled run failed"))
  .handler((_event, context) =>
    runScheduledOnce(runtime(), remainingTimeOf(context)),
  ) as unknown as LambdaFunction<ScheduledEvent, ScheduledRunReport>;
