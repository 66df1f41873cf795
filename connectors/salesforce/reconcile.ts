import type { SalesforceConnector } from "../../domain/connectors.js";
import { CrmEvent, type LineInput } from "../../domain/events.js";
import type { TenantConfig } from "../../domain/tenant.js";
import { chunks, type SalesforceClient, type SfRecord, soqlString } from "./client.js";
import { rememberLineOwners } from "./directory.js";
import {
  lineInputFrom,
  lineSelect,
  opportunityInputFrom,
  opportunitySelect,
  timeValue,
  withoutAssignedPricebook,
} from "./fields.js";
import type { InboundDeps, InboundResult } from "./inbound.js";

const PAGE = 100;

/**
 * Brings every synced pair of the tenant back in step with Salesforce (after `GAP_OVERFLOW`, a relay
 * gap, or on demand): reads each synced opportunity and its lines and reports them to the engine as
 * the opportunity and a snapshot of its lines, dated by Salesforce's last modification of them, so
 * what changed in Salesforce while events were lost wins and quotesync's newer copies (mirrors not
 * applied yet) are kept. The engine mirrors the differences either way.
 */
export async function reconcileTenant(
  tenant: TenantConfig,
  connector: SalesforceConnector,
  deps: InboundDeps,
  client: SalesforceClient,
  key: string,
): Promise<{ fed: InboundResult["fed"]; opportunities: number }> {
  const run: Reconciliation = { tenant, connector, deps, client, key, fed: [] };
  let opportunities = 0;
  let after: string | null = null;
  do {
    const page = await deps.store.listSyncedOpportunityIds(tenant.tenantId, after, PAGE);
    after = page.next;
    for (const batch of chunks(page.entries, PAGE)) {
      opportunities += batch.length;
      await reconcileBatch(run, batch);
    }
  } while (after !== null);
  return { fed: run.fed, opportunities };
}

/** One reconciliation of a tenant: what it reads with, and what it has fed to the engine so far. */
interface Reconciliation {
  tenant: TenantConfig;
  connector: SalesforceConnector;
  deps: InboundDeps;
  client: SalesforceClient;
  /** The prefix of the event ids it feeds. */
  key: string;
  fed: InboundResult["fed"];
}

/** Reads a batch of synced opportunities and their lines from Salesforce, and feeds each pair. */
async function reconcileBatch(run: Reconciliation, batch: string[]): Promise<void> {
  const { tenant, connector, deps, client } = run;
  const list = batch.map(soqlString).join(", ");
  const headers = await client.query(
    `SELECT ${opportunitySelect(connector, tenant).join(", ")} FROM Opportunity WHERE Id IN (${list})`,
  );
  const lines = await client.query(
    `SELECT ${lineSelect(connector, tenant).join(", ")} FROM OpportunityLineItem WHERE OpportunityId IN (${list})`,
  );
  await rememberLineOwners(
    deps.connectorStore,
    tenant.tenantId,
    new Map(lines.map((line) => [String(line.Id), String(line.OpportunityId)])),
  );
  const found = new Map(headers.map((record) => [String(record.Id), record]));
  for (const opportunityId of batch) {
    await reconcileOpportunity(
      run,
      opportunityId,
      found.get(opportunityId),
      lines.filter((line) => line.OpportunityId === opportunityId),
    );
  }
}

/**
 * Feeds one pair as Salesforce holds it: the opportunity and a snapshot of its lines, or its
 * deletion when Salesforce no longer has it.
 */
async function reconcileOpportunity(
  run: Reconciliation,
  opportunityId: string,
  record: SfRecord | undefined,
  own: SfRecord[],
): Promise<void> {
  const { tenant, connector, deps, key } = run;
  const at = deps.now();
  if (!record) {
    await feed(run, {
      eventId: `${key}.${opportunityId}.gone`,
      type: "opportunity.deleted",
      occurredAt: new Date(at).toISOString(),
      data: { opportunityId },
    });
    return;
  }
  const headerAt = timeValue(record.LastModifiedDate) ?? at;
  await feed(run, {
    eventId: `${key}.${opportunityId}.h`,
    type: "opportunity.upserted",
    occurredAt: new Date(headerAt).toISOString(),
    data: {
      opportunity: withoutAssignedPricebook(
        opportunityInputFrom(record, connector, tenant, { includeAmount: false }),
        (await deps.store.loadOpportunity(tenant.tenantId, opportunityId))?.header.pricebookId,
        connector,
      ),
    },
  });
  await feed(run, {
    eventId: `${key}.${opportunityId}.l`,
    type: "opportunity.lines.replaced",
    occurredAt: new Date(snapshotTime(record, own)).toISOString(),
    data: {
      opportunityId,
      lines: own.map((line): LineInput => lineInputFrom(line, String(line.Id), connector, tenant)),
    },
  });
}

/** Hands one CRM event to the engine, skipping (with a warning) one quotesync would refuse. */
async function feed(run: Reconciliation, event: Record<string, unknown>): Promise<void> {
  const { tenant, deps } = run;
  const parsed = CrmEvent.safeParse(event);
  if (!parsed.success) {
    deps.warn?.("reconcile skipped a record quotesync refuses", {
      tenantId: tenant.tenantId,
      eventId: event.eventId,
    });
    return;
  }
  const outcome = await deps.engine.handleCrmEvent(tenant, parsed.data);
  run.fed.push({
    type: parsed.data.type,
    eventId: parsed.data.eventId,
    status: outcome.response.status,
    replayed: outcome.replayed,
  });
}

/**
 * As of when the lines read are Salesforce's: the latest change of the opportunity or its lines
 * (a line's delete touches the opportunity's SystemModstamp through the Amount roll-up).
 */
function snapshotTime(opportunity: SfRecord, lines: SfRecord[]): number {
  let at = timeValue(opportunity.SystemModstamp) ?? timeValue(opportunity.LastModifiedDate) ?? 0;
  for (const line of lines) at = Math.max(at, timeValue(line.SystemModstamp) ?? 0);
  return at;
}
