import type { SalesforceConnector } from "../../domain/connectors.js";
import { parseDecimal, toCanonicalString } from "../../domain/decimal.js";
import type { FieldValue, LineInput, OpportunityInput } from "../../domain/events.js";
import type { MirrorLine } from "../../domain/model.js";
import type { TenantConfig } from "../../domain/tenant.js";
import { RawNumber } from "./json.js";

/**
 * Field translation between Salesforce records and quotesync's lines and opportunities
 * (CONNECTORS §4 "Line fields"). Pure: no I/O.
 */

type SfRecord = Record<string, unknown>;

/** Standard OpportunityLineItem fields quotesync reads and what they mean to it. */
export const LINE_VALUE_FIELDS = [
  "Quantity",
  "UnitPrice",
  "Discount",
  "ServiceDate",
  "SortOrder",
  "Description",
] as const;

/** The field (or relationship path) that names a line's product as quotesync's `productId`. */
export function productField(connector: SalesforceConnector): string {
  switch (connector.productKey.kind) {
    case "id":
      return "Product2Id";
    case "productCode":
      return "ProductCode";
    case "externalId":
      return `Product2.${connector.productKey.field}`;
  }
}

/** Declared custom line fields that Salesforce holds (the tenant's `opportunityLine` names). */
export function customLineFields(tenant: TenantConfig): string[] {
  return Object.keys(tenant.fields.opportunityLine).filter((name) => name.endsWith("__c"));
}

export function customOpportunityFields(tenant: TenantConfig): string[] {
  return Object.keys(tenant.fields.opportunity).filter((name) => name.endsWith("__c"));
}

/** The SELECT list for lines. */
export function lineSelect(connector: SalesforceConnector, tenant: TenantConfig): string[] {
  return [
    ...new Set([
      "Id",
      "OpportunityId",
      productField(connector),
      ...LINE_VALUE_FIELDS,
      connector.syncKeyField,
      ...customLineFields(tenant),
      "LastModifiedDate",
      "SystemModstamp",
    ]),
  ];
}

/** The SELECT list for opportunities (`CurrencyIsoCode` only in multi-currency orgs). */
export function opportunitySelect(connector: SalesforceConnector, tenant: TenantConfig): string[] {
  return [
    ...new Set([
      "Id",
      "Name",
      "AccountId",
      "StageName",
      "CloseDate",
      "Amount",
      "Pricebook2Id",
      ...(connector.multiCurrency ? ["CurrencyIsoCode"] : []),
      "HasOpportunityLineItem",
      ...customOpportunityFields(tenant),
      "LastModifiedDate",
      "SystemModstamp",
    ]),
  ];
}

/** Reads a (possibly dotted) field of a query row or a change event. */
export function readField(record: SfRecord, path: string): unknown {
  let value: unknown = record;
  for (const part of path.split(".")) {
    if (value === null || typeof value !== "object") return undefined;
    value = (value as SfRecord)[part];
  }
  return value;
}

/** A date field: ISO date or epoch milliseconds (relayed CDC carries either, B1) → YYYY-MM-DD. */
export function dateValue(value: unknown): string | null {
  if (value === null || value === undefined || value === "") return null;
  if (typeof value === "number") return new Date(value).toISOString().slice(0, 10);
  if (typeof value === "string") return value.slice(0, 10);
  throw new TypeError(`not a date: ${JSON.stringify(value)}`);
}

/** A date-time field: ISO or epoch milliseconds → epoch milliseconds (null when absent). */
export function timeValue(value: unknown): number | null {
  if (typeof value === "number" && Number.isFinite(value)) return value;
  if (typeof value === "string") {
    const parsed = Date.parse(value);
    return Number.isNaN(parsed) ? null : parsed;
  }
  return null;
}

function decimalText(value: unknown): string | null {
  if (value === null || value === undefined) return null;
  return toCanonicalString(parseDecimal(value));
}

function customValue(value: unknown): FieldValue {
  if (value === undefined) return null;
  if (typeof value === "string" || typeof value === "boolean" || value === null) return value;
  if (typeof value === "number") return value;
  return JSON.stringify(value);
}

/** A Salesforce line (query row or complete change event) as quotesync's line report. */
export function lineInputFrom(
  record: SfRecord,
  id: string,
  connector: SalesforceConnector,
  tenant: TenantConfig,
): LineInput {
  const productId = readField(record, productField(connector));
  const syncKey = record[connector.syncKeyField];
  const fields: Record<string, FieldValue> = {};
  for (const name of customLineFields(tenant)) {
    if (name in record) fields[name] = customValue(record[name]);
  }
  const discount = decimalText(record.Discount);
  const position = record.SortOrder;
  return {
    id,
    ...(typeof syncKey === "string" && syncKey !== "" ? { syncKey } : {}),
    productId: String(productId ?? ""),
    name: typeof record.Description === "string" ? record.Description : null,
    quantity: decimalText(record.Quantity) ?? "0",
    unitPrice: decimalText(record.UnitPrice) ?? "0",
    discountPercent: discount ?? "0",
    position:
      typeof position === "number" ? Math.trunc(position) : position == null ? null : Number(position),
    serviceDate: dateValue(record.ServiceDate),
    fields,
  };
}

/** A Salesforce opportunity as quotesync's opportunity report; `amount` only when asked. */
export function opportunityInputFrom(
  record: SfRecord,
  connector: SalesforceConnector,
  tenant: TenantConfig,
  options: { includeAmount: boolean },
): OpportunityInput {
  const fields: Record<string, FieldValue> = {};
  for (const name of customOpportunityFields(tenant)) {
    if (name in record) fields[name] = customValue(record[name]);
  }
  const amount = decimalText(record.Amount);
  return {
    id: String(record.Id),
    name: typeof record.Name === "string" ? record.Name : null,
    accountId: typeof record.AccountId === "string" ? record.AccountId : null,
    stage: typeof record.StageName === "string" ? record.StageName : null,
    ...(options.includeAmount && amount !== null ? { amount } : {}),
    currency:
      connector.multiCurrency && typeof record.CurrencyIsoCode === "string"
        ? record.CurrencyIsoCode
        : connector.currency,
    pricebookId: typeof record.Pricebook2Id === "string" ? record.Pricebook2Id : null,
    closeDate: dateValue(record.CloseDate),
    fields,
  };
}

/** The writable fields of a line as a mirror carries it (no create-only fields, no `TotalPrice`). */
export function lineValuesFor(
  line: MirrorLine,
  connector: SalesforceConnector,
  tenant: TenantConfig,
): SfRecord {
  const values: SfRecord = {
    Quantity: new RawNumber(line.quantity),
    UnitPrice: new RawNumber(line.unitPrice),
    Discount: new RawNumber(line.discountPercent),
    ServiceDate: line.serviceDate,
    SortOrder: line.position,
    Description: line.name === null ? null : line.name.slice(0, 255),
    [connector.syncKeyField]: line.syncKey,
  };
  for (const name of customLineFields(tenant)) {
    if (name in line.fields) values[name] = line.fields[name] ?? null;
  }
  return values;
}

/** The values a line report carries that quotesync compares (an echo check without a read). */
export function comparableLine(line: {
  productId: string;
  quantity: string;
  unitPrice: string;
  discountPercent: string | null | undefined;
  position: number | null | undefined;
  serviceDate: string | null | undefined;
  name: string | null | undefined;
}): string {
  return JSON.stringify([
    line.productId,
    toCanonicalString(parseDecimal(line.quantity)),
    toCanonicalString(parseDecimal(line.unitPrice)),
    toCanonicalString(parseDecimal(line.discountPercent ?? "0")),
    line.position ?? null,
    line.serviceDate ?? null,
    line.name ?? null,
  ]);
}

/**
 * The price book Salesforce gave an opportunity with the first line quotesync created (the
 * connector's `pricebookId`, B3) is quotesync's own doing, not a price book change that stops
 * sync (SPEC §1.10): reported as quotesync holds it (none).
 */
export function withoutAssignedPricebook(
  input: OpportunityInput,
  heldPricebookId: string | null | undefined,
  connector: SalesforceConnector,
): OpportunityInput {
  if (heldPricebookId == null && input.pricebookId != null && input.pricebookId === connector.pricebookId) {
    return { ...input, pricebookId: null };
  }
  return input;
}
