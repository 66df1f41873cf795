import { PortalInUse } from "../domain/errors.js";
import { maskedTenant, parseTenantRegistration } from "../domain/tenant-registration.js";
import { runtime, setRuntime } from "../functions/lib/runtime.js";
import type { ExtraRouteResult } from "./http-adapter.js";

/**
 * `PUT /local/tenants/{tenantId}`: registers (or replaces) a tenant on the running local server,
 * from the same JSON and with the same validation as `quotesync tenant put` (local stage). The
 * body's `tenantId` may be left out; given, it must be the path's. Answers the stored tenant with
 * its secrets and credentials masked; 400/422 and nothing written for a bad body.
 */
export async function registerLocalTenant(tenantId: string, body: string): Promise<ExtraRouteResult> {
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch (error) {
    return failure(400, "malformed_json", `the body is not JSON: ${(error as Error).message}`, []);
  }
  if (typeof json !== "object" || json === null || Array.isArray(json)) {
    return failure(400, "malformed_json", "expected a JSON object: the tenant configuration", []);
  }
  const given = (json as Record<string, unknown>).tenantId;
  if (given !== undefined && given !== tenantId) {
    return failure(422, "invalid_tenant", "the body's tenantId differs from the path's", [
      { path: ["tenantId"], message: `expected ${JSON.stringify(tenantId.slice(0, 64))}` },
    ]);
  }
  const parsed = parseTenantRegistration({ ...json, tenantId }, "local");
  if (!parsed.ok) {
    const first = parsed.issues[0];
    const where = first?.path.length ? first.path.map(String).join(".") : "(top level)";
    return failure(422, "invalid_tenant", `not a valid tenant: ${where}: ${first?.message}`, parsed.issues);
  }
  try {
    await runtime().store.putTenant(parsed.tenant);
  } catch (error) {
    if (!(error instanceof PortalInUse)) throw error;
    return failure(409, "portal_in_use", error.message, [
      { portalId: error.portalId, tenantId: error.ownerTenantId },
    ]);
  }
  // A fresh runtime: its tenant cache must not keep serving the configuration just replaced.
  setRuntime(undefined);
  return { statusCode: 200, body: JSON.stringify(maskedTenant(parsed.tenant)) };
}

function failure(statusCode: number, code: string, message: string, details: unknown[]): ExtraRouteResult {
  return {
    statusCode,
    body: JSON.stringify({
      error: {
        code,
        message,
        details: details.map((detail) =>
          typeof detail === "object" && detail !== null && "path" in detail
            ? { ...detail, path: (detail as { path: PropertyKey[] }).path.map(String) }
            : detail,
        ),
      },
    }),
  };
}
