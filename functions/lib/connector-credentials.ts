import { type ConnectorSide, CpqConnector, CrmConnector } from "../../domain/connectors.js";
import type { Source } from "../../domain/model.js";
import type { TenantConfig } from "../../domain/tenant.js";
import { parameterValue } from "./tenant-secrets.js";

/** A side's connector with the credentials it keeps outside the stored configuration merged in. */
export type ConnectorResolver = (tenant: TenantConfig, side: Source) => Promise<ConnectorSide>;

/**
 * Reads a side's `credentialsParameter` (an SSM SecureString holding a JSON object, e.g.
 * `{"accessToken": "…"}` or `{"delivery": {"secret": "…"}}`), decrypted and cached per container
 * like the tenant secrets, and merges it over the side's stored settings; the result is validated
 * again. A side without a parameter is returned as stored. Values never reach a log or an error.
 */
export function ssmConnectorResolver(maxAgeSeconds: number): ConnectorResolver {
  return async (tenant, side) => {
    const stored = tenant.connectors[side];
    const name = stored.credentialsParameter;
    if (!name) return stored;
    const value = await parameterValue(name, maxAgeSeconds);
    return mergeCredentials(stored, value, side, name);
  };
}

/** The stored side with the credentials object merged in (`delivery` merged one level deeper). */
export function mergeCredentials(
  stored: ConnectorSide,
  value: unknown,
  side: Source,
  name: string,
): ConnectorSide {
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    throw new Error(`SSM parameter ${name} is not a JSON object of credentials`);
  }
  const credentials = value as Record<string, unknown>;
  const merged: Record<string, unknown> = { ...stored, ...credentials, kind: stored.kind };
  if (stored.kind === "native" && stored.delivery) {
    const delivery = credentials.delivery;
    merged.delivery = {
      ...stored.delivery,
      ...(delivery && typeof delivery === "object" ? delivery : {}),
      ...(typeof credentials.secret === "string" ? { secret: credentials.secret } : {}),
    };
    delete merged.secret;
  }
  const parsed = (side === "crm" ? CrmConnector : CpqConnector).safeParse(merged);
  if (!parsed.success) {
    // Which fields are wrong, never their values: they are credentials.
    const fields = [...new Set(parsed.error.issues.map((issue) => issue.path.join(".")))].join(", ");
    throw new Error(`SSM parameter ${name} does not complete the ${side} connector (check: ${fields})`);
  }
  return parsed.data;
}
