import { Metrics, MetricUnit } from "@aws-lambda-powertools/metrics";

/**
 * The functions' CloudWatch metrics, written as EMF lines on stdout and flushed once per invocation
 * by the `logMetrics` middleware of the shared handler factory. Namespace `quotesync`, dimension
 * `service`; `Events` is counted by `eventType` and `outcome` as well.
 * `POWERTOOLS_METRICS_DISABLED=true` silences them (the tests do).
 */
export const metrics = new Metrics({ namespace: "quotesync", serviceName: "quotesync" });

/**
 * Writes each `Events` count as its own EMF line, at once (`singleMetric`), then forgets its
 * dimensions. One instance for the container: `metrics.singleMetric()` would build a new one, with
 * its own console, for every event.
 */
const eventMetric = new Metrics({ namespace: "quotesync", serviceName: "quotesync", singleMetric: true });

/** What happened to an event or command, as the `outcome` metric dimension. */
export type EventOutcome =
  | "applied"
  | "no_change"
  | "stale"
  | "not_synced"
  | "pending"
  | "started"
  | "stopped"
  | "duplicate"
  /** A precondition or permission refused it (409, 403). */
  | "refused"
  /** The request was malformed or failed validation (400, 413, 422) or named something unknown (404). */
  | "rejected"
  /** Storage stayed busy (503). */
  | "busy"
  /** An unexpected failure (500). */
  | "failed";

/** The outcome dimension of a request that ended in an error response. */
export function outcomeOfStatus(status: number): EventOutcome {
  if (status === 403 || status === 409) return "refused";
  if (status === 503) return "busy";
  if (status >= 500) return "failed";
  return "rejected";
}

/**
 * Counts one event (webhook, trigger or command) by type and outcome, and the mirrors it produced.
 * `Events` is written as its own EMF line with the `eventType` + `outcome` dimensions, so the
 * invocation's other metrics keep the plain `service` dimension that the alarms watch.
 */
export function recordEvent(eventType: string, outcome: EventOutcome, mirrors: number): void {
  eventMetric.addDimensions({ eventType, outcome });
  eventMetric.addMetric("Events", MetricUnit.Count, 1);
  metrics.addMetric("MirrorsEmitted", MetricUnit.Count, mirrors);
}

/** Counts an HTTP request and, when it failed on our side, a server error (alarmed on). */
export function recordRequest(status: number): void {
  metrics.addMetric("Requests", MetricUnit.Count, 1);
  if (status >= 500) metrics.addMetric("ServerErrors", MetricUnit.Count, 1);
}

/** Counts a request refused for its signature (401): a wrong secret, clock skew or an attack. */
export function recordSignatureFailure(): void {
  metrics.addMetric("SignatureFailures", MetricUnit.Count, 1);
}

/** Counts a storage conflict (another writer committed first) and the re-decision it causes, if any. */
export function recordStorageConflict(conflict: { retrying: boolean }): void {
  metrics.addMetric("StorageConflicts", MetricUnit.Count, 1);
  if (conflict.retrying) metrics.addMetric("StorageRetries", MetricUnit.Count, 1);
}

/**
 * What one run of the scheduled function did: pairs pushed and examined, pairs audited, drift
 * found and newly recorded, pairs that failed (left for the next cycle, alarmed on), and whether
 * the deadline cut the run short.
 */
export function recordScheduledRun(run: {
  pushed: number;
  pushExamined: number;
  auditExamined: number;
  drifting: number;
  driftRecorded: number;
  failures: number;
  stoppedEarly: boolean;
}): void {
  metrics.addMetric("ScheduledPairsPushed", MetricUnit.Count, run.pushed);
  metrics.addMetric("ScheduledPushExamined", MetricUnit.Count, run.pushExamined);
  metrics.addMetric("ScheduledPairsAudited", MetricUnit.Count, run.auditExamined);
  metrics.addMetric("ScheduledPairsDrifting", MetricUnit.Count, run.drifting);
  metrics.addMetric("ScheduledDriftRecorded", MetricUnit.Count, run.driftRecorded);
  metrics.addMetric("ScheduledFailures", MetricUnit.Count, run.failures);
  metrics.addMetric("ScheduledStoppedEarly", MetricUnit.Count, run.stoppedEarly ? 1 : 0);
}

/**
 * One delivery outcome: a mirror delivered (with its lag from commit to delivery), a retry
 * scheduled, or a mirror parked (`MirrorsParked` is alarmed on).
 */
export function recordDelivery(outcome: "delivered" | "retrying" | "parked", lagMs?: number): void {
  if (outcome === "delivered") {
    metrics.addMetric("MirrorsDelivered", MetricUnit.Count, 1);
    if (lagMs !== undefined) metrics.addMetric("DeliveryLag", MetricUnit.Milliseconds, Math.max(0, lagMs));
  } else if (outcome === "retrying") {
    metrics.addMetric("DeliveryRetries", MetricUnit.Count, 1);
  } else {
    metrics.addMetric("MirrorsParked", MetricUnit.Count, 1);
  }
}
