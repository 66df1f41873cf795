import { randomUUID } from "node:crypto";
import type { Context } from "aws-lambda";

/** An HTTP function's timeout as deployed (API Gateway's limit), for local invocations. */
export const LOCAL_TIMEOUT_MS = 30_000;

/**
 * The Lambda context of one local invocation (the HTTP server's, or an in-process one): its
 * deadline runs from now, as Lambda's does, so middy's early timeout and the engine's retry budget
 * behave as deployed.
 */
export function lambdaContext(functionName: string, timeoutMs = LOCAL_TIMEOUT_MS): Context {
  const deadline = Date.now() + timeoutMs;
  const awsRequestId = randomUUID();
  const unsupported = (): never => {
    throw new Error("callback-style Lambda context methods are not supported locally");
  };
  return {
    callbackWaitsForEmptyEventLoop: true,
    functionName,
    functionVersion: "$LATEST",
    invokedFunctionArn: `arn:aws:lambda:us-east-1:000000000000:function:${functionName}`,
    memoryLimitInMB: "1024",
    awsRequestId,
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: `local/[$LATEST]${awsRequestId.replaceAll("-", "")}`,
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: unsupported,
    fail: unsupported,
    succeed: unsupported,
  };
}
