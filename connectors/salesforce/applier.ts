import type { SalesforceConnector } from "../../domain/connectors.js";
import { lineTotal, sumMoney } from "../../domain/decimal.js";
import type { Mirror, MirrorLine } from "../../domain/model.js";
import type { DriftIssue } from "../../domain/schedule.js";
import {
  type ApplyContext,
  type ApplyResult,
  type DeliveryEntry,
  type MirrorApplier,
  PermanentDeliveryError,
  type TargetStateChanges,
  TransientDeliveryError,
} from "../applier.js";
import { salesforceAmount } from "./amount.js";
import {
  COLLECTION_LIMIT,
  chunks,
  SalesforceApiError,
  SalesforceClient,
  type SaveResult,
  type SfRecord,
  soqlString,
} from "./client.js";
import { rememberLineOwners } from "./directory.js";
import { lineValuesFor, productField, readField } from "./fields.js";

/** Ids a SOQL `IN (…)` names per query: keeps the URL well under Salesforce's limits. */
const IN_LIST = 100;
/** How long a price book entry lookup is trusted. */
const ENTRY_TTL_SECONDS = 6 * 60 * 60;

/** A Salesforce OpportunityLineItem id (key prefix 00k); anything else in `delete` is a syncKey. */
const LINE_ID = /^00k[A-Za-z0-9]{12}([A-Za-z0-9]{3})?$/;

/**
 * The `salesforce` applier (CONNECTORS §4): applies a mirror to an opportunity and its products
 * through the REST API. Lines: ids resolved first (the pair's map, else a query on the External ID
 * field), then deleted, updated (no create-only fields) and created (with OpportunityId and the
 * price book entry), ≤ 200 a call, never upserted. Header: StageName, the approval fields and
 * mapped fields by one PATCH, never Amount. Afterwards Salesforce's Amount is compared with its own
 * arithmetic for the synced lines and with the locked amount; a difference is reported as drift.
 */
export const salesforceApplier: MirrorApplier = {
  kind: "salesforce",
  async apply(entry: DeliveryEntry, context: ApplyContext): Promise<ApplyResult> {
    const { connector } = context;
    if (connector.kind !== "salesforce") {
      throw new PermanentDeliveryError("the side's connector is not Salesforce", "not_configured");
    }
    const client = new SalesforceClient({
      tenantId: entry.tenantId,
      connector,
      store: context.connectorStore,
      fetch: context.fetch,
      now: context.now,
    });
    const run = new MirrorRun(entry, context, connector, client);
    try {
      await run.apply();
    } catch (error) {
      throw run.failure(error);
    }
    return { outcome: "delivered", changes: run.changes, detail: run.detail() };
  },
};

class MirrorRun {
  readonly changes: TargetStateChanges = { lineIds: { set: {}, remove: [] }, facts: {} };
  private readonly lineIds: Map<string, string>;
  private readonly failures: Array<{ code: string; message: string; transient: boolean }> = [];
  private drift: DriftIssue[] = [];
  private readonly mirror: Mirror;

  constructor(
    private readonly entry: DeliveryEntry,
    private readonly context: ApplyContext,
    private readonly connector: SalesforceConnector,
    private readonly client: SalesforceClient,
  ) {
    this.mirror = entry.mirror;
    this.lineIds = new Map(Object.entries(context.state.lineIds));
  }

  async apply(): Promise<void> {
    const { mirror } = this;
    if (mirror.target !== "crm")
      throw new PermanentDeliveryError("Salesforce holds the CRM side only", "wrong_side");
    const lines = mirror.lines;
    const touchesLines = lines !== undefined && (lines.upsert.length > 0 || lines.delete.length > 0);
    if (touchesLines && lines) await this.applyLines(lines.upsert, lines.delete);
    if (mirror.opportunity) await this.applyHeader(mirror.opportunity);
    this.throwIfFailed();
    if (touchesLines || mirror.opportunity?.amount !== undefined) await this.checkAmount();
  }

  private setLine(syncKey: string, id: string): void {
    this.lineIds.set(syncKey, id);
    (this.changes.lineIds?.set as Record<string, string>)[syncKey] = id;
  }

  private forgetLine(syncKey: string): void {
    this.lineIds.delete(syncKey);
    this.changes.lineIds?.remove?.push(syncKey);
  }

  private async applyLines(upserts: MirrorLine[], deletes: string[]): Promise<void> {
    const opportunity = await this.readOpportunity();
    await this.resolveIds([
      ...upserts
        .filter((line) => line.id === null && !this.lineIds.has(line.syncKey))
        .map((line) => line.syncKey),
      ...deletes.filter((id) => !LINE_ID.test(id) && !this.lineIds.has(id)),
    ]);
    const deleted = await this.deleteLines(deletes);

    const updates: Array<{ line: MirrorLine; id: string }> = [];
    const creates: MirrorLine[] = [];
    for (const line of upserts) {
      const id = line.id ?? this.lineIds.get(line.syncKey) ?? null;
      if (id && deleted.has(id)) continue;
      if (id) updates.push({ line, id });
      else creates.push(line);
    }
    await this.updateLines(updates);
    if (creates.length === 0) return;
    await this.createLines(creates, opportunity);
  }

  /**
   * Deletes lines named by Salesforce id or by syncKey (a line a mirror created whose id quotesync
   * had not learned); a line already gone counts as deleted. Returns the ids sent for deletion,
   * each with its syncKey when known.
   */
  private async deleteLines(deletes: string[]): Promise<Map<string, string | null>> {
    const deleteIds = new Map<string, string | null>();
    for (const target of deletes) {
      if (LINE_ID.test(target)) {
        deleteIds.set(target, [...this.lineIds].find(([, id]) => id === target)?.[0] ?? null);
      } else {
        const id = this.lineIds.get(target);
        if (id) deleteIds.set(id, target);
      }
    }
    for (const batch of chunks([...deleteIds.keys()], COLLECTION_LIMIT)) {
      const results = await this.client.delete(batch);
      results.forEach((result, index) => {
        const id = batch[index] as string;
        const syncKey = deleteIds.get(id);
        const gone = result.success || result.errors.some((e) => e.statusCode === "ENTITY_IS_DELETED");
        if (gone) {
          if (syncKey) this.forgetLine(syncKey);
        } else this.recordFailure(result, `delete of line ${id}`);
      });
    }
    return deleteIds;
  }

  /** Updates lines whose Salesforce id is known (without the create-only fields). */
  private async updateLines(updates: Array<{ line: MirrorLine; id: string }>): Promise<void> {
    for (const batch of chunks(updates, COLLECTION_LIMIT)) {
      const records = batch.map(({ line, id }) => ({
        attributes: { type: "OpportunityLineItem" },
        id,
        ...lineValuesFor(line, this.connector, this.context.tenant),
      }));
      const results = await this.client.update(records);
      results.forEach((result, index) => {
        const { line, id } = batch[index] as { line: MirrorLine; id: string };
        if (result.success) this.setLine(line.syncKey, id);
        else if (result.errors.some((e) => e.statusCode === "ENTITY_IS_DELETED")) {
          // Deleted in Salesforce meanwhile: its DELETE change event reports that to quotesync.
          this.forgetLine(line.syncKey);
        } else this.recordFailure(result, `update of line ${line.syncKey}`);
      });
    }
  }

  /** Creates lines on the opportunity through the price book entries of their products. */
  private async createLines(
    creates: MirrorLine[],
    opportunity: { pricebookId: string | null; currency: string },
  ): Promise<void> {
    const pricebookId = opportunity.pricebookId ?? this.connector.pricebookId ?? null;
    if (!pricebookId) {
      throw new PermanentDeliveryError(
        `opportunity ${this.mirror.opportunityId} has no price book and the connector names none (pricebookId)`,
        "NO_PRICEBOOK",
      );
    }
    const entries = await this.priceBookEntries(
      pricebookId,
      opportunity.currency,
      creates.map((line) => line.productId),
    );
    const owners = new Map<string, { opportunityId: string; syncKey: string }>();
    for (const batch of chunks(creates, COLLECTION_LIMIT)) {
      const records = batch.map((line) => ({
        attributes: { type: "OpportunityLineItem" },
        OpportunityId: this.mirror.opportunityId,
        PricebookEntryId: entries.get(line.productId) as string,
        ...lineValuesFor(line, this.connector, this.context.tenant),
      }));
      const results = await this.client.create(records);
      results.forEach((result, index) => {
        const line = batch[index] as MirrorLine;
        if (result.success && result.id) {
          this.setLine(line.syncKey, result.id);
          owners.set(result.id, { opportunityId: this.mirror.opportunityId, syncKey: line.syncKey });
        } else this.recordFailure(result, `create of line ${line.syncKey}`);
      });
    }
    await rememberLineOwners(this.context.connectorStore, this.entry.tenantId, owners);
  }

  /** Finds lines quotesync has no id for by their syncKey in the External ID field. */
  private async resolveIds(syncKeys: string[]): Promise<void> {
    const field = this.connector.syncKeyField;
    for (const batch of chunks([...new Set(syncKeys)], IN_LIST)) {
      const rows = await this.client.query(
        `SELECT Id, ${field} FROM OpportunityLineItem WHERE ${field} IN (${batch.map(soqlString).join(", ")})`,
      );
      for (const row of rows) {
        if (typeof row.Id === "string" && typeof row[field] === "string") this.setLine(row[field], row.Id);
      }
    }
  }

  private async readOpportunity(): Promise<{ pricebookId: string | null; currency: string }> {
    const fields = ["Id", "Pricebook2Id", ...(this.connector.multiCurrency ? ["CurrencyIsoCode"] : [])];
    const rows = await this.client.query(
      `SELECT ${fields.join(", ")} FROM Opportunity WHERE Id = ${soqlString(this.mirror.opportunityId)}`,
    );
    const row = rows[0];
    if (!row) {
      throw new PermanentDeliveryError(
        `opportunity ${this.mirror.opportunityId} does not exist in Salesforce`,
        "NOT_FOUND",
      );
    }
    return {
      pricebookId: typeof row.Pricebook2Id === "string" ? row.Pricebook2Id : null,
      currency:
        this.connector.multiCurrency && typeof row.CurrencyIsoCode === "string"
          ? row.CurrencyIsoCode
          : this.connector.currency,
    };
  }

  /**
   * The active price book entry of each product in the price book and currency, from the connector
   * store's cache, else one query per 100 products (then cached).
   */
  private async priceBookEntries(
    pricebookId: string,
    currency: string,
    productIds: string[],
  ): Promise<Map<string, string>> {
    const { connectorStore } = this.context;
    const tenantId = this.entry.tenantId;
    const unique = [...new Set(productIds)];
    const cacheKey = (productId: string) => `salesforce#pbe#${pricebookId}#${currency}#${productId}`;
    const cached = await connectorStore.getMany(tenantId, unique.map(cacheKey));
    const entries = new Map<string, string>();
    for (const productId of unique) {
      const value = cached.get(cacheKey(productId))?.value;
      if (typeof value === "string") entries.set(productId, value);
    }
    const missing = unique.filter((productId) => !entries.has(productId));
    const keyField = productField(this.connector);
    for (const batch of chunks(missing, IN_LIST)) {
      const conditions = [
        `Pricebook2Id = ${soqlString(pricebookId)}`,
        "IsActive = true",
        ...(this.connector.multiCurrency ? [`CurrencyIsoCode = ${soqlString(currency)}`] : []),
        `${keyField} IN (${batch.map(soqlString).join(", ")})`,
      ];
      const rows = await this.client.query(
        `SELECT Id, ${keyField} FROM PricebookEntry WHERE ${conditions.join(" AND ")}`,
      );
      for (const row of rows) {
        const productId = readField(row, keyField);
        if (typeof row.Id === "string" && typeof productId === "string") {
          entries.set(productId, row.Id);
          await connectorStore.put(tenantId, cacheKey(productId), row.Id, null, ENTRY_TTL_SECONDS);
        }
      }
    }
    const without = unique.filter((productId) => !entries.has(productId));
    if (without.length > 0) {
      throw new PermanentDeliveryError(
        `no active price book entry in price book ${pricebookId} (${currency}) for product(s) ${without.slice(0, 5).join(", ")}`,
        "NO_PRICEBOOK_ENTRY",
        this.changes,
      );
    }
    return entries;
  }

  /** StageName, the approval fields and mapped fields, in one PATCH, when they differ from the last one. */
  private async applyHeader(header: NonNullable<Mirror["opportunity"]>): Promise<void> {
    const values: SfRecord = {};
    if (header.stage) values.StageName = header.stage;
    if (header.approval) {
      values[this.connector.approvalRequiredField] = header.approval.required;
      values[this.connector.approvalReasonsField] =
        header.approval.reasons.length > 0 ? header.approval.reasons.join("\n").slice(0, 4000) : null;
    }
    for (const [name, value] of Object.entries(header.fields ?? {})) {
      if (name.endsWith("__c")) values[name] = value;
    }
    if (header.amount !== null)
      (this.changes.facts as Record<string, string | null>).lockedAmount = header.amount;
    if (Object.keys(values).length === 0) return;
    const written = JSON.stringify(values);
    if (this.context.state.facts.header === written) return;
    await this.client.updateRecord("Opportunity", this.mirror.opportunityId, values);
    (this.changes.facts as Record<string, string | null>).header = written;
  }

  /**
   * Salesforce computes Amount itself once lines exist (CONNECTORS §4): compare it with Salesforce's
   * arithmetic over the lines quotesync synced (unrounded totals summed, then rounded) and their
   * rounded totals with the locked amount; report the difference as drift, or clear it.
   */
  private async checkAmount(): Promise<void> {
    const field = this.connector.syncKeyField;
    const id = soqlString(this.mirror.opportunityId);
    const [opportunity] = await this.client.query(`SELECT Id, Amount FROM Opportunity WHERE Id = ${id}`);
    if (!opportunity) return;
    const lines = await this.client.query(
      `SELECT Id, ${field}, Quantity, UnitPrice, Discount FROM OpportunityLineItem WHERE OpportunityId = ${id}`,
    );
    const currency = this.connector.currency;
    const numbers = (row: SfRecord) => ({
      quantity: row.Quantity ?? 0,
      unitPrice: row.UnitPrice ?? 0,
      discountPercent: row.Discount ?? null,
    });
    const synced = lines.filter((row) => typeof row[field] === "string" && row[field] !== "");
    const foreign = lines.length - synced.length;
    const issues: DriftIssue[] = [];
    if (foreign > 0) {
      issues.push({
        kind: "lines_differ",
        detail: `${foreign} Salesforce line(s) of the opportunity carry no sync key`,
      });
    }
    const amount =
      opportunity.Amount === null || opportunity.Amount === undefined
        ? null
        : sumMoney([String(opportunity.Amount)], currency);
    const expected = salesforceAmount(synced.map(numbers), currency);
    if (lines.length > 0 && amount !== expected) {
      issues.push({
        kind: "amount_mismatch",
        detail: `Salesforce's amount is ${amount}; its arithmetic over the synced lines gives ${expected}`,
      });
    }
    const locked = this.mirror.opportunity?.amount ?? this.context.state.facts.lockedAmount ?? null;
    const roundedSum = sumMoney(
      synced.map((row) => lineTotal({ ...numbers(row), currency })),
      currency,
    );
    if (locked !== null && roundedSum !== sumMoney([locked], currency)) {
      issues.push({
        kind: "amount_mismatch",
        detail: `the synced Salesforce lines add up to ${roundedSum}, the locked amount is ${locked}`,
      });
    }
    this.drift = issues;
    await this.context.reportDrift?.({
      opportunityId: this.mirror.opportunityId,
      quoteId: this.mirror.quoteId,
      issues,
    });
  }

  private recordFailure(result: SaveResult, what: string): void {
    const first = result.errors[0];
    const code = first?.statusCode ?? "UNKNOWN";
    this.failures.push({
      code,
      message: `${what}: ${code} ${first?.message ?? ""}`.trim(),
      transient:
        code === "UNABLE_TO_LOCK_ROW" || code === "REQUEST_LIMIT_EXCEEDED" || code === "SERVER_UNAVAILABLE",
    });
  }

  detail(): string {
    const set = Object.keys(this.changes.lineIds?.set ?? {}).length;
    const removed = this.changes.lineIds?.remove?.length ?? 0;
    const drift =
      this.drift.length > 0 ? `; drift: ${this.drift.map((issue) => issue.detail).join("; ")}` : "";
    return `${this.client.calls} Salesforce call(s); ${set} line id(s) known, ${removed} removed${drift}`;
  }

  /** The error to throw: per-record failures and API errors as transient or permanent, with changes. */
  failure(error: unknown): Error {
    if (error instanceof PermanentDeliveryError) {
      return new PermanentDeliveryError(error.message, error.vendorCode, this.changes, { cause: error });
    }
    if (error instanceof TransientDeliveryError) {
      return new TransientDeliveryError(error.message, error.retryAfterMs, this.changes, { cause: error });
    }
    if (error instanceof SalesforceApiError) {
      return error.transient
        ? new TransientDeliveryError(error.message, error.retryAfterMs, this.changes, { cause: error })
        : new PermanentDeliveryError(error.message, error.errorCode, this.changes, { cause: error });
    }
    return new TransientDeliveryError(
      `applying to Salesforce failed: ${(error as Error).message}`,
      null,
      this.changes,
      {
        cause: error,
      },
    );
  }

  /** Per-record failures end the run: transient when every one is, else permanent (parked). */
  throwIfFailed(): void {
    if (this.failures.length === 0) return;
    const message = this.failures
      .map((failure) => failure.message)
      .join("; ")
      .slice(0, 1000);
    if (this.failures.every((failure) => failure.transient)) {
      throw new TransientDeliveryError(message, null, this.changes);
    }
    throw new PermanentDeliveryError(
      message,
      this.failures.find((f) => !f.transient)?.code ?? null,
      this.changes,
    );
  }
}
