import type { APIGatewayProxyEventV2 } from "aws-lambda";
import { EntityId } from "../../domain/events.js";
import { RequestRejected } from "./http-errors.js";

/**
 * A record id taken from the path, held to the same rule as ids in bodies (`LIMITS.idLength`,
 * the id alphabet): a 422 naming the parameter otherwise, without quoting the value back, so
 * a huge or hostile id never reaches a storage key, a log line or an answer.
 */
export function pathId(event: APIGatewayProxyEventV2, name: "quoteId" | "opportunityId"): string {
  const parsed = EntityId.safeParse(event.pathParameters?.[name] ?? "");
  if (parsed.success) return parsed.data;
  throw new RequestRejected(
    422,
    "invalid_event",
    `the path parameter ${name} is not a valid id`,
    parsed.error.issues.map((issue) => ({ path: ["pathParameters", name], message: issue.message })),
  );
}
