import type { HubSpotConnector } from "../../domain/connectors.js";
import type {
  FieldValue,
  LineInput,
  OpportunityInput,
  QuoteInput,
  QuoteStatus,
} from "../../domain/events.js";
import type { LineValues, MirrorLine } from "../../domain/model.js";
import type { FieldType, TenantConfig } from "../../domain/tenant.js";

/**
 * Translation between HubSpot records (every property value a string) and quotesync's records
 * (CONNECTORS.md §3 "Line fields"). Pure: no I/O. Decimals are handed to quotesync as the strings
 * HubSpot sent, which the event schemas normalize exactly; numbers are accepted too.
 */

export type Properties = Record<string, string | number | boolean | null | undefined>;

export const SYNC_KEY_PROPERTY = "quotesync_sync_key";

const BILLING_FREQUENCY: Record<string, NonNullable<LineValues["billingPeriod"]>> = {
  monthly: "month",
  quarterly: "quarter",
  annually: "year",
};
const FREQUENCY_OF: Record<NonNullable<LineValues["billingPeriod"]>, string> = {
  month: "monthly",
  quarter: "quarterly",
  year: "annually",
};

/** The line item properties quotesync reads (plus the tenant's declared custom line fields). */
export function lineItemPropertyNames(declared: Record<string, FieldType>): string[] {
  return [
    "name",
    "hs_product_id",
    "hs_sku",
    "quantity",
    "price",
    "hs_discount_percentage",
    "recurringbillingfrequency",
    "hs_recurring_billing_start_date",
    "hs_position_on_quote",
    SYNC_KEY_PROPERTY,
    ...Object.keys(declared),
  ];
}

export const DEAL_PROPERTIES = [
  "dealname",
  "dealstage",
  "amount",
  "deal_currency_code",
  "closedate",
  "pipeline",
];
export const QUOTE_PROPERTIES = [
  "hs_title",
  "hs_status",
  "hs_currency",
  "hs_expiration_date",
  "hs_locked",
  "hs_template_type",
  "hs_esign_num_signers_completed",
  "hs_esign_num_signers_required",
  "hs_payment_status",
  "quotesync_sync",
];

function text(value: Properties[string]): string | null {
  if (value === null || value === undefined) return null;
  const string = String(value).trim();
  return string === "" ? null : string;
}

/** A HubSpot date property (`YYYY-MM-DD`, ISO time or epoch ms) as an ISO date. */
export function isoDate(value: Properties[string]): string | null {
  const raw = text(value);
  if (raw === null) return null;
  if (/^\d{4}-\d{2}-\d{2}$/.test(raw)) return raw;
  const time = /^\d+$/.test(raw) ? Number(raw) : Date.parse(raw);
  return Number.isFinite(time) ? new Date(time).toISOString().slice(0, 10) : null;
}

function customFields(
  properties: Properties,
  declared: Record<string, FieldType>,
): Record<string, FieldValue> {
  const fields: Record<string, FieldValue> = {};
  for (const [name, type] of Object.entries(declared)) {
    const raw = text(properties[name]);
    if (raw === null) continue;
    if (type === "number") fields[name] = Number.isFinite(Number(raw)) ? Number(raw) : raw;
    else if (type === "boolean") fields[name] = raw === "true";
    else fields[name] = raw;
  }
  return fields;
}

/** A HubSpot line item as the quotesync line it reports (its id is the HubSpot id). */
export function lineFromLineItem(
  id: string,
  properties: Properties,
  declared: Record<string, FieldType>,
): LineInput {
  const frequency = text(properties.recurringbillingfrequency);
  const period = frequency ? BILLING_FREQUENCY[frequency] : undefined;
  const position = text(properties.hs_position_on_quote);
  const syncKey = text(properties[SYNC_KEY_PROPERTY]);
  const line = {
    id,
    productId: text(properties.hs_product_id) ?? text(properties.hs_sku) ?? "none",
    name: text(properties.name),
    quantity: text(properties.quantity) ?? "0",
    unitPrice: text(properties.price) ?? "0",
    discountPercent: text(properties.hs_discount_percentage) ?? "0",
    billing: period ? "recurring" : "one_time",
    billingPeriod: period ?? null,
    position: position !== null && /^\d+(\.0+)?$/.test(position) ? Number.parseInt(position, 10) : null,
    serviceDate: isoDate(properties.hs_recurring_billing_start_date),
    fields: customFields(properties, declared),
  } as unknown as LineInput;
  if (syncKey) line.syncKey = syncKey;
  return line;
}

/** The properties a mirrored line is written with: strings only, `amount` never (HubSpot computes it). */
export function lineItemProperties(line: MirrorLine | LineValues, syncKey: string): Record<string, string> {
  const properties: Record<string, string> = {
    name: line.name ?? "",
    quantity: line.quantity,
    price: line.unitPrice,
    hs_discount_percentage: line.discountPercent,
    recurringbillingfrequency:
      line.billing === "recurring" && line.billingPeriod ? FREQUENCY_OF[line.billingPeriod] : "",
    hs_recurring_billing_start_date: line.serviceDate ?? "",
    hs_position_on_quote: line.position === null ? "" : String(line.position),
    [SYNC_KEY_PROPERTY]: syncKey,
  };
  // HubSpot product ids are numeric; anything else is a SKU.
  if (/^\d+$/.test(line.productId)) properties.hs_product_id = line.productId;
  else properties.hs_sku = line.productId;
  for (const [name, value] of Object.entries(line.fields))
    properties[name] = value === null ? "" : String(value);
  return properties;
}

/** A deal as the quotesync opportunity it reports; `dealstage` ids are named back through the stage map. */
export function opportunityFromDeal(
  id: string,
  properties: Properties,
  tenant: TenantConfig,
  connector: HubSpotConnector,
): OpportunityInput {
  const stageId = text(properties.dealstage);
  const stageName = Object.entries(connector.stages).find(([, hubspotId]) => hubspotId === stageId)?.[0];
  return {
    id,
    name: text(properties.dealname),
    stage: stageName ?? stageId,
    amount: text(properties.amount),
    currency: text(properties.deal_currency_code) ?? "USD",
    closeDate: isoDate(properties.closedate),
    fields: customFields(properties, tenant.fields.opportunity),
  } as unknown as OpportunityInput;
}

const STATUS: Record<string, QuoteStatus> = {
  DRAFT: "draft",
  PENDING_APPROVAL: "in_review",
  APPROVAL_NOT_NEEDED: "approved",
  APPROVED: "approved",
  REJECTED: "rejected",
  ACCEPTED: "accepted",
};

/** A HubSpot quote as the quotesync quote it reports. */
export function quoteFromHubSpotQuote(
  id: string,
  dealId: string,
  properties: Properties,
  tenant: TenantConfig,
): QuoteInput {
  const status = text(properties.hs_status);
  return {
    id,
    opportunityId: dealId,
    name: text(properties.hs_title),
    status: (status && STATUS[status]) ?? (isLegacyAccepted(properties) ? "accepted" : null),
    currency: text(properties.hs_currency) ?? "USD",
    expiresAt: isoDate(properties.hs_expiration_date),
    fields: customFields(properties, tenant.fields.quote),
  } as unknown as QuoteInput;
}

/** Published (CONNECTORS §3): `APPROVAL_NOT_NEEDED` or `APPROVED`, i.e. quotesync's `cart.finalized`. */
export function isPublished(properties: Properties): boolean {
  const status = text(properties.hs_status);
  return status === "APPROVED" || status === "APPROVAL_NOT_NEEDED";
}

/** Accepted: `ACCEPTED` (CPQ quotes), or all e-signatures in, or paid (legacy quotes). */
export function isAccepted(properties: Properties): boolean {
  return text(properties.hs_status) === "ACCEPTED" || isLegacyAccepted(properties);
}

function isLegacyAccepted(properties: Properties): boolean {
  const required = Number(text(properties.hs_esign_num_signers_required) ?? 0);
  const completed = Number(text(properties.hs_esign_num_signers_completed) ?? 0);
  return (required > 0 && completed >= required) || text(properties.hs_payment_status) === "PAID";
}

/** A quote nothing may be written to: published (`hs_locked`) or accepted. */
export function isLocked(properties: Properties): boolean {
  return text(properties.hs_locked) === "true" || text(properties.hs_status) === "ACCEPTED";
}
