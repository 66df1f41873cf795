import { GetParameterCommand, SSMClient } from "@aws-sdk/client-ssm";
import { mockClient } from "aws-sdk-client-mock";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TenantConfig } from "../../domain/tenant.js";
import { opportunityUpserted } from "../support/events.js";
import { handlerHarness } from "../support/handlers.js";

process.env.AWS_REGION ??= "us-east-1";
const ssm = mockClient(SSMClient);

/** A tenant whose secrets live in Parameter Store, not in its stored configuration. */
const ssmTenant = TenantConfig.parse({ tenantId: "vault", secretsParameter: "/quotesync/vault/secrets" });

let h: Awaited<ReturnType<typeof handlerHarness>>;
beforeAll(async () => {
  h = await handlerHarness({ tenants: [ssmTenant] });
});
afterAll(async () => {
  ssm.restore();
  await h.dispose();
});

describe("tenant secrets from SSM Parameter Store", () => {
  it("accepts a tenant configuration without secrets only when it names a parameter", () => {
    expect(ssmTenant.secrets).toEqual({ crm: [], cpq: [] });
    expect(TenantConfig.safeParse({ tenantId: "bare" }).success).toBe(false);
  });

  it("verifies signatures with the decrypted parameter, reads it once per cache period, and never with the stored (empty) secrets", async () => {
    ssm.on(GetParameterCommand, { Name: "/quotesync/vault/secrets", WithDecryption: true }).resolves({
      Parameter: { Value: JSON.stringify({ crm: ["vault-crm-secret"], cpq: ["vault-cpq-secret"] }) },
    });
    const ok = await h.request("POST", "/webhooks/crm/vault", {
      body: opportunityUpserted("opp-vault-1"),
      secret: "vault-crm-secret",
    });
    expect(ok.statusCode).toBe(200);
    const again = await h.request("POST", "/webhooks/crm/vault", {
      body: opportunityUpserted("opp-vault-2"),
      secret: "vault-crm-secret",
    });
    expect(again.statusCode).toBe(200);
    expect(ssm.commandCalls(GetParameterCommand)).toHaveLength(1);

    const wrong = await h.request("POST", "/webhooks/crm/vault", {
      body: opportunityUpserted("opp-vault-3"),
      secret: "vault-cpq-secret",
    });
    expect(wrong.statusCode).toBe(401);
  });
});
