import { z } from "zod";

/**
 * The `connectors` part of a tenant's configuration (CONNECTORS.md §1): which system each side is,
 * and how quotesync reaches it. `native` (the default) speaks SPEC.md: events in, mirrors answered
 * and written to the outbox, and optionally POSTed to a webhook of the tenant's (§2).
 */

/** An SSM Parameter Store name under quotesync's prefix whose JSON value holds the side's credentials. */
const CredentialsParameter = z
  .string()
  .regex(/^\/[A-Za-z0-9_.\-/]{1,1000}$/, "an SSM parameter name such as /quotesync/acme/crm");

const HttpUrl = z
  .string()
  .max(2048)
  .refine((value) => {
    try {
      const url = new URL(value);
      return url.protocol === "https:" || url.protocol === "http:";
    } catch {
      return false;
    }
  }, "an http(s) URL");

/** Mirrors for a `native` side POSTed to the tenant's own endpoint, signed with `secret` (§2). */
export const WebhookDelivery = z.strictObject({
  kind: z.literal("webhook"),
  url: HttpUrl,
  /** The delivery secret receivers check signatures with; may live in `credentialsParameter`. */
  secret: z.string().min(16).max(256).optional(),
});
export type WebhookDelivery = z.infer<typeof WebhookDelivery>;

export const NativeConnector = z.strictObject({
  kind: z.literal("native"),
  delivery: WebhookDelivery.optional(),
  credentialsParameter: CredentialsParameter.optional(),
});
export type NativeConnector = z.infer<typeof NativeConnector>;

/** HubSpot deals (CRM side) or HubSpot quotes (CPQ side) of one portal (§3). */
export const HubSpotConnector = z.strictObject({
  kind: z.literal("hubspot"),
  portalId: z.coerce.number().int().positive(),
  appId: z.coerce.number().int().positive(),
  baseUrl: HttpUrl.default("https://api.hubapi.com"),
  /** A private app's access token. */
  accessToken: z.string().min(1).max(4096).optional(),
  /** The app's client secret: signs HubSpot's webhooks (v3). */
  clientSecret: z.string().min(1).max(512).optional(),
  /** A public app's OAuth credentials, refreshed before the access token expires. */
  oauth: z
    .strictObject({
      clientId: z.string().min(1).max(512),
      clientSecret: z.string().min(1).max(512),
      refreshToken: z.string().min(1).max(4096),
    })
    .optional(),
  credentialsParameter: CredentialsParameter.optional(),
  /** quotesync stage names → HubSpot `dealstage` internal ids. */
  stages: z.record(z.string().min(1).max(120), z.string().min(1).max(120)).default({}),
  /** Requests per 10 s this tenant's portal may spend (private apps share 100 or 190; default 80). */
  requestsPer10Seconds: z.number().int().min(1).max(1000).default(80),
});
export type HubSpotConnector = z.infer<typeof HubSpotConnector>;

/** Salesforce opportunities (CRM side) through Event Relay in and the REST API out (§4). */
export const SalesforceConnector = z.strictObject({
  kind: z.literal("salesforce"),
  orgId: z.string().regex(/^00D[A-Za-z0-9]{12}([A-Za-z0-9]{3})?$/, "a Salesforce org id (00D…)"),
  /** The org's My Domain URL: the client credentials flow is served there. */
  loginUrl: HttpUrl,
  apiVersion: z
    .string()
    .regex(/^\d{2,3}\.0$/, "an API version such as 62.0")
    .default("62.0"),
  clientId: z.string().min(1).max(512).optional(),
  clientSecret: z.string().min(1).max(512).optional(),
  /** The connected app's run-as user: changes committed by it are quotesync's own. */
  integrationUserId: z
    .string()
    .regex(/^005[A-Za-z0-9]{12}([A-Za-z0-9]{3})?$/)
    .optional(),
  credentialsParameter: CredentialsParameter.optional(),
  /** The External ID field on OpportunityLineItem that holds the syncKey. */
  syncKeyField: z
    .string()
    .regex(/^[A-Za-z][A-Za-z0-9_]*__c$/)
    .default("QS_Sync_Key__c"),
  /** How a quotesync productId names a Salesforce product. */
  productKey: z
    .discriminatedUnion("kind", [
      z.strictObject({ kind: z.literal("id") }),
      z.strictObject({ kind: z.literal("productCode") }),
      z.strictObject({ kind: z.literal("externalId"), field: z.string().regex(/^[A-Za-z][A-Za-z0-9_]*$/) }),
    ])
    .default({ kind: "id" }),
  /** The price book given to an opportunity that has none, with its first line. */
  pricebookId: z
    .string()
    .regex(/^01s[A-Za-z0-9]{12}([A-Za-z0-9]{3})?$/)
    .optional(),
  /** Multi-currency orgs have `CurrencyIsoCode`; elsewhere `currency` is the org's one currency. */
  multiCurrency: z.boolean().default(false),
  currency: z
    .string()
    .regex(/^[A-Z]{3}$/)
    .default("USD"),
  approvalRequiredField: z.string().default("QS_Approval_Required__c"),
  approvalReasonsField: z.string().default("QS_Approval_Reasons__c"),
});
export type SalesforceConnector = z.infer<typeof SalesforceConnector>;

export const CrmConnector = z.discriminatedUnion("kind", [
  NativeConnector,
  HubSpotConnector,
  SalesforceConnector,
]);
export type CrmConnector = z.infer<typeof CrmConnector>;
export const CpqConnector = z.discriminatedUnion("kind", [NativeConnector, HubSpotConnector]);
export type CpqConnector = z.infer<typeof CpqConnector>;

export const Connectors = z
  .strictObject({
    crm: CrmConnector.default({ kind: "native" }),
    cpq: CpqConnector.default({ kind: "native" }),
  })
  .superRefine((connectors, context) => {
    const { crm, cpq } = connectors;
    if (crm.kind === "hubspot" && cpq.kind === "hubspot" && crm.portalId !== cpq.portalId) {
      context.addIssue({
        code: "custom",
        path: ["cpq", "portalId"],
        message: "both sides on HubSpot must be the same portal",
      });
    }
  });
export type Connectors = z.infer<typeof Connectors>;
export type ConnectorSide = CrmConnector | CpqConnector;

/** Whether mirrors for this side are delivered (applied through an API or POSTed), not only stored. */
export function deliversTo(side: ConnectorSide): boolean {
  return side.kind !== "native" || side.delivery !== undefined;
}
