import type { APIGatewayProxyEventV2 } from "aws-lambda";
import type { TenantConfig } from "../../domain/tenant.js";
import { RequestRejected } from "./http-errors.js";
import { SIGNATURE_HEADER, signedRequestDigest, verifySignature } from "./signature.js";

export const MAX_BODY_BYTES = 1024 * 1024;

/** Which secrets a route accepts: the CRM's, the CPQ's, or either (SPEC §2). */
export type Audience = "crm" | "cpq" | "either";

/** The raw body bytes exactly as received (API Gateway may hand them over base64-encoded). */
export function rawBodyOf(event: APIGatewayProxyEventV2): Buffer {
  const body = event.body ?? "";
  return event.isBase64Encoded ? Buffer.from(body, "base64") : Buffer.from(body, "utf8");
}

export function pathWithQuery(event: APIGatewayProxyEventV2): string {
  return event.rawQueryString ? `${event.rawPath}?${event.rawQueryString}` : event.rawPath;
}

/**
 * Verifies the request signature on the raw bytes, before anything parses them: size first
 * (413), then the HMAC against the audience's secrets in constant time (401).
 */
export function authenticate(
  event: APIGatewayProxyEventV2,
  tenant: TenantConfig | null,
  audience: Audience,
  nowSeconds: number,
): Buffer {
  const raw = rawBodyOf(event);
  if (raw.length > MAX_BODY_BYTES) {
    throw new RequestRejected(413, "payload_too_large", `bodies are limited to ${MAX_BODY_BYTES} bytes`);
  }
  // With no tenant there is no secret: verification fails (http-function answers 404 before this).
  const secrets = tenant
    ? audience === "either"
      ? [...tenant.secrets.crm, ...tenant.secrets.cpq]
      : tenant.secrets[audience]
    : [];
  const verdict = verifySignature({
    header: event.headers?.[SIGNATURE_HEADER],
    secrets,
    method: event.requestContext.http.method,
    pathWithQuery: pathWithQuery(event),
    rawBody: raw,
    nowSeconds,
  });
  if (!verdict.ok) {
    throw new RequestRejected(401, "invalid_signature", `signature ${verdict.reason}`);
  }
  return raw;
}

/**
 * The identity of an authenticated request: copies of one signed request (a replay within the
 * signature window) share it; any new request, signed at another second or with another body or
 * path, has its own. Start/stop without `eventId` use it as their idempotency key.
 */
export function signedRequestKey(event: APIGatewayProxyEventV2, rawBody: Buffer): string | undefined {
  return signedRequestDigest({
    header: event.headers?.[SIGNATURE_HEADER],
    method: event.requestContext.http.method,
    pathWithQuery: pathWithQuery(event),
    rawBody,
  });
}
