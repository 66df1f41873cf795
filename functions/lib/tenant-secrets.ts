import type { GetParameterCommand, SSMClient } from "@aws-sdk/client-ssm";
import { type TenantConfig, TenantSecrets } from "../../domain/tenant.js";

/** Puts a tenant's secrets in place when they live outside its stored configuration. */
export type SecretsResolver = (tenant: TenantConfig) => Promise<TenantConfig>;

interface Ssm {
  client: SSMClient;
  GetParameterCommand: typeof GetParameterCommand;
}

/** The container's SSM client, created on first use. */
let ssm: Promise<Ssm> | undefined;

/**
 * `@aws-sdk/client-ssm` is left out of the bundles (the Lambda runtime provides it), so this
 * `import()` stays a real dynamic import in them: the SSM client is loaded by the first tenant that
 * names a parameter, never by a cold start (a static import would be hoisted to the bundle's top).
 */
function ssmClient(): Promise<Ssm> {
  ssm ??= import("@aws-sdk/client-ssm").then(
    ({ SSMClient, GetParameterCommand }) => ({ client: new SSMClient({}), GetParameterCommand }),
    (error: unknown) => {
      ssm = undefined;
      throw error;
    },
  );
  return ssm;
}

/** Parameter values (parsed JSON, not yet validated) by name, per container. */
const cache = new Map<string, { value: unknown; until: number }>();

/**
 * Reads the secrets of tenants that name a `secretsParameter` from SSM Parameter Store (a
 * SecureString holding `{"crm": [...], "cpq": [...]}`), decrypted, and cached per container for
 * `maxAgeSeconds` so a rotation takes effect within that time. Tenants without one keep the
 * secrets of their stored configuration (the local server's `demo`, for one): no SSM call.
 */
export function ssmSecretsResolver(maxAgeSeconds: number): SecretsResolver {
  return async (tenant) => {
    const name = tenant.secretsParameter;
    if (!name) return tenant;
    const secrets = TenantSecrets.safeParse(await parameterValue(name, maxAgeSeconds));
    if (!secrets.success) {
      // The parameter's value stays out of the error: it is the secret.
      throw new Error(`SSM parameter ${name} is not {"crm": [...], "cpq": [...]}`);
    }
    return { ...tenant, secrets: secrets.data };
  };
}

/** The parameter's decrypted value parsed as JSON (`undefined` when it has none, or is not JSON). */
export async function parameterValue(name: string, maxAgeSeconds: number): Promise<unknown> {
  const cached = cache.get(name);
  if (cached && cached.until >= Date.now()) return cached.value;
  const { client, GetParameterCommand } = await ssmClient();
  const result = await client.send(new GetParameterCommand({ Name: name, WithDecryption: true }));
  const text = result.Parameter?.Value;
  if (text === undefined) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    // Not JSON: JSON.parse's message quotes the start of the value, so it is not passed on.
    return undefined;
  }
  if (maxAgeSeconds > 0) cache.set(name, { value, until: Date.now() + maxAgeSeconds * 1000 });
  return value;
}
