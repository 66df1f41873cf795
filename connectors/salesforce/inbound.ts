import type { SalesforceConnector } from "../../domain/connectors.js";
import type { SyncEngine } from "../../domain/engine/sync-engine.js";
import { InvalidEvent } from "../../domain/errors.js";
import { CrmEvent, LineInput } from "../../domain/events.js";
import { lineValuesFrom } from "../../domain/lines.js";
import type { OpportunityAggregate, StoredLine } from "../../domain/model.js";
import type { SyncStore } from "../../domain/store.js";
import type { TenantConfig } from "../../domain/tenant.js";
import type { ConnectorStore } from "../applier.js";
import {
  type ChangeEventHeader,
  changedFieldNames,
  changeEventKey,
  commitTime,
  isOwnChange,
  orgIdOf,
  RelayedChangeEvent,
} from "./cdc.js";
import { CALL_OPTIONS_CLIENT, chunks, SalesforceClient, type SfRecord, soqlString } from "./client.js";
import { linesInDirectory, rememberLineOwners } from "./directory.js";
import {
  comparableLine,
  customLineFields,
  customOpportunityFields,
  lineInputFrom,
  lineSelect,
  opportunityInputFrom,
  opportunitySelect,
  productField,
  timeValue,
  withoutAssignedPricebook,
} from "./fields.js";
import { tenantForOrg } from "./org-directory.js";
import { reconcileTenant } from "./reconcile.js";

function syncKeyOf(record: SfRecord, connector: SalesforceConnector): string | null {
  const value = record[connector.syncKeyField];
  return typeof value === "string" && value !== "" ? value : null;
}

/** What the inbound side needs: the engine, quotesync's store, the connector store, HTTP. */
export interface InboundDeps {
  engine: Pick<SyncEngine, "handleCrmEvent">;
  store: Pick<SyncStore, "loadOpportunity" | "listTenantIds" | "listSyncedOpportunityIds">;
  loadTenant(tenantId: string): Promise<TenantConfig | null>;
  /** The CRM connector with credentials from its `credentialsParameter` merged in (deployed stages). */
  resolveConnector?(tenant: TenantConfig): Promise<SalesforceConnector>;
  connectorStore: ConnectorStore;
  fetch: typeof fetch;
  now: () => number;
  warn?: (message: string, detail: Record<string, unknown>) => void;
}

export interface InboundResult {
  tenantId: string;
  /** quotesync events fed to the engine, with their outcome. */
  fed: Array<{ type: string; eventId: string; status: string; replayed: boolean }>;
  /** Records looked at and found to need nothing (echoes equal to what quotesync wrote). */
  unchanged: number;
  /** Salesforce API calls this event cost. */
  apiCalls: number;
}

const INBOUND_IN_LIST = 100;
const LINE_VALUE_CHANGES = new Set([
  "Quantity",
  "UnitPrice",
  "Discount",
  "ServiceDate",
  "SortOrder",
  "Description",
  "Product2Id",
  "PricebookEntryId",
]);
const OPPORTUNITY_CHANGES = new Set([
  "Name",
  "AccountId",
  "StageName",
  "CloseDate",
  "Pricebook2Id",
  "CurrencyIsoCode",
]);

/**
 * Translates one relayed Change Data Capture event (CONNECTORS §4) into quotesync CRM events and
 * feeds them to the engine. Reads through REST only what the event lacks; an echo of quotesync's
 * own write is compared with what quotesync holds and needs no read when it matches.
 */
export async function handleSalesforceEvent(raw: unknown, deps: InboundDeps): Promise<InboundResult> {
  const parsed = RelayedChangeEvent.safeParse(raw);
  if (!parsed.success) {
    throw new InvalidEvent(
      "not a relayed Salesforce change event",
      parsed.error.issues.map((issue) => ({ path: issue.path.map(String), message: issue.message })),
    );
  }
  const event = parsed.data;
  const found = await tenantForOrg(deps, orgIdOf(event));
  const { tenant } = found;
  const connector = deps.resolveConnector ? await deps.resolveConnector(tenant) : found.connector;
  const translation = new Translation(event, tenant, connector, deps);
  await translation.run();
  return {
    tenantId: tenant.tenantId,
    fed: translation.fed,
    unchanged: translation.unchanged,
    apiCalls: translation.client.calls,
  };
}

class Translation {
  readonly fed: InboundResult["fed"] = [];
  unchanged = 0;
  readonly client: SalesforceClient;
  private readonly header: ChangeEventHeader;
  private readonly payload: SfRecord;
  private readonly own: boolean;
  private readonly key: string;
  private readonly at: number;

  constructor(
    event: RelayedChangeEvent,
    private readonly tenant: TenantConfig,
    private readonly connector: SalesforceConnector,
    private readonly deps: InboundDeps,
  ) {
    this.header = event.detail.payload.ChangeEventHeader;
    this.payload = event.detail.payload;
    this.own = isOwnChange(this.header, CALL_OPTIONS_CLIENT, connector.integrationUserId);
    this.key = changeEventKey(event);
    this.at = commitTime(this.header);
    this.client = new SalesforceClient({
      tenantId: tenant.tenantId,
      connector,
      store: deps.connectorStore,
      fetch: deps.fetch,
      now: deps.now,
    });
  }

  async run(): Promise<void> {
    const { changeType, entityName } = this.header;
    if (changeType === "GAP_OVERFLOW") {
      const report = await reconcileTenant(this.tenant, this.connector, this.deps, this.client, this.key);
      this.fed.push(...report.fed);
      return;
    }
    const ids = this.header.recordIds.filter((id) => !id.endsWith("*"));
    if (ids.length === 0) return;
    if (entityName === "Opportunity") return this.opportunityChange(changeType, ids);
    return this.lineChange(changeType, ids);
  }

  /** Feeds one quotesync event; a record Salesforce holds but quotesync's schema refuses is skipped. */
  async feed(event: Record<string, unknown>): Promise<void> {
    const parsed = CrmEvent.safeParse(event);
    if (!parsed.success) {
      this.deps.warn?.("Salesforce change skipped: not a valid quotesync event", {
        tenantId: this.tenant.tenantId,
        eventId: event.eventId,
        issues: parsed.error.issues.slice(0, 5).map((issue) => `${issue.path.join(".")}: ${issue.message}`),
      });
      return;
    }
    const outcome = await this.deps.engine.handleCrmEvent(this.tenant, parsed.data);
    this.fed.push({
      type: parsed.data.type,
      eventId: parsed.data.eventId,
      status: outcome.response.status,
      replayed: outcome.replayed,
    });
  }

  private iso(time: number): string {
    return new Date(time).toISOString();
  }

  // --- opportunities ---

  private async opportunityChange(changeType: ChangeEventHeader["changeType"], ids: string[]): Promise<void> {
    if (changeType === "DELETE" || changeType === "GAP_DELETE") {
      for (const id of ids) {
        await this.feed({
          eventId: `${this.key}.${id}`,
          type: "opportunity.deleted",
          occurredAt: this.iso(this.at),
          data: { opportunityId: id },
        });
      }
      return;
    }
    const stored = new Map<string, OpportunityAggregate | null>();
    for (const id of ids) stored.set(id, await this.deps.store.loadOpportunity(this.tenant.tenantId, id));
    const synced = (id: string) => {
      const header = stored.get(id)?.header;
      return Boolean(header?.syncedQuoteId && header.amountLocked && !header.deleted);
    };
    let wanted = ids;
    if (changeType === "UPDATE") {
      const changed = changedFieldNames(this.header);
      wanted = ids.filter((id) => this.opportunityNeedsRead(changed, stored.get(id) ?? null, synced(id)));
      this.unchanged += ids.length - wanted.length;
    }
    if (wanted.length === 0) return;
    let records: SfRecord[];
    if (changeType === "CREATE") {
      records = wanted.map((id) => ({ ...this.payload, Id: id }));
    } else {
      records = await this.readOpportunities(wanted);
    }
    for (const record of records) {
      const id = String(record.Id);
      const input = withoutAssignedPricebook(
        opportunityInputFrom(record, this.connector, this.tenant, { includeAmount: !synced(id) }),
        stored.get(id)?.header.pricebookId,
        this.connector,
      );
      const at = Math.max(this.at, timeValue(record.LastModifiedDate) ?? 0);
      await this.feed({
        eventId: `${this.key}.${id}`,
        type: "opportunity.upserted",
        occurredAt: this.iso(at),
        data: { opportunity: input },
      });
    }
  }

  /**
   * Whether an opportunity UPDATE may change what quotesync holds. Amount alone on a synced
   * opportunity is Salesforce's own arithmetic (never a user's edit to undo); quotesync's own
   * transaction whose values equal what quotesync holds needs nothing either.
   */
  private opportunityNeedsRead(
    changed: string[] | null,
    stored: OpportunityAggregate | null,
    synced: boolean,
  ): boolean {
    if (changed === null) return true;
    const custom = new Set(customOpportunityFields(this.tenant));
    const relevant = changed.filter(
      (field) => OPPORTUNITY_CHANGES.has(field) || custom.has(field) || (field === "Amount" && !synced),
    );
    if (relevant.length === 0) return false;
    if (!this.own || !stored?.header.known) return true;
    const header = stored.header;
    if (
      relevant.includes("Pricebook2Id") &&
      header.pricebookId === null &&
      this.payload.Pricebook2Id === this.connector.pricebookId
    ) {
      return relevant.length > 1;
    }
    const holds: Record<string, unknown> = {
      Name: header.name,
      AccountId: header.accountId,
      StageName: header.stage,
      CloseDate: header.closeDate,
      Pricebook2Id: header.pricebookId,
      CurrencyIsoCode: header.currency,
      Amount: header.amount,
    };
    return relevant.some((field) => {
      const carried = this.payload[field] ?? null;
      const held = custom.has(field) ? (header.fields[field] ?? null) : (holds[field] ?? null);
      return JSON.stringify(carried) !== JSON.stringify(held);
    });
  }

  private async readOpportunities(ids: string[]): Promise<SfRecord[]> {
    const rows: SfRecord[] = [];
    for (const batch of chunks(ids, INBOUND_IN_LIST)) {
      rows.push(
        ...(await this.client.query(
          `SELECT ${opportunitySelect(this.connector, this.tenant).join(", ")} FROM Opportunity WHERE Id IN (${batch.map(soqlString).join(", ")})`,
        )),
      );
    }
    return rows;
  }

  // --- lines ---

  private async lineChange(changeType: ChangeEventHeader["changeType"], ids: string[]): Promise<void> {
    const tenantId = this.tenant.tenantId;
    const directory = await linesInDirectory(this.deps.connectorStore, tenantId, ids);
    const owners = new Map([...directory].map(([id, entry]) => [id, entry.opportunityId]));
    if (changeType === "DELETE" || changeType === "GAP_DELETE") return this.lineDelete(ids, directory);
    let toRead = ids;
    const reported: Array<{ record: SfRecord; id: string }> = [];
    const completePayload =
      changeType === "CREATE" &&
      typeof this.payload.OpportunityId === "string" &&
      this.connector.productKey.kind === "id";
    if (completePayload) {
      // A CREATE carries every non-empty field (B2): nothing to read. quotesync's own create of a
      // line it holds with these values needs nothing either (the line id is in the directory).
      toRead = [];
      for (const id of ids) {
        const record = { ...this.payload, Id: id };
        if (this.own && (await this.holdsCreatedLine(record, id))) {
          this.unchanged++;
          continue;
        }
        reported.push({ record, id });
      }
    } else if (changeType === "UPDATE") {
      toRead = [];
      for (const id of ids) {
        if (await this.lineNeedsRead(id, owners.get(id), directory.get(id)?.syncKey ?? null)) toRead.push(id);
        else this.unchanged++;
      }
    }
    for (const batch of chunks(toRead, INBOUND_IN_LIST)) {
      const rows = await this.client.query(
        `SELECT ${lineSelect(this.connector, this.tenant).join(", ")} FROM OpportunityLineItem WHERE Id IN (${batch.map(soqlString).join(", ")})`,
      );
      reported.push(...rows.map((record) => ({ record, id: String(record.Id) })));
    }
    const learned = new Map(
      [...reported, ...this.createdEchoes].map(({ record, id }) => [
        id,
        { opportunityId: String(record.OpportunityId), syncKey: syncKeyOf(record, this.connector) },
      ]),
    );
    await rememberLineOwners(this.deps.connectorStore, tenantId, learned, owners);
    await this.feedLines(changeType, reported);
  }

  /** The reported lines as one `opportunity.lines.upserted` per opportunity, at its latest change. */
  private async feedLines(
    changeType: ChangeEventHeader["changeType"],
    reported: Array<{ record: SfRecord; id: string }>,
  ): Promise<void> {
    const byOpportunity = new Map<string, { lines: LineInput[]; at: number }>();
    for (const { record, id } of reported) {
      const opportunityId = String(record.OpportunityId);
      const group = byOpportunity.get(opportunityId) ?? { lines: [], at: this.at };
      group.lines.push(lineInputFrom(record, id, this.connector, this.tenant));
      group.at = Math.max(
        group.at,
        changeType === "CREATE" ? this.at : (timeValue(record.LastModifiedDate) ?? 0),
      );
      byOpportunity.set(opportunityId, group);
    }
    for (const [opportunityId, group] of byOpportunity) {
      await this.feed({
        eventId: `${this.key}.${opportunityId}`,
        type: "opportunity.lines.upserted",
        occurredAt: this.iso(group.at),
        data: { opportunityId, lines: group.lines },
      });
    }
  }

  /**
   * Whether a line UPDATE needs the record read. A change of fields quotesync does not sync needs
   * nothing; quotesync's own transaction needs nothing when every synced field it carries equals
   * what quotesync holds for the line (a flow's change in that transaction differs, and is read).
   */
  private async lineNeedsRead(
    id: string,
    opportunityId: string | undefined,
    syncKey: string | null,
  ): Promise<boolean> {
    const changed = changedFieldNames(this.header);
    if (changed === null) return true;
    const custom = new Set(customLineFields(this.tenant));
    const relevant = changed.filter(
      (field) => LINE_VALUE_CHANGES.has(field) || custom.has(field) || field === this.connector.syncKeyField,
    );
    if (relevant.length === 0) return false;
    if (!this.own || !opportunityId) return true;
    const held = await this.heldLine(opportunityId, id, syncKey);
    if (!held || relevant.some((field) => field === "Product2Id" || field === "PricebookEntryId"))
      return true;
    const carried: SfRecord = {
      Quantity: held.quantity,
      UnitPrice: held.unitPrice,
      Discount: held.discountPercent,
      ServiceDate: held.serviceDate,
      SortOrder: held.position,
      Description: held.name,
      [this.connector.syncKeyField]: held.syncKey,
      ...Object.fromEntries(Object.entries(held.fields)),
    };
    for (const field of relevant) carried[field] = this.payload[field] ?? null;
    const asReported = lineInputFrom(
      { ...carried, [productField(this.connector)]: held.productId },
      id,
      this.connector,
      this.tenant,
    );
    const values = lineValuesFrom(LineInput.parse(asReported), held);
    const sameFields = [...custom].every(
      (name) => JSON.stringify(values.fields[name] ?? null) === JSON.stringify(held.fields[name] ?? null),
    );
    return (
      comparableLine(values) !== comparableLine(held) || !sameFields || asReported.syncKey !== held.syncKey
    );
  }

  /** quotesync's own creates found equal to what it holds: only the directory learns them. */
  private readonly createdEchoes: Array<{ record: SfRecord; id: string }> = [];

  private async holdsCreatedLine(record: SfRecord, id: string): Promise<boolean> {
    const syncKey = syncKeyOf(record, this.connector);
    if (!syncKey) return false;
    const held = await this.heldLineBySyncKey(String(record.OpportunityId), syncKey);
    if (!held || held.deleted || (held.id !== null && held.id !== id)) return false;
    const input = LineInput.safeParse(lineInputFrom(record, id, this.connector, this.tenant));
    if (!input.success) return false;
    const values = lineValuesFrom(input.data, held);
    const custom = customLineFields(this.tenant);
    const same =
      comparableLine(values) === comparableLine(held) &&
      custom.every(
        (name) => JSON.stringify(values.fields[name] ?? null) === JSON.stringify(held.fields[name] ?? null),
      );
    if (same) this.createdEchoes.push({ record, id });
    return same;
  }

  private async heldLineBySyncKey(opportunityId: string, syncKey: string): Promise<StoredLine | null> {
    if (!this.heldLines.has(opportunityId)) {
      this.heldLines.set(
        opportunityId,
        await this.deps.store.loadOpportunity(this.tenant.tenantId, opportunityId),
      );
    }
    return this.heldLines.get(opportunityId)?.lines.get(syncKey) ?? null;
  }

  private heldLines = new Map<string, OpportunityAggregate | null>();

  /** The live line quotesync holds under this Salesforce id, or under the directory's syncKey with no id yet. */
  private async heldLine(
    opportunityId: string,
    lineId: string,
    syncKey: string | null,
  ): Promise<StoredLine | null> {
    if (syncKey) {
      const bySyncKey = await this.heldLineBySyncKey(opportunityId, syncKey);
      if (bySyncKey && !bySyncKey.deleted && (bySyncKey.id === null || bySyncKey.id === lineId))
        return bySyncKey;
    }
    if (!this.heldLines.has(opportunityId)) {
      this.heldLines.set(
        opportunityId,
        await this.deps.store.loadOpportunity(this.tenant.tenantId, opportunityId),
      );
    }
    const lines = this.heldLines.get(opportunityId)?.lines;
    if (!lines) return null;
    for (const line of lines.values()) if (line.id === lineId && !line.deleted) return line;
    return null;
  }

  /**
   * quotesync may hold a line it created under its syncKey without the Salesforce id (its CREATE
   * echo was equal and not fed): before a user's delete of it, the engine is told the id.
   */
  private async teachLineIds(
    opportunityId: string,
    lineIds: string[],
    directory: Map<string, { opportunityId: string; syncKey: string | null }>,
  ): Promise<void> {
    const lines: LineInput[] = [];
    for (const id of lineIds) {
      const syncKey = directory.get(id)?.syncKey;
      if (!syncKey) continue;
      const held = await this.heldLineBySyncKey(opportunityId, syncKey);
      if (!held || held.deleted || held.id !== null) continue;
      lines.push({ ...held, id, syncKey, fields: held.fields });
    }
    if (lines.length === 0) return;
    await this.feed({
      eventId: `${this.key}.${opportunityId}.ids`,
      type: "opportunity.lines.upserted",
      occurredAt: this.iso(this.at - 1),
      data: { opportunityId, lines },
    });
  }

  /**
   * A line DELETE is mirrored only once its opportunity is known to still exist (deleting an
   * opportunity deletes its lines first): quotesync's own deletes need no check, a user's are
   * checked with one query; a gone opportunity is the record's deletion (SPEC §1.6).
   */
  private async lineDelete(
    ids: string[],
    directory: Map<string, { opportunityId: string; syncKey: string | null }>,
  ): Promise<void> {
    const byOpportunity = new Map<string, string[]>();
    for (const id of ids) {
      const entry = directory.get(id);
      const opportunityId = entry?.opportunityId;
      if (this.own && entry?.syncKey && opportunityId) {
        // quotesync's own delete of a line it already holds as deleted: nothing to tell the engine.
        const held = await this.heldLineBySyncKey(opportunityId, entry.syncKey);
        if (held?.deleted) {
          this.unchanged++;
          continue;
        }
      }
      if (!opportunityId) {
        this.deps.warn?.("Salesforce line delete skipped: its opportunity is not known", {
          tenantId: this.tenant.tenantId,
          lineId: id,
        });
        continue;
      }
      byOpportunity.set(opportunityId, [...(byOpportunity.get(opportunityId) ?? []), id]);
    }
    if (byOpportunity.size === 0) return;
    let living = new Set(byOpportunity.keys());
    if (!this.own) {
      const rows = await this.client.query(
        `SELECT Id FROM Opportunity WHERE Id IN (${[...byOpportunity.keys()].map(soqlString).join(", ")})`,
      );
      living = new Set(rows.map((row) => String(row.Id)));
    }
    for (const [opportunityId, lineIds] of byOpportunity) {
      if (living.has(opportunityId)) {
        await this.teachLineIds(opportunityId, lineIds, directory);
        await this.feed({
          eventId: `${this.key}.${opportunityId}`,
          type: "opportunity.lines.deleted",
          occurredAt: this.iso(this.at),
          data: { opportunityId, lineIds },
        });
      } else {
        await this.feed({
          eventId: `${this.key}.${opportunityId}`,
          type: "opportunity.deleted",
          occurredAt: this.iso(this.at),
          data: { opportunityId },
        });
      }
    }
  }
}
