import { injectLambdaContext } from "@aws-lambda-powertools/logger/middleware";
import { logMetrics } from "@aws-lambda-powertools/metrics/middleware";
import middy from "@middy/core";
import type { Context } from "aws-lambda";
import { logger } from "./logger.js";
import { metrics } from "./metrics.js";

/**
 * The base every function's middleware stack starts from: metrics flushed as EMF once per
 * invocation, whether it succeeds or fails; the Lambda context in every log line, and the keys an
 * invocation appended (its correlation id) cleared after it. HTTP functions add their request
 * middlewares on top (http-function.ts); functions the platform retries add their failure log
 * (middleware/failure-log.ts).
 */
export function functionStack<TEvent, TResult>() {
  return middy<TEvent, TResult, Error, Context>()
    .use(logMetrics(metrics))
    .use(injectLambdaContext(logger, { resetKeys: true }));
}

/** A function as Lambda invokes it; tests and the local server may leave the context out. */
export type LambdaFunction<TEvent, TResult> = (event: TEvent, context?: Context) => Promise<TResult>;

/**
 * The time the invocation has left. Tests and the local server may invoke a function without a
 * Lambda context; then there is no deadline.
 */
export function remainingTimeOf(context: Partial<Context> | undefined): () => number {
  const remaining = context?.getRemainingTimeInMillis;
  return typeof remaining === "function" ? () => remaining.call(context) : () => Number.POSITIVE_INFINITY;
}
