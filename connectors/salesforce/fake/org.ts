import { randomUUID } from "node:crypto";
import { normalizeQuantity } from "../../../domain/decimal.js";
import { displayedLineTotal, salesforceAmount } from "../amount.js";
import { RawNumber } from "../json.js";
import type { SoqlCondition, SoqlLiteral, SoqlQuery } from "./soql.js";

/**
 * The data and rules of a fake Salesforce org (Object Reference, facts file B2–B3): Opportunity,
 * OpportunityLineItem, PricebookEntry, Product2; Amount = Σ line totals once lines exist (writes to
 * it ignored); create-only fields refused on update; one change event per change, per transaction.
 * Numbers are kept as exact decimal strings and answered as JSON numbers.
 */

export type FieldValue = string | boolean | null;
export type SfRecord = Record<string, FieldValue>;

export interface SfError {
  statusCode: string;
  message: string;
  fields: string[];
}

export interface SaveResult {
  id?: string;
  success: boolean;
  errors: SfError[];
}

/** A change committed by one transaction, before it becomes a change event. */
interface Change {
  entity: "Opportunity" | "OpportunityLineItem";
  changeType: "CREATE" | "UPDATE" | "DELETE" | "UNDELETE";
  recordId: string;
  changedFields: string[];
  nulledFields: string[];
  values: SfRecord;
}

/** Who commits a transaction: the integration user through the API, or a rep in the UI. */
export interface Committer {
  userId: string;
  /** `changeOrigin` (B2): `com/salesforce/api/rest/62.0;client=quotesync`, or the UI's. */
  changeOrigin: string;
}

/** The CDC payload Event Relay puts under `detail.payload` (B1, B2). */
export interface ChangeEventPayload {
  ChangeEventHeader: {
    entityName: string;
    recordIds: string[];
    changeType: string;
    changeOrigin: string;
    transactionKey: string;
    sequenceNumber: number;
    commitTimestamp: number;
    commitNumber: number;
    commitUser: string;
    changedFields: string[];
    nulledFields: string[];
    diffFields: string[];
  };
  [field: string]: unknown;
}

export const NUMERIC_FIELDS: Record<string, ReadonlySet<string>> = {
  Opportunity: new Set(["Amount"]),
  OpportunityLineItem: new Set([
    "Quantity",
    "UnitPrice",
    "ListPrice",
    "TotalPrice",
    "Subtotal",
    "Discount",
    "SortOrder",
  ]),
  PricebookEntry: new Set(["UnitPrice"]),
  Product2: new Set(),
};

const SYSTEM_FIELDS = [
  "Id",
  "LastModifiedDate",
  "SystemModstamp",
  "LastModifiedById",
  "CreatedDate",
  "IsDeleted",
];
const STANDARD_FIELDS: Record<string, ReadonlySet<string>> = {
  Opportunity: new Set([
    ...SYSTEM_FIELDS,
    "Name",
    "AccountId",
    "StageName",
    "CloseDate",
    "Amount",
    "Pricebook2Id",
    "CurrencyIsoCode",
    "HasOpportunityLineItem",
  ]),
  OpportunityLineItem: new Set([
    ...SYSTEM_FIELDS,
    "OpportunityId",
    "PricebookEntryId",
    "Product2Id",
    "ProductCode",
    "Name",
    "Quantity",
    "UnitPrice",
    "ListPrice",
    "TotalPrice",
    "Subtotal",
    "Discount",
    "ServiceDate",
    "SortOrder",
    "Description",
    "CurrencyIsoCode",
    "HasQuantitySchedule",
    "HasRevenueSchedule",
  ]),
  PricebookEntry: new Set([
    ...SYSTEM_FIELDS,
    "Pricebook2Id",
    "Product2Id",
    "ProductCode",
    "Name",
    "UnitPrice",
    "IsActive",
    "CurrencyIsoCode",
  ]),
  Product2: new Set([...SYSTEM_FIELDS, "Name", "ProductCode", "IsActive"]),
};
/** OpportunityLineItem fields an API call may not set (read-only) or set only on create. */
const LINE_READ_ONLY = new Set([
  "Product2Id",
  "ProductCode",
  "Name",
  "ListPrice",
  "Subtotal",
  "CurrencyIsoCode",
  "HasQuantitySchedule",
  "HasRevenueSchedule",
  ...SYSTEM_FIELDS,
]);
const LINE_CREATE_ONLY = new Set(["OpportunityId", "PricebookEntryId"]);
const ID_PREFIX: Record<string, string> = {
  Opportunity: "006",
  OpportunityLineItem: "00k",
  PricebookEntry: "01u",
  Product2: "01t",
  Pricebook2: "01s",
};

export interface FakeOrgOptions {
  orgId: string;
  multiCurrency?: boolean;
  currency?: string;
  /** Custom fields that exist on each object (beyond the standard ones), e.g. the External ID. */
  customFields?: { Opportunity?: string[]; OpportunityLineItem?: string[] };
  /** The unique External ID field on OpportunityLineItem. */
  syncKeyField?: string;
  clock?: () => number;
}

export class FakeOrg {
  readonly orgId: string;
  readonly multiCurrency: boolean;
  readonly currency: string;
  readonly syncKeyField: string;
  private readonly tables = new Map<string, Map<string, SfRecord>>();
  private readonly fields: Record<string, Set<string>>;
  private counter = 0;
  private commitNumber = 0;
  private readonly clock: () => number;
  private lastCommit = 0;
  /** Change events waiting to be relayed, in commit order. */
  readonly relayQueue: ChangeEventPayload[] = [];
  /** A validation rule: a message refuses the line (FIELD_CUSTOM_VALIDATION_EXCEPTION). */
  lineValidation: ((line: SfRecord) => string | null) | null = null;

  constructor(options: FakeOrgOptions) {
    this.orgId = options.orgId;
    this.multiCurrency = options.multiCurrency ?? false;
    this.currency = options.currency ?? "USD";
    this.syncKeyField = options.syncKeyField ?? "QS_Sync_Key__c";
    this.clock = options.clock ?? Date.now;
    this.fields = Object.fromEntries(
      Object.entries(STANDARD_FIELDS).map(([object, names]) => [object, new Set(names)]),
    );
    for (const name of [
      "QS_Approval_Required__c",
      "QS_Approval_Reasons__c",
      ...(options.customFields?.Opportunity ?? []),
    ]) {
      this.fields.Opportunity?.add(name);
    }
    for (const name of [this.syncKeyField, ...(options.customFields?.OpportunityLineItem ?? [])]) {
      this.fields.OpportunityLineItem?.add(name);
    }
    if (!this.multiCurrency) {
      for (const object of Object.values(this.fields)) object.delete("CurrencyIsoCode");
    }
    for (const object of ["Opportunity", "OpportunityLineItem", "PricebookEntry", "Product2", "Pricebook2"]) {
      this.tables.set(object, new Map());
    }
  }

  private table(object: string): Map<string, SfRecord> {
    const table = this.tables.get(object);
    if (!table) throw new Error(`no table ${object}`);
    return table;
  }

  newId(object: string): string {
    this.counter++;
    return `${ID_PREFIX[object] ?? "a00"}${String(this.counter).padStart(12, "0")}AAA`;
  }

  /** A commit time strictly after the previous one: CDC orders by it. */
  private commitTime(): number {
    this.lastCommit = Math.max(this.clock(), this.lastCommit + 1);
    return this.lastCommit;
  }

  hasField(object: string, field: string): boolean {
    return this.fields[object]?.has(field) ?? false;
  }

  get(object: string, id: string): SfRecord | undefined {
    return this.tables.get(object)?.get(id);
  }

  all(object: string): SfRecord[] {
    return [...(this.tables.get(object)?.values() ?? [])];
  }

  // --- setup (no events: records that existed before the test) ---

  addProduct(values: { Name: string; ProductCode?: string }): string {
    const id = this.newId("Product2");
    this.table("Product2").set(id, { Id: id, IsActive: true, ProductCode: null, ...values });
    return id;
  }

  addPricebook(name: string): string {
    const id = this.newId("Pricebook2");
    this.table("Pricebook2").set(id, { Id: id, Name: name, IsActive: true });
    return id;
  }

  addPricebookEntry(values: {
    Pricebook2Id: string;
    Product2Id: string;
    UnitPrice: string;
    IsActive?: boolean;
    CurrencyIsoCode?: string;
  }): string {
    const id = this.newId("PricebookEntry");
    const product = this.get("Product2", values.Product2Id);
    const record: SfRecord = {
      Id: id,
      Pricebook2Id: values.Pricebook2Id,
      Product2Id: values.Product2Id,
      ProductCode: product?.ProductCode ?? null,
      Name: product?.Name ?? null,
      UnitPrice: values.UnitPrice,
      IsActive: values.IsActive ?? true,
    };
    if (this.multiCurrency) record.CurrencyIsoCode = values.CurrencyIsoCode ?? this.currency;
    this.table("PricebookEntry").set(id, record);
    return id;
  }

  addOpportunity(values: {
    Name: string;
    StageName?: string;
    CloseDate?: string;
    Pricebook2Id?: string | null;
    CurrencyIsoCode?: string;
    Amount?: string | null;
    AccountId?: string | null;
  }): string {
    const id = this.newId("Opportunity");
    const now = new Date(this.clock()).toISOString();
    const record: SfRecord = {
      Id: id,
      Name: values.Name,
      AccountId: values.AccountId ?? null,
      StageName: values.StageName ?? "Prospecting",
      CloseDate: values.CloseDate ?? "2026-12-31",
      Amount: values.Amount ?? null,
      Pricebook2Id: values.Pricebook2Id ?? null,
      HasOpportunityLineItem: false,
      QS_Approval_Required__c: false,
      QS_Approval_Reasons__c: null,
      LastModifiedDate: now,
      SystemModstamp: now,
    };
    if (this.multiCurrency) record.CurrencyIsoCode = values.CurrencyIsoCode ?? this.currency;
    this.table("Opportunity").set(id, record);
    return id;
  }

  /** An opportunity created by a user: committed, with its CREATE change event. */
  createOpportunity(values: Parameters<FakeOrg["addOpportunity"]>[0], by: Committer): string {
    const id = this.addOpportunity(values);
    const record = this.get("Opportunity", id) as SfRecord;
    this.commit(
      [
        {
          entity: "Opportunity",
          changeType: "CREATE",
          recordId: id,
          changedFields: [],
          nulledFields: [],
          values: { ...record },
        },
      ],
      by,
    );
    return id;
  }

  // --- SOQL ---

  /** Runs a parsed query; throws `InvalidQuery` for unknown objects or fields (INVALID_FIELD). */
  query(query: SoqlQuery): SfRecord[] {
    if (!this.tables.has(query.object) || !this.fields[query.object]) {
      throw new InvalidQuery("INVALID_TYPE", `sObject type '${query.object}' is not supported.`);
    }
    for (const field of [
      ...query.fields,
      ...query.where.map((c) => c.field),
      ...(query.orderBy ? [query.orderBy.field] : []),
    ]) {
      if (!this.resolvesField(query.object, field)) {
        throw new InvalidQuery("INVALID_FIELD", `No such column '${field}' on entity '${query.object}'.`);
      }
    }
    let rows = this.all(query.object).filter((record) =>
      query.where.every((c) => this.matches(query.object, record, c)),
    );
    if (query.orderBy) {
      const { field, descending } = query.orderBy;
      rows = rows.sort((a, b) => {
        const left = String(this.read(query.object, a, field) ?? "");
        const right = String(this.read(query.object, b, field) ?? "");
        return (left < right ? -1 : left > right ? 1 : 0) * (descending ? -1 : 1);
      });
    }
    if (query.limit !== null) rows = rows.slice(0, query.limit);
    return rows.map((record) => {
      const row: SfRecord = {};
      for (const field of query.fields) row[field] = this.read(query.object, record, field);
      return row;
    });
  }

  private resolvesField(object: string, field: string): boolean {
    const [head, rest] = field.split(".", 2) as [string, string | undefined];
    if (rest === undefined) return this.hasField(object, head);
    // One relationship hop: Product2.<field> on lines and entries.
    return (
      head === "Product2" &&
      (object === "OpportunityLineItem" || object === "PricebookEntry") &&
      this.hasField("Product2", rest)
    );
  }

  private read(_object: string, record: SfRecord, field: string): FieldValue {
    const [head, rest] = field.split(".", 2) as [string, string | undefined];
    if (rest === undefined) return record[head] ?? null;
    const product = this.get("Product2", String(record.Product2Id));
    return product?.[rest] ?? null;
  }

  private matches(object: string, record: SfRecord, condition: SoqlCondition): boolean {
    const actual = this.read(object, record, condition.field);
    const equal = (value: SoqlLiteral) => {
      if (value === null) return actual === null;
      if (typeof value === "boolean") return actual === value;
      if (typeof value === "number") return actual !== null && Number(actual) === value;
      return typeof actual === "string" && actual === value;
    };
    if (condition.op === "IN") return condition.values.some(equal);
    return condition.op === "=" ? equal(condition.value) : !equal(condition.value);
  }

  // --- writes: one call is one transaction ---

  /** sObject Collections create, `allOrNone` false: one result per record, in order. */
  createLines(records: SfRecord[], by: Committer): SaveResult[] {
    const changes: Change[] = [];
    const results = records.map((input) => {
      const errors = this.checkLineCreate(input);
      if (errors.length > 0) return { success: false, errors };
      const entry = this.get("PricebookEntry", String(input.PricebookEntryId)) as SfRecord;
      const opportunity = this.get("Opportunity", String(input.OpportunityId)) as SfRecord;
      const id = this.newId("OpportunityLineItem");
      const line: SfRecord = {
        Id: id,
        OpportunityId: opportunity.Id ?? null,
        PricebookEntryId: entry.Id ?? null,
        Product2Id: entry.Product2Id ?? null,
        ProductCode: entry.ProductCode ?? null,
        Name: entry.Name ?? null,
        ListPrice: entry.UnitPrice ?? null,
        Quantity: null,
        UnitPrice: null,
        Discount: null,
        ServiceDate: null,
        SortOrder: null,
        Description: null,
      };
      for (const [field, value] of Object.entries(input))
        line[field] = normalizeValue("OpportunityLineItem", field, value);
      if (this.multiCurrency) line.CurrencyIsoCode = opportunity.CurrencyIsoCode ?? this.currency;
      if (opportunity.Pricebook2Id === null) {
        // The first line gives the opportunity its entry's price book (B3).
        opportunity.Pricebook2Id = entry.Pricebook2Id ?? null;
        changes.push({
          entity: "Opportunity",
          changeType: "UPDATE",
          recordId: String(opportunity.Id),
          changedFields: ["Pricebook2Id"],
          nulledFields: [],
          values: { Pricebook2Id: opportunity.Pricebook2Id },
        });
      }
      this.table("OpportunityLineItem").set(id, line);
      changes.push({
        entity: "OpportunityLineItem",
        changeType: "CREATE",
        recordId: id,
        changedFields: [],
        nulledFields: [],
        values: line,
      });
      return { id, success: true, errors: [] };
    });
    this.commit(changes, by);
    return results;
  }

  /** Why a line cannot be created (the first reason Salesforce gives), or no error. */
  private checkLineCreate(input: SfRecord): SfError[] {
    const refusal =
      this.unwritableFieldError(Object.keys(input), (field) => LINE_READ_ONLY.has(field)) ??
      requiredFieldError(input) ??
      this.crossReferenceError(input) ??
      this.duplicateKeyOnCreate(input) ??
      this.customValidationError(input);
    return refusal ? [refusal] : [];
  }

  /** The first field the line does not have, or that a call may not set. */
  private unwritableFieldError(fields: string[], notWritable: (field: string) => boolean): SfError | null {
    for (const field of fields) {
      if (!this.hasField("OpportunityLineItem", field)) {
        return error("INVALID_FIELD", `No such column '${field}' on sobject of type OpportunityLineItem`, [
          field,
        ]);
      }
      if (notWritable(field)) {
        return error(
          "INVALID_FIELD_FOR_INSERT_UPDATE",
          `Unable to create/update fields: ${field}. Please check the security settings of this field and verify that it is read/write for your profile or permission set.`,
          [field],
        );
      }
    }
    return null;
  }

  /** A new line's opportunity and price book entry: they exist, and the entry fits the opportunity. */
  private crossReferenceError(input: SfRecord): SfError | null {
    const opportunity = this.get("Opportunity", String(input.OpportunityId));
    if (!opportunity)
      return error("INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id", ["OpportunityId"]);
    const entry = this.get("PricebookEntry", String(input.PricebookEntryId));
    if (!entry)
      return error("INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id", ["PricebookEntryId"]);
    if (entry.IsActive !== true) {
      return error(
        "FIELD_INTEGRITY_EXCEPTION",
        "field integrity exception: PricebookEntryId (pricebook entry is inactive)",
        ["PricebookEntryId"],
      );
    }
    if (opportunity.Pricebook2Id !== null && opportunity.Pricebook2Id !== entry.Pricebook2Id) {
      return error(
        "FIELD_INTEGRITY_EXCEPTION",
        "field integrity exception: PricebookEntryId (pricebook entry is in a different pricebook than the one assigned to the opportunity)",
        ["PricebookEntryId"],
      );
    }
    if (this.multiCurrency && entry.CurrencyIsoCode !== opportunity.CurrencyIsoCode) {
      return error(
        "FIELD_INTEGRITY_EXCEPTION",
        "field integrity exception: PricebookEntryId (pricebook entry currency code does not match opportunity currency code)",
        ["PricebookEntryId"],
      );
    }
    return null;
  }

  /** The External ID is unique: a new line may not take one a line already has. */
  private duplicateKeyOnCreate(input: SfRecord): SfError | null {
    const key = input[this.syncKeyField];
    if (
      typeof key === "string" &&
      this.all("OpportunityLineItem").some((line) => line[this.syncKeyField] === key)
    ) {
      return error(
        "DUPLICATE_VALUE",
        `duplicate value found: ${this.syncKeyField} duplicates value on record with id: …`,
        [this.syncKeyField],
      );
    }
    return null;
  }

  private customValidationError(line: SfRecord): SfError | null {
    const refusal = this.lineValidation?.(line) ?? null;
    return refusal ? error("FIELD_CUSTOM_VALIDATION_EXCEPTION", refusal, []) : null;
  }

  /** sObject Collections update (or a user's edit): create-only fields are refused. */
  updateLines(records: Array<{ id: string; values: SfRecord }>, by: Committer): SaveResult[] {
    const changes: Change[] = [];
    const results = records.map(({ id, values }) => this.updateLine(id, values, changes));
    this.commit(changes, by);
    return results;
  }

  /** One record of an update: its result, and its change added to the transaction's. */
  private updateLine(id: string, values: SfRecord, changes: Change[]): SaveResult {
    const line = this.get("OpportunityLineItem", id);
    if (!line) return { success: false, errors: [error("ENTITY_IS_DELETED", "entity is deleted", [])] };
    const fieldError = this.unwritableFieldError(
      Object.keys(values),
      (field) => LINE_CREATE_ONLY.has(field) || LINE_READ_ONLY.has(field),
    );
    if (fieldError) return { success: false, errors: [fieldError] };
    const key = values[this.syncKeyField];
    if (
      typeof key === "string" &&
      this.all("OpportunityLineItem").some((other) => other.Id !== id && other[this.syncKeyField] === key)
    ) {
      return {
        success: false,
        errors: [
          error("DUPLICATE_VALUE", `duplicate value found: ${this.syncKeyField}`, [this.syncKeyField]),
        ],
      };
    }
    const next = { ...line };
    for (const [field, value] of Object.entries(values))
      next[field] = normalizeValue("OpportunityLineItem", field, value);
    const refusal = this.customValidationError(next);
    if (refusal) return { success: false, errors: [refusal] };
    const changed = Object.keys(values).filter((field) => line[field] !== next[field]);
    this.table("OpportunityLineItem").set(id, next);
    if (changed.length > 0) {
      const carried: SfRecord = {};
      for (const field of changed) carried[field] = next[field] ?? null;
      changes.push({
        entity: "OpportunityLineItem",
        changeType: "UPDATE",
        recordId: id,
        changedFields: changed,
        nulledFields: changed.filter((field) => next[field] === null),
        values: carried,
      });
    }
    return { id, success: true, errors: [] };
  }

  /** sObject Collections delete: `ENTITY_IS_DELETED` for what is gone. */
  deleteRecords(ids: string[], by: Committer): SaveResult[] {
    const changes: Change[] = [];
    const results = ids.map((id) => {
      if (!/^[A-Za-z0-9]{15}([A-Za-z0-9]{3})?$/.test(id)) {
        return { success: false, errors: [error("MALFORMED_ID", `malformed id ${id}`, [])] };
      }
      for (const object of ["OpportunityLineItem", "Opportunity"] as const) {
        const record = this.get(object, id);
        if (!record) continue;
        if (object === "Opportunity") {
          // Deleting an opportunity deletes its lines first (B3, CONNECTORS §4 "Deletes that cascade").
          for (const line of this.all("OpportunityLineItem").filter((l) => l.OpportunityId === id)) {
            this.table("OpportunityLineItem").delete(String(line.Id));
            changes.push({
              entity: "OpportunityLineItem",
              changeType: "DELETE",
              recordId: String(line.Id),
              changedFields: [],
              nulledFields: [],
              values: {},
            });
          }
        }
        this.table(object).delete(id);
        changes.push({
          entity: object,
          changeType: "DELETE",
          recordId: id,
          changedFields: [],
          nulledFields: [],
          values: {},
        });
        return { id, success: true, errors: [] };
      }
      return { id, success: false, errors: [error("ENTITY_IS_DELETED", "entity is deleted", [])] };
    });
    this.commit(changes, by);
    return results;
  }

  /** `PATCH /sobjects/Opportunity/{id}`: Amount is ignored while the opportunity has lines (B3). */
  updateOpportunity(id: string, values: SfRecord, by: Committer): SfError | null {
    const opportunity = this.get("Opportunity", id);
    if (!opportunity) return error("NOT_FOUND", "The requested resource does not exist", []);
    for (const field of Object.keys(values)) {
      if (
        !this.hasField("Opportunity", field) ||
        ["Id", "HasOpportunityLineItem", "LastModifiedDate", "SystemModstamp"].includes(field)
      ) {
        return error("INVALID_FIELD_FOR_INSERT_UPDATE", `Unable to create/update fields: ${field}.`, [field]);
      }
    }
    const hasLines = opportunity.HasOpportunityLineItem === true;
    if (
      hasLines &&
      ((values.Pricebook2Id !== undefined && values.Pricebook2Id !== opportunity.Pricebook2Id) ||
        (values.CurrencyIsoCode !== undefined && values.CurrencyIsoCode !== opportunity.CurrencyIsoCode))
    ) {
      return error(
        "FIELD_INTEGRITY_EXCEPTION",
        "field integrity exception: the price book and currency of an opportunity with products cannot change",
        ["Pricebook2Id"],
      );
    }
    const changed: string[] = [];
    for (const [field, value] of Object.entries(values)) {
      if (field === "Amount" && hasLines) continue;
      const next = normalizeValue("Opportunity", field, value);
      if (opportunity[field] !== next) {
        opportunity[field] = next;
        changed.push(field);
      }
    }
    const changes: Change[] = [];
    if (changed.length > 0) {
      const carried: SfRecord = {};
      for (const field of changed) carried[field] = opportunity[field] ?? null;
      changes.push({
        entity: "Opportunity",
        changeType: "UPDATE",
        recordId: id,
        changedFields: changed,
        nulledFields: changed.filter((f) => opportunity[f] === null),
        values: carried,
      });
    }
    this.commit(changes, by);
    return null;
  }

  /**
   * Ends a transaction: recomputes each touched opportunity's Amount (Σ unrounded line totals,
   * rounded) and line totals, stamps modification times, and queues one change event per record
   * changed (DELETEs of one entity merged into one event naming several records, B2).
   */
  private commit(changes: Change[], by: Committer): void {
    if (changes.length === 0) return;
    const at = this.commitTime();
    const iso = new Date(at).toISOString();
    const touched = new Set<string>();
    for (const change of changes) {
      if (change.entity === "OpportunityLineItem") {
        const owner = this.stampLine(change, by, iso);
        if (owner) touched.add(owner);
      } else {
        const opportunity = this.get("Opportunity", change.recordId);
        if (opportunity) {
          opportunity.LastModifiedDate = iso;
          opportunity.SystemModstamp = iso;
          change.changedFields.push("LastModifiedDate");
          change.values.LastModifiedDate = iso;
        }
      }
    }
    for (const opportunityId of touched) this.rollUp(opportunityId, changes, iso);
    for (const line of this.all("OpportunityLineItem"))
      this.lineOwners.set(String(line.Id), String(line.OpportunityId));
    this.queueEvents(changes, by, at);
  }

  /**
   * A line's totals and modification stamps after its change (a created line's event carries it
   * whole); gives the opportunity it belongs to, or belonged to before a delete.
   */
  private stampLine(change: Change, by: Committer, iso: string): string | undefined {
    const line = this.get("OpportunityLineItem", change.recordId);
    if (!line) return this.lineOwners.get(change.recordId);
    line.TotalPrice = displayedLineTotal(lineNumbers(line), this.currency);
    line.Subtotal = displayedLineTotal({ quantity: line.Quantity, unitPrice: line.UnitPrice }, this.currency);
    line.LastModifiedDate = iso;
    line.SystemModstamp = iso;
    line.LastModifiedById = by.userId;
    if (change.changeType === "CREATE") {
      change.values = { ...line };
    } else {
      change.changedFields.push("LastModifiedDate");
      change.values.LastModifiedDate = iso;
    }
    return String(line.OpportunityId);
  }

  /**
   * An opportunity's Amount and HasOpportunityLineItem after its lines changed; a change to either
   * joins the opportunity's change in this transaction, or becomes one.
   */
  private rollUp(opportunityId: string, changes: Change[], iso: string): void {
    const opportunity = this.get("Opportunity", opportunityId);
    if (!opportunity) return;
    const lines = this.all("OpportunityLineItem").filter((line) => line.OpportunityId === opportunityId);
    const hasLines = lines.length > 0;
    const amount = hasLines ? salesforceAmount(lines.map(lineNumbers), this.currency) : opportunity.Amount;
    const changed: string[] = [];
    if (amount !== opportunity.Amount) changed.push("Amount");
    if (hasLines !== opportunity.HasOpportunityLineItem) changed.push("HasOpportunityLineItem");
    opportunity.Amount = amount ?? null;
    opportunity.HasOpportunityLineItem = hasLines;
    opportunity.SystemModstamp = iso;
    if (changed.length === 0) return;
    opportunity.LastModifiedDate = iso;
    const existing = changes.find((c) => c.entity === "Opportunity" && c.recordId === opportunityId);
    const carried: SfRecord = { LastModifiedDate: iso };
    for (const field of changed) carried[field] = opportunity[field] ?? null;
    if (existing) {
      existing.changedFields.push(...changed);
      Object.assign(existing.values, carried);
    } else {
      changes.push({
        entity: "Opportunity",
        changeType: "UPDATE",
        recordId: opportunityId,
        changedFields: [...changed, "LastModifiedDate"],
        nulledFields: [],
        values: carried,
      });
    }
  }

  /** Which opportunity each line belonged to, so a line's delete can still roll up its Amount. */
  private readonly lineOwners = new Map<string, string>();

  private queueEvents(changes: Change[], by: Committer, at: number): void {
    const transactionKey = randomUUID();
    this.commitNumber++;
    let sequence = 0;
    const header: EventHeader = (entity, changeType, recordIds, changedFields, nulledFields) => ({
      entityName: entity,
      recordIds,
      changeType,
      changeOrigin: by.changeOrigin,
      transactionKey,
      sequenceNumber: ++sequence,
      commitTimestamp: at,
      commitNumber: this.commitNumber,
      commitUser: by.userId,
      changedFields,
      nulledFields,
      diffFields: [],
    });
    const { merged, mergedIds } = mergeSameUpdates(changes);
    const deletes = new Map<string, string[]>();
    for (const change of merged) {
      if (change.changeType === "DELETE") {
        deletes.set(change.entity, [...(deletes.get(change.entity) ?? []), change.recordId]);
        continue;
      }
      if (deletes.size > 0) this.flushDeletes(deletes, header);
      const values = withoutSystemId(change.values);
      this.relayQueue.push({
        ChangeEventHeader: header(
          change.entity,
          change.changeType,
          mergedIds.get(change) ?? [change.recordId],
          change.changeType === "CREATE" ? [] : [...new Set(change.changedFields)],
          change.nulledFields,
        ),
        ...serializeRecord(change.entity, values),
      });
    }
    this.flushDeletes(deletes, header);
  }

  private flushDeletes(deletes: Map<string, string[]>, header: EventHeader): void {
    for (const [entity, recordIds] of deletes) {
      this.relayQueue.push({ ChangeEventHeader: header(entity, "DELETE", recordIds, [], []) });
    }
    deletes.clear();
  }
}

/** The header of the transaction's next change event (its sequence number taken). */
type EventHeader = (
  entity: string,
  changeType: string,
  recordIds: string[],
  changedFields: string[],
  nulledFields: string[],
) => ChangeEventPayload["ChangeEventHeader"];

/**
 * The same change to several records of one object in one transaction is one event naming them
 * all (B2 "recordIds"): the changes with the first of each such group standing for it.
 */
function mergeSameUpdates(changes: Change[]): { merged: Change[]; mergedIds: Map<Change, string[]> } {
  const merged: Change[] = [];
  const mergedIds = new Map<Change, string[]>();
  for (const change of changes) {
    const same =
      change.changeType === "UPDATE"
        ? merged.find(
            (other) =>
              other.changeType === "UPDATE" &&
              other.entity === change.entity &&
              JSON.stringify([other.changedFields, other.values]) ===
                JSON.stringify([change.changedFields, change.values]),
          )
        : undefined;
    if (same) mergedIds.get(same)?.push(change.recordId);
    else {
      merged.push(change);
      mergedIds.set(change, [change.recordId]);
    }
  }
  return { merged, mergedIds };
}

/** A request the org refuses as a whole (400 with `[{message, errorCode}]`). */
export class InvalidQuery extends Error {
  constructor(
    readonly errorCode: string,
    message: string,
  ) {
    super(message);
    this.name = "InvalidQuery";
  }
}

/** A new line names its opportunity, entry and quantity, and one price: unit or total, not both. */
function requiredFieldError(input: SfRecord): SfError | null {
  const missing = ["OpportunityId", "PricebookEntryId", "Quantity"].filter(
    (field) => input[field] === undefined || input[field] === null,
  );
  if (input.UnitPrice == null && input.TotalPrice == null) missing.push("UnitPrice");
  if (missing.length > 0)
    return error("REQUIRED_FIELD_MISSING", `Required fields are missing: [${missing.join(", ")}]`, missing);
  if (input.UnitPrice != null && input.TotalPrice != null) {
    return error(
      "FIELD_INTEGRITY_EXCEPTION",
      "field integrity exception: TotalPrice (you can't specify both unit price and total price)",
      ["TotalPrice"],
    );
  }
  return null;
}

function error(statusCode: string, message: string, fields: string[]): SfError {
  return { statusCode, message, fields };
}

function lineNumbers(line: SfRecord) {
  return {
    quantity: line.Quantity ?? "0",
    unitPrice: line.UnitPrice ?? "0",
    discountPercent: line.Discount ?? null,
  };
}

function withoutSystemId(values: SfRecord): SfRecord {
  const { Id: _id, ...rest } = values;
  return rest;
}

/** Stores numbers as exact decimal strings; everything else as sent. */
function normalizeValue(object: string, field: string, value: FieldValue | number | undefined): FieldValue {
  if (value === undefined || value === null) return null;
  if (NUMERIC_FIELDS[object]?.has(field)) return normalizeQuantity(value);
  return value as FieldValue;
}

/** A record as JSON: numeric fields as numbers (Salesforce answers JSON numbers). */
export function serializeRecord(object: string, record: SfRecord): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [field, value] of Object.entries(record)) {
    out[field] =
      NUMERIC_FIELDS[object]?.has(field) && typeof value === "string" ? new RawNumber(value) : value;
  }
  return out;
}

export { stringifyWithNumbers } from "../json.js";
