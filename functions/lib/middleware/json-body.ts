import type { MiddlewareObj } from "@middy/core";
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from "aws-lambda";
import { RequestRejected } from "../http-errors.js";
import { MAX_JSON_DEPTH, nestsDeeperThan, reservedKeyPaths } from "../json-guard.js";
import type { VerifiedTenantContext } from "./verified-tenant.js";

/** What `jsonBody` adds to the context: the parsed body (`undefined` for an allowed empty one). */
export interface JsonBodyContext {
  body: unknown;
}

/**
 * Parses the verified raw body as JSON, after the signature check (used after `verifiedTenant`):
 * 400 `malformed_json`, or 422 for a body nested too deep or using a reserved key.
 */
export function jsonBody(
  options: { allowEmpty?: boolean } = {},
): MiddlewareObj<
  APIGatewayProxyEventV2,
  APIGatewayProxyStructuredResultV2,
  Error,
  Context & VerifiedTenantContext & JsonBodyContext
> {
  return {
    before: function jsonBodyBefore(request) {
      request.context = { ...request.context, body: parseJsonBody(request.context.rawBody, options) };
    },
  };
}

/** Parses the raw body as JSON (400 malformed_json); an empty body is `undefined` when allowed. */
export function parseJsonBody(rawBody: Buffer, options: { allowEmpty?: boolean } = {}): unknown {
  const text = rawBody.toString("utf8");
  if (text.trim() === "") {
    if (options.allowEmpty) return undefined;
    throw new RequestRejected(400, "malformed_json", "the body is empty; expected a JSON object");
  }
  if (nestsDeeperThan(text)) {
    throw new RequestRejected(422, "invalid_event", `the body nests deeper than ${MAX_JSON_DEPTH} levels`, [
      { path: [], message: `at most ${MAX_JSON_DEPTH} levels of nesting` },
    ]);
  }
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch (error) {
    throw new RequestRejected(
      400,
      "malformed_json",
      `the body is not valid JSON: ${(error as Error).message}`,
      [],
      { cause: error },
    );
  }
  const reserved = reservedKeyPaths(body);
  if (reserved.length > 0) {
    throw new RequestRejected(
      422,
      "invalid_event",
      "the body uses a reserved key (__proto__, constructor, prototype)",
      reserved.map((path) => ({ path, message: "reserved key" })),
    );
  }
  return body;
}
