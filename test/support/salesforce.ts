import { type ApplyContext, MemoryConnectorStore, type TargetState } from "../../connectors/applier.js";
import { FakeSalesforce, type RelayedEvent } from "../../connectors/salesforce/fake/server.js";
import type { SalesforceConnector } from "../../domain/connectors.js";
import { TenantConfig } from "../../domain/tenant.js";

export const ORG_ID = "00D5g000004SxyzEAC";
export const INTEGRATION_USER = "005000000000001AAA";

/** A fake Salesforce org with a price book of `products` products (P1…Pn at 10.00 + n). */
export async function startFakeSalesforce(
  options: {
    products?: number;
    onEvent?: (event: RelayedEvent) => Promise<void> | void;
    multiCurrency?: boolean;
  } = {},
) {
  const fake = new FakeSalesforce({
    orgId: ORG_ID,
    clientId: "quotesync-app",
    clientSecret: "app-secret",
    integrationUserId: INTEGRATION_USER,
    customFields: { OpportunityLineItem: ["Color__c"], Opportunity: ["Region__c"] },
    ...(options.multiCurrency ? { multiCurrency: true } : {}),
    relay: options.onEvent ? { onEvent: options.onEvent } : {},
  });
  const pricebookId = fake.org.addPricebook("Standard");
  const products = new Map<string, string>();
  for (let n = 1; n <= (options.products ?? 10); n++) {
    const productId = fake.org.addProduct({ Name: `Product ${n}`, ProductCode: `P${n}` });
    fake.org.addPricebookEntry({
      Pricebook2Id: pricebookId,
      Product2Id: productId,
      UnitPrice: `${10 + n}.00`,
    });
    products.set(`P${n}`, productId);
  }
  await fake.listen();
  return { fake, pricebookId, products };
}

/** A tenant whose CRM is the fake org. */
export function salesforceTenant(baseUrl: string, pricebookId: string, tenantId = "acme"): TenantConfig {
  return TenantConfig.parse({
    tenantId,
    secrets: { crm: ["crm-secret-0001"], cpq: ["cpq-secret-0001"] },
    policy: { mode: "live" },
    approvals: { maxDiscountPercent: "20" },
    fields: {
      quoteLine: { Color__c: "string" },
      opportunityLine: { Color__c: "string" },
      quote: { Region__c: "string" },
      opportunity: { Region__c: "string" },
    },
    connectors: {
      crm: {
        kind: "salesforce",
        orgId: ORG_ID,
        loginUrl: baseUrl,
        clientId: "quotesync-app",
        clientSecret: "app-secret",
        integrationUserId: INTEGRATION_USER,
        pricebookId,
      },
    },
  });
}

export function salesforceConnector(tenant: TenantConfig): SalesforceConnector {
  if (tenant.connectors.crm.kind !== "salesforce") throw new Error("not a Salesforce tenant");
  return tenant.connectors.crm;
}

/** An apply context on a memory connector store, keeping the pair's target state between calls. */
export function applyContext(tenant: TenantConfig, store = new MemoryConnectorStore()) {
  const state: { lineIds: Record<string, string>; facts: Record<string, string> } = {
    lineIds: {},
    facts: {},
  };
  const context = (): ApplyContext => ({
    tenant,
    connector: tenant.connectors.crm,
    side: "crm",
    state: { lineIds: { ...state.lineIds }, facts: { ...state.facts } } as TargetState,
    fetch,
    now: Date.now,
    connectorStore: store,
  });
  return { state, context, store };
}
