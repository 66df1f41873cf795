import { GetParameterCommand, SSMClient } from "@aws-sdk/client-ssm";
import { mockClient } from "aws-sdk-client-mock";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import { TenantConfig } from "../../domain/tenant.js";
import { ssmSecretsResolver } from "../../functions/lib/tenant-secrets.js";
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

describe("ssmSecretsResolver", () => {
  const SECRETS = { crm: ["crm-secret-one"], cpq: ["cpq-secret-one"] };
  const tenantWith = (secretsParameter: string) =>
    TenantConfig.parse({ tenantId: "vault", secretsParameter });
  beforeEach(() => ssm.reset());
  afterEach(() => vi.useRealTimers());

  it("leaves a tenant without a parameter as it is, with no SSM call", async () => {
    const demo = TenantConfig.parse({ tenantId: "demo", secrets: SECRETS });
    expect(await ssmSecretsResolver(300)(demo)).toBe(demo);
    expect(ssm.commandCalls(GetParameterCommand)).toHaveLength(0);
  });

  it("reads the parameter again once maxAgeSeconds have passed, so a rotation takes effect", async () => {
    vi.useFakeTimers({ toFake: ["Date"] });
    const name = "/quotesync/rotating/secrets";
    ssm
      .on(GetParameterCommand, { Name: name, WithDecryption: true })
      .resolvesOnce({ Parameter: { Value: JSON.stringify(SECRETS) } })
      .resolves({
        Parameter: { Value: JSON.stringify({ crm: ["crm-secret-two"], cpq: ["cpq-secret-two"] }) },
      });
    const resolve = ssmSecretsResolver(60);
    expect((await resolve(tenantWith(name))).secrets).toEqual(SECRETS);
    vi.advanceTimersByTime(59_000);
    expect((await resolve(tenantWith(name))).secrets).toEqual(SECRETS);
    expect(ssm.commandCalls(GetParameterCommand)).toHaveLength(1);
    vi.advanceTimersByTime(2_000);
    expect((await resolve(tenantWith(name))).secrets.crm).toEqual(["crm-secret-two"]);
    expect(ssm.commandCalls(GetParameterCommand)).toHaveLength(2);
  });

  it("does not cache with a max age of 0", async () => {
    const name = "/quotesync/uncached/secrets";
    ssm.on(GetParameterCommand, { Name: name }).resolves({ Parameter: { Value: JSON.stringify(SECRETS) } });
    const resolve = ssmSecretsResolver(0);
    await resolve(tenantWith(name));
    await resolve(tenantWith(name));
    expect(ssm.commandCalls(GetParameterCommand)).toHaveLength(2);
  });

  it("refuses a value that is not the secrets, and keeps the value out of the error", async () => {
    const resolve = ssmSecretsResolver(300);
    for (const [name, value] of [
      ["/quotesync/not-json/secrets", "crm-secret-one,cpq-secret-one"],
      ["/quotesync/wrong-shape/secrets", JSON.stringify({ crm: "crm-secret-one" })],
      ["/quotesync/empty/secrets", undefined],
    ] as const) {
      ssm.on(GetParameterCommand, { Name: name }).resolves({ Parameter: { Value: value } });
      const failure = resolve(tenantWith(name));
      await expect(failure).rejects.toThrow(`SSM parameter ${name} is not {"crm": [...], "cpq": [...]}`);
      await expect(failure).rejects.not.toThrow(/secret-one/);
    }
  });

  it("passes an SSM failure on", async () => {
    const name = "/quotesync/denied/secrets";
    ssm
      .on(GetParameterCommand, { Name: name })
      .rejects(new Error("User is not authorized to perform ssm:GetParameter"));
    await expect(ssmSecretsResolver(300)(tenantWith(name))).rejects.toThrow(
      "User is not authorized to perform ssm:GetParameter",
    );
  });
});
