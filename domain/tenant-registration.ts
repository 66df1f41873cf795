import type { ConnectorSide } from "./connectors.js";
import { TenantConfig } from "./tenant.js";

/** Where a tenant is registered: the local server (credentials may be inline) or a deployed stage. */
export type RegistrationStage = "local" | "deployed";

export interface RegistrationIssue {
  path: PropertyKey[];
  message: string;
}

export type Registration = { ok: true; tenant: TenantConfig } | { ok: false; issues: RegistrationIssue[] };

/** Connector fields that are credentials: never stored inline in a deployed stage, never shown. */
const CREDENTIAL_FIELDS = ["accessToken", "clientSecret", "clientId", "oauth"] as const;

/** SSM parameters quotesync's functions may read (their IAM policy names this prefix). */
export const PARAMETER_PREFIX = "/quotesync/";

/**
 * Validates a tenant configuration for registration (`quotesync tenant put`, and the local server's
 * `PUT /local/tenants/{tenantId}`): the tenant schema, then the connector rules of CONNECTORS §1 —
 * a webhook delivery has a secret (inline or in its `credentialsParameter`), parameters live under
 * `/quotesync/`, and in a deployed stage credentials live in SSM only and delivery URLs are https.
 */
export function parseTenantRegistration(json: unknown, stage: RegistrationStage): Registration {
  const parsed = TenantConfig.safeParse(json);
  if (!parsed.success) {
    return {
      ok: false,
      issues: parsed.error.issues.map((issue) => ({ path: issue.path, message: issue.message })),
    };
  }
  const tenant = parsed.data;
  const issues: RegistrationIssue[] = [];
  for (const side of ["crm", "cpq"] as const) {
    issues.push(...connectorIssues(tenant.connectors[side], ["connectors", side], stage));
  }
  return issues.length > 0 ? { ok: false, issues } : { ok: true, tenant };
}

function connectorIssues(
  connector: ConnectorSide,
  at: PropertyKey[],
  stage: RegistrationStage,
): RegistrationIssue[] {
  const issues: RegistrationIssue[] = [];
  const parameter = connector.credentialsParameter;
  if (parameter !== undefined && !parameter.startsWith(PARAMETER_PREFIX)) {
    issues.push({
      path: [...at, "credentialsParameter"],
      message: `SSM parameters live under ${PARAMETER_PREFIX} (the functions may read nothing else)`,
    });
  }
  const inline: PropertyKey[][] = [];
  if (connector.kind === "native") {
    if (connector.delivery) {
      if (connector.delivery.secret === undefined && parameter === undefined) {
        issues.push({
          path: [...at, "delivery", "secret"],
          message: "a webhook delivery needs a secret (or a credentialsParameter holding it)",
        });
      }
      if (connector.delivery.secret !== undefined) inline.push([...at, "delivery", "secret"]);
      if (stage === "deployed" && !connector.delivery.url.startsWith("https://")) {
        issues.push({
          path: [...at, "delivery", "url"],
          message: "deployed, mirrors are delivered over https only",
        });
      }
    }
  } else {
    for (const field of CREDENTIAL_FIELDS) {
      if (field in connector && (connector as Record<string, unknown>)[field] !== undefined)
        inline.push([...at, field]);
    }
    if (stage === "deployed" && parameter === undefined) {
      issues.push({
        path: [...at, "credentialsParameter"],
        message:
          "outside the local stage, a connector's credentials live in SSM: give a credentialsParameter",
      });
    }
  }
  if (stage === "deployed") {
    for (const path of inline) {
      issues.push({
        path,
        message:
          "outside the local stage, credentials are not stored inline: put them in the credentialsParameter",
      });
    }
  }
  return issues;
}

/** The tenant as it may be shown: secrets and connector credentials masked, nothing else changed. */
export function maskedTenant(tenant: TenantConfig): unknown {
  const mask = (value: unknown) => (value === undefined ? undefined : "********");
  const maskSide = (connector: ConnectorSide): Record<string, unknown> => {
    const shown: Record<string, unknown> = { ...connector };
    for (const field of CREDENTIAL_FIELDS) if (field in shown) shown[field] = mask(shown[field]);
    if (connector.kind === "native" && connector.delivery) {
      shown.delivery = {
        ...connector.delivery,
        ...(connector.delivery.secret ? { secret: "********" } : {}),
      };
    }
    return shown;
  };
  return {
    ...tenant,
    secrets: { crm: tenant.secrets.crm.map(() => "********"), cpq: tenant.secrets.cpq.map(() => "********") },
    connectors: { crm: maskSide(tenant.connectors.crm), cpq: maskSide(tenant.connectors.cpq) },
  };
}
