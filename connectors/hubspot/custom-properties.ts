import type { HubSpotClient } from "./client.js";

/**
 * The custom properties quotesync reads and writes (CONNECTORS §3), created once per portal through
 * `POST /crm/v3/properties/{objectType}` by `quotesync hubspot setup-properties` (never at run time).
 */
export const CUSTOM_PROPERTIES: Array<{
  objectType: "line_items" | "deals" | "quotes";
  property: Record<string, unknown>;
}> = [
  {
    objectType: "line_items",
    property: {
      name: "quotesync_sync_key",
      label: "quotesync sync key",
      description: "Pairs this line item with its twin on the deal or quote. Set by quotesync; do not edit.",
      groupName: "lineiteminformation",
      type: "string",
      fieldType: "text",
    },
  },
  {
    objectType: "deals",
    property: {
      name: "quotesync_synced_quote_id",
      label: "quotesync synced quote",
      description: "The HubSpot quote this deal's line items follow.",
      groupName: "dealinformation",
      type: "string",
      fieldType: "text",
    },
  },
  {
    objectType: "deals",
    property: {
      name: "quotesync_amount_locked",
      label: "quotesync amount locked",
      description: "The amount follows the synced quote's subtotal while true.",
      groupName: "dealinformation",
      type: "bool",
      fieldType: "booleancheckbox",
      options: [
        { label: "Yes", value: "true", displayOrder: 0, hidden: false },
        { label: "No", value: "false", displayOrder: 1, hidden: false },
      ],
    },
  },
  {
    objectType: "deals",
    property: {
      name: "quotesync_approval_required",
      label: "quotesync approval required",
      description: "The synced quote needs approval (the tenant's approval rules).",
      groupName: "dealinformation",
      type: "bool",
      fieldType: "booleancheckbox",
      options: [
        { label: "Yes", value: "true", displayOrder: 0, hidden: false },
        { label: "No", value: "false", displayOrder: 1, hidden: false },
      ],
    },
  },
  {
    objectType: "deals",
    property: {
      name: "quotesync_approval_reasons",
      label: "quotesync approval reasons",
      description: "Why the synced quote needs approval.",
      groupName: "dealinformation",
      type: "string",
      fieldType: "textarea",
    },
  },
  {
    objectType: "deals",
    property: {
      name: "quotesync_pending_changes",
      label: "quotesync pending changes",
      description: "Changes waiting to reach the quote (e.g. while it is published and locked).",
      groupName: "dealinformation",
      type: "number",
      fieldType: "number",
    },
  },
  {
    objectType: "quotes",
    property: {
      name: "quotesync_sync",
      label: "Synchronize with deal",
      description: "Set to true to keep this quote and its deal in step; false stops.",
      groupName: "quoteinformation",
      type: "bool",
      fieldType: "booleancheckbox",
      options: [
        { label: "Yes", value: "true", displayOrder: 0, hidden: false },
        { label: "No", value: "false", displayOrder: 1, hidden: false },
      ],
    },
  },
  {
    objectType: "quotes",
    property: {
      name: "quotesync_syncing",
      label: "quotesync syncing",
      description: "Set by quotesync: this quote is the deal's synced quote.",
      groupName: "quoteinformation",
      type: "bool",
      fieldType: "booleancheckbox",
      options: [
        { label: "Yes", value: "true", displayOrder: 0, hidden: false },
        { label: "No", value: "false", displayOrder: 1, hidden: false },
      ],
    },
  },
];

/** Creates each property; one that exists already (409) is left as it is. */
export async function setupCustomProperties(
  client: HubSpotClient,
): Promise<Array<{ objectType: string; name: string; result: "created" | "exists" }>> {
  const results = [];
  for (const { objectType, property } of CUSTOM_PROPERTIES) {
    results.push({
      objectType,
      name: String(property.name),
      result: await client.createProperty(objectType, property),
    });
  }
  return results;
}
