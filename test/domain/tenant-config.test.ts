import { describe, expect, it } from "vitest";
import { Connectors, deliversTo } from "../../domain/connectors.js";
import {
  demoTenant,
  fieldMapping,
  hubSpotPortalOf,
  isTenantId,
  secretsRuleForStage,
  TENANT_ID_PART,
  TenantConfig,
  type TenantConfigInput,
  TenantId,
} from "../../domain/tenant.js";

/**
 * A tenant's configuration (SPEC §6, CONNECTORS.md §1) parsed directly: its defaults, each rule on
 * both sides of its bound, and the helpers the engine and the connectors read it through. The CLI
 * and HTTP tests check the same refusals where a registration arrives.
 */

const SECRETS = { crm: ["crm-secret-1"], cpq: ["cpq-secret-1"] };
const tenant = (extra: Partial<TenantConfigInput> = {}) =>
  TenantConfig.parse({ tenantId: "acme", secrets: SECRETS, ...extra });

/** Every message of a refused configuration, nested ones included. */
function refusal(input: unknown): string[] {
  const result = TenantConfig.safeParse(input);
  expect(result.success).toBe(false);
  type Issue = { message: string; issues?: Issue[]; errors?: Issue[][] };
  const messages = (issues: Issue[]): string[] =>
    issues.flatMap((issue) => [
      issue.message,
      ...messages(issue.issues ?? []),
      ...(issue.errors ?? []).flatMap((branch) => messages(branch)),
    ]);
  return messages((result.error?.issues ?? []) as Issue[]);
}

describe("tenant ids", () => {
  it("1 to 64 lower-case letters, digits and -, not starting with -", () => {
    for (const id of ["a", "acme", "acme-eu-2", "9", "a".repeat(64)]) {
      expect(isTenantId(id), id).toBe(true);
      expect(TenantId.safeParse(id).success, id).toBe(true);
    }
    for (const id of ["", "-acme", "Acme", "acme_eu", "acme eu", "acme/", "a".repeat(65), "acme\n"]) {
      expect(isTenantId(id), JSON.stringify(id)).toBe(false);
      expect(TenantId.safeParse(id).success, JSON.stringify(id)).toBe(false);
    }
    expect(isTenantId(42)).toBe(false);
    expect(isTenantId(undefined)).toBe(false);
  });

  it("the unanchored part embeds the same rule in longer patterns", () => {
    const outbox = new RegExp(`^T#(${TENANT_ID_PART})#OUTBOX$`);
    expect(outbox.exec("T#acme-eu#OUTBOX")?.[1]).toBe("acme-eu");
    expect(outbox.test("T#-acme#OUTBOX")).toBe(false);
    expect(outbox.test("T#ACME#OUTBOX")).toBe(false);
  });
});

describe("defaults", () => {
  it("a tenant given only its id and secrets syncs live, on both triggers, natively on both sides", () => {
    const parsed = tenant();
    expect(parsed.policy).toEqual({
      mode: "live",
      triggers: ["cart.finalized", "quote.accepted"],
      acceptedStage: "Closed Won",
      milestoneStages: ["Negotiation", "Closed Won"],
      triggerSources: ["cpq"],
    });
    expect(parsed.approvals).toEqual({ maxDiscountPercent: null });
    expect(parsed.fields).toEqual({ quote: {}, quoteLine: {}, opportunity: {}, opportunityLine: {} });
    expect(parsed.permissions).toEqual({ start: [], stop: [], checkTriggers: false, triggerActor: null });
    expect(parsed.connectors).toEqual({ crm: { kind: "native" }, cpq: { kind: "native" } });
    expect(parsed.secretsParameter).toBeUndefined();
  });

  it("a discount limit given as a number is kept as its decimal string", () => {
    expect(tenant({ approvals: { maxDiscountPercent: 12.5 } }).approvals.maxDiscountPercent).toBe("12.5");
    expect(tenant({ approvals: { maxDiscountPercent: "20" } }).approvals.maxDiscountPercent).toBe("20");
  });
});

describe("secrets", () => {
  it("one to five secrets a side, each of 8 characters at least", () => {
    expect(
      tenant({ secrets: { crm: ["12345678"], cpq: ["a", "b", "c", "d", "e"].map((s) => s.repeat(8)) } }),
    ).toBeTruthy();
    expect(
      TenantConfig.safeParse({ tenantId: "acme", secrets: { crm: ["1234567"], cpq: ["12345678"] } }).success,
    ).toBe(false);
    const six = Array.from({ length: 6 }, (_, i) => `secret-${i}-x`);
    expect(
      TenantConfig.safeParse({ tenantId: "acme", secrets: { crm: six, cpq: ["12345678"] } }).success,
    ).toBe(false);
  });

  it("no secrets and no parameter is refused, naming both ways", () => {
    expect(refusal({ tenantId: "acme" })).toContain(
      "give the secrets (crm and cpq, at least one each) or a secretsParameter",
    );
    expect(refusal({ tenantId: "acme", secrets: { crm: [], cpq: [] } })).toContain(
      "give the secrets (crm and cpq, at least one each) or a secretsParameter",
    );
  });

  it("a parameter lives under /quotesync/ (the functions' IAM policy), below it, and is a valid SSM name", () => {
    const withParameter = (secretsParameter: string) => ({ tenantId: "acme", secretsParameter });
    expect(TenantConfig.parse(withParameter("/quotesync/acme/secrets")).secrets).toEqual({
      crm: [],
      cpq: [],
    });
    expect(refusal(withParameter("/other/acme/secrets"))).toContain(
      "the functions may read only parameters under /quotesync/ (their IAM policy): e.g. /quotesync/acme/secrets",
    );
    expect(refusal(withParameter("/quotesync/")).join(" ")).toMatch(/only parameters under \/quotesync\//);
    expect(refusal(withParameter("quotesync/acme"))).toContain(
      "an SSM parameter name such as /quotesync/acme/secrets",
    );
    expect(refusal(withParameter("/quotesync/acme secrets"))).toContain(
      "an SSM parameter name such as /quotesync/acme/secrets",
    );
  });

  it("outside the local stage, secrets come from SSM only", () => {
    const inTable = tenant();
    const inSsm = TenantConfig.parse({ tenantId: "acme", secretsParameter: "/quotesync/acme/secrets" });
    expect(secretsRuleForStage(inTable, "local")).toBeNull();
    expect(secretsRuleForStage(inSsm, "prod")).toBeNull();
    expect(secretsRuleForStage(inTable, "prod")).toBe(
      "outside the local stage (here: prod) secrets live in SSM: give secretsParameter (under /quotesync/) and leave secrets empty",
    );
    // A parameter beside secrets in the table is refused as well: the table must not hold them.
    const both = TenantConfig.parse({
      tenantId: "acme",
      secrets: SECRETS,
      secretsParameter: "/quotesync/acme/s",
    });
    expect(secretsRuleForStage(both, "prod")).not.toBeNull();
    const cpqOnly = { ...inSsm, secrets: { crm: [], cpq: ["cpq-secret-1"] } };
    expect(secretsRuleForStage(cpqOnly, "dev")).not.toBeNull();
    // A stored record with neither (written before the rule): refused too, not taken as SSM's.
    const neither = { ...inSsm, secretsParameter: undefined, secrets: { crm: [], cpq: [] } };
    expect(secretsRuleForStage(neither, "prod")).not.toBeNull();
  });
});

describe("policy", () => {
  it("trigger sources: EventBridge source names, 1 to 10 of them, never aws.*", () => {
    const sources = (triggerSources: string[]) => ({
      tenantId: "acme",
      secrets: SECRETS,
      policy: { triggerSources },
    });
    expect(
      TenantConfig.parse(sources(["cpq", "com.example.cpq", "a/b-c_d"])).policy.triggerSources,
    ).toHaveLength(3);
    expect(refusal(sources(["aws.events"]))).toContain("sources starting with aws. are AWS's own");
    expect(refusal(sources([".cpq"]))).toContain("an EventBridge source such as cpq or com.example.cpq");
    expect(refusal(sources(["cpq!"]))).toContain("an EventBridge source such as cpq or com.example.cpq");
    expect(TenantConfig.safeParse(sources([])).success).toBe(false);
    expect(TenantConfig.safeParse(sources(Array.from({ length: 11 }, (_, i) => `s${i}`))).success).toBe(
      false,
    );
    expect(TenantConfig.safeParse(sources(["x".repeat(256)])).success).toBe(true);
    expect(TenantConfig.safeParse(sources(["x".repeat(257)])).success).toBe(false);
  });

  it("stages are 1 to 120 characters; triggers only the two automatic ones", () => {
    const policy = (value: object) =>
      TenantConfig.safeParse({ tenantId: "acme", secrets: SECRETS, policy: value }).success;
    expect(policy({ acceptedStage: "x".repeat(120) })).toBe(true);
    expect(policy({ acceptedStage: "x".repeat(121) })).toBe(false);
    expect(policy({ acceptedStage: "" })).toBe(false);
    expect(policy({ milestoneStages: [""] })).toBe(false);
    expect(policy({ triggers: ["quote.accepted"] })).toBe(true);
    expect(policy({ triggers: ["quote.upserted"] })).toBe(false);
    expect(policy({ mode: "hourly" })).toBe(false);
  });
});

describe("custom fields", () => {
  it("declared names are identifiers and types one of four", () => {
    const fields = (quote: object) =>
      TenantConfig.safeParse({ tenantId: "acme", secrets: SECRETS, fields: { quote } }).success;
    expect(fields({ Region__c: "string", n: "number", b: "boolean", d: "date" })).toBe(true);
    expect(fields({ "9x": "string" })).toBe(false);
    expect(fields({ "a-b": "string" })).toBe(false);
    expect(fields({ x: "text" })).toBe(false);
  });

  it("a field maps only where both sides declare the same name with the same type", () => {
    const mapping = fieldMapping(demoTenant({ crm: "crm-secret-1", cpq: "cpq-secret-1" }));
    expect([...mapping.headers]).toEqual(["Region__c"]);
    // Term_Months__c is a number on the quote line and a string on the opportunity line: not mapped.
    expect([...mapping.lines]).toEqual(["Color__c"]);
    const inherited = tenant({
      fields: { quoteLine: { toString: "string" } } as TenantConfigInput["fields"],
    });
    expect([...fieldMapping(inherited).lines]).toEqual([]);
  });
});

describe("connectors", () => {
  const hubspot = (portalId: number) => ({ kind: "hubspot", portalId, appId: 7 });

  it("HubSpot sides default their base URL, stages and rate; both sides must name one portal", () => {
    const both = Connectors.parse({ crm: hubspot(42), cpq: hubspot(42) });
    expect(both.crm).toMatchObject({
      baseUrl: "https://api.hubapi.com",
      stages: {},
      requestsPer10Seconds: 80,
    });
    const mismatch = Connectors.safeParse({ crm: hubspot(42), cpq: hubspot(43) });
    expect(mismatch.success).toBe(false);
    expect(mismatch.error?.issues).toEqual([
      expect.objectContaining({
        path: ["cpq", "portalId"],
        message: "both sides on HubSpot must be the same portal",
      }),
    ]);
    expect(Connectors.safeParse({ crm: hubspot(42), cpq: { kind: "native" } }).success).toBe(true);
  });

  it("the portal a tenant names, from either side", () => {
    expect(hubSpotPortalOf(tenant())).toBeNull();
    expect(
      hubSpotPortalOf(tenant({ connectors: { crm: hubspot(42) } as TenantConfigInput["connectors"] })),
    ).toBe(42);
    expect(
      hubSpotPortalOf(tenant({ connectors: { cpq: hubspot(43) } as TenantConfigInput["connectors"] })),
    ).toBe(43);
  });

  it("URLs are http(s) only", () => {
    const delivery = (url: string) =>
      Connectors.safeParse({ crm: { kind: "native", delivery: { kind: "webhook", url } } }).success;
    expect(delivery("https://example.com/mirrors")).toBe(true);
    expect(delivery("http://localhost:8080/x")).toBe(true);
    expect(delivery("ftp://example.com/x")).toBe(false);
    expect(delivery("not a url")).toBe(false);
    expect(delivery(`https://example.com/${"x".repeat(2048)}`)).toBe(false);
  });

  it("Salesforce ids and names follow Salesforce's formats", () => {
    const salesforce = (extra: object) =>
      Connectors.safeParse({
        crm: {
          kind: "salesforce",
          orgId: "00D000000000001",
          loginUrl: "https://acme.my.salesforce.com",
          ...extra,
        },
      });
    const parsed = salesforce({});
    expect(parsed.success).toBe(true);
    expect(parsed.data?.crm).toMatchObject({
      apiVersion: "62.0",
      syncKeyField: "QS_Sync_Key__c",
      productKey: { kind: "id" },
      multiCurrency: false,
      currency: "USD",
    });
    expect(salesforce({ orgId: "00D000000000001AAA" }).success).toBe(true);
    expect(salesforce({ orgId: "00X000000000001" }).success).toBe(false);
    expect(salesforce({ orgId: "00D00000000001" }).success).toBe(false);
    expect(salesforce({ apiVersion: "62" }).success).toBe(false);
    expect(salesforce({ syncKeyField: "QS_Sync_Key" }).success).toBe(false);
    expect(salesforce({ integrationUserId: "005000000000001" }).success).toBe(true);
    expect(salesforce({ integrationUserId: "006000000000001" }).success).toBe(false);
    expect(salesforce({ pricebookId: "01s000000000001" }).success).toBe(true);
    expect(salesforce({ pricebookId: "01t000000000001" }).success).toBe(false);
    expect(salesforce({ productKey: { kind: "externalId", field: "Code__c" } }).success).toBe(true);
    expect(salesforce({ productKey: { kind: "externalId", field: "9x" } }).success).toBe(false);
    expect(salesforce({ unknownSetting: true }).success).toBe(false);
  });

  it("a side is delivered to when it is a vendor's or has a webhook", () => {
    expect(deliversTo({ kind: "native" })).toBe(false);
    expect(deliversTo({ kind: "native", delivery: { kind: "webhook", url: "https://example.com" } })).toBe(
      true,
    );
    expect(deliversTo(Connectors.parse({ crm: hubspot(42) }).crm)).toBe(true);
  });
});
