import { type TenantConfig, TenantSecrets } from "../../domain/tenant.js";

/** Puts a tenant's secrets in place when they live outside its stored configuration. */
export type SecretsResolver = (tenant: TenantConfig) => Promise<TenantConfig>;

/**
 * Reads the secrets of tenants that name a `secretsParameter` from SSM Parameter Store (a
 * SecureString holding `{"crm": [...], "cpq": [...]}`), decrypted, and cached per container for
 * `maxAgeSeconds` so a rotation takes effect within that time. Tenants without one keep the
 * secrets of their stored configuration (the local server's `demo`, for one): no SSM call.
 */
export function ssmSecretsResolver(maxAgeSeconds: number): SecretsResolver {
  return async (tenant) => {
    if (!tenant.secretsParameter) return tenant;
    // Loaded on first use: tenants without a parameter, and every cold start, skip the SSM client.
    const { getParameter } = await import("@aws-lambda-powertools/parameters/ssm");
    const value = await getParameter(tenant.secretsParameter, {
      decrypt: true,
      transform: "json",
      maxAge: maxAgeSeconds,
    });
    const secrets = TenantSecrets.safeParse(value);
    if (!secrets.success) {
      // The parameter's value stays out of the error: it is the secret.
      throw new Error(`SSM parameter ${tenant.secretsParameter} is not {"crm": [...], "cpq": [...]}`);
    }
    return { ...tenant, secrets: secrets.data };
  };
}
