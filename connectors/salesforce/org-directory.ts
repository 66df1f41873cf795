import type { SalesforceConnector } from "../../domain/connectors.js";
import type { SyncStore } from "../../domain/store.js";
import type { TenantConfig } from "../../domain/tenant.js";
import type { ConnectorStore } from "../applier.js";

/** Connector-store records that belong to no tenant: `#` never appears in a tenant id. */
const DIRECTORY = "#salesforce-orgs";
/** Tenants looked at, at most, when an org is not in the directory yet. */
const SCAN_LIMIT = 2000;

/** A relayed event from an org no tenant names: sent to the on-failure destination, not retried forever. */
export class UnknownSalesforceOrg extends Error {
  constructor(
    readonly orgId: string,
    options?: ErrorOptions,
  ) {
    super(`no tenant connects Salesforce org ${orgId}`, options);
    this.name = "UnknownSalesforceOrg";
  }
}

export interface OrgLookup {
  store: Pick<SyncStore, "listTenantIds">;
  loadTenant(tenantId: string): Promise<TenantConfig | null>;
  connectorStore: ConnectorStore;
}

/**
 * The tenant whose CRM connector is this org: the directory's answer, checked against the tenant's
 * configuration (a tenant may have been re-pointed), else found by reading the tenants once and
 * remembered.
 */
export async function tenantForOrg(
  lookup: OrgLookup,
  orgId: string,
): Promise<{ tenant: TenantConfig; connector: SalesforceConnector }> {
  const remembered = await lookup.connectorStore.get(DIRECTORY, orgId);
  const rememberedId = (remembered?.value as { tenantId?: unknown } | undefined)?.tenantId;
  if (typeof rememberedId === "string") {
    const found = await connected(lookup, rememberedId, orgId);
    if (found) return found;
  }
  let after: string | null = null;
  for (let seen = 0; seen < SCAN_LIMIT; ) {
    const page = await lookup.store.listTenantIds(after, 100);
    for (const tenantId of page.entries) {
      seen++;
      const found = await connected(lookup, tenantId, orgId);
      if (found) {
        await lookup.connectorStore.put(DIRECTORY, orgId, { tenantId }, remembered?.version ?? null);
        return found;
      }
    }
    if (page.next === null) break;
    after = page.next;
  }
  throw new UnknownSalesforceOrg(orgId);
}

async function connected(
  lookup: OrgLookup,
  tenantId: string,
  orgId: string,
): Promise<{ tenant: TenantConfig; connector: SalesforceConnector } | null> {
  const tenant = await lookup.loadTenant(tenantId);
  const crm = tenant?.connectors.crm;
  if (!tenant || crm?.kind !== "salesforce" || crm.orgId.slice(0, 15) !== orgId.slice(0, 15)) return null;
  return { tenant, connector: crm };
}
