import type { MiddlewareObj } from "@middy/core";
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from "aws-lambda";
import { isTenantId, type TenantConfig } from "../../../domain/tenant.js";
import { type Audience, authenticate } from "../authenticate.js";
import { RequestRejected } from "../http-errors.js";
import { type Runtime, runtime } from "../runtime.js";

/** What `verifiedTenant` adds to the context. */
export interface VerifiedTenantContext {
  tenant: TenantConfig;
  /** The body's bytes exactly as signed. */
  rawBody: Buffer;
  runtime: Runtime;
}

/**
 * The tenant of the path, then the request signature checked on the raw bytes before anything
 * parses them: 404 for a tenant id that is malformed or unknown, 413 for an oversized body, 401
 * for a signature none of the audience's secrets made.
 */
export function verifiedTenant(
  audience: Audience,
): MiddlewareObj<
  APIGatewayProxyEventV2,
  APIGatewayProxyStructuredResultV2,
  Error,
  Context & VerifiedTenantContext
> {
  return {
    before: async function verifiedTenantBefore(request) {
      const { event } = request;
      const tenantId = event.pathParameters?.tenantId ?? "";
      const rt = runtime();
      const tenant = isTenantId(tenantId) ? await rt.loadTenant(tenantId) : null;
      if (!tenant) {
        throw new RequestRejected(404, "not_found", `tenant ${tenantId.slice(0, 64)} not found`, [
          { resource: "tenant" },
        ]);
      }
      const rawBody = authenticate(event, tenant, audience, Math.floor(Date.now() / 1000));
      request.context = { ...request.context, tenant, rawBody, runtime: rt };
    },
  };
}
