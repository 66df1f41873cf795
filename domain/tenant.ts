import { z } from "zod";
import { Connectors } from "./connectors.js";
import { Actor, SyncMode } from "./events.js";

const FieldType = z.enum(["string", "number", "boolean", "date"]);
export type FieldType = z.infer<typeof FieldType>;

const FieldDeclarations = z.record(z.string().regex(/^[A-Za-z][A-Za-z0-9_]*$/), FieldType).default({});

/** A tenant's secrets for signatures: several per side during a rotation (SPEC §2, §6). */
export const TenantSecrets = z.object({
  crm: z.array(z.string().min(8)).min(1).max(5),
  cpq: z.array(z.string().min(8)).min(1).max(5),
});
export type TenantSecrets = z.infer<typeof TenantSecrets>;

/**
 * Where tenants' SSM parameters must live: the functions' IAM policy allows `ssm:GetParameter`
 * under this prefix only (`custom.secretsParameterPrefix` in serverless.yml; change both together).
 */
export const SECRETS_PARAMETER_PREFIX = "/quotesync/";

/**
 * Outside the local stage a tenant keeps its secrets in SSM (`secretsParameter`), not as plaintext
 * in the table; the reason it cannot be stored in `stage`, or null when it can.
 */
export function secretsRuleForStage(tenant: TenantConfig, stage: string): string | null {
  if (stage === "local") return null;
  if (
    tenant.secretsParameter === undefined ||
    tenant.secrets.crm.length > 0 ||
    tenant.secrets.cpq.length > 0
  ) {
    return `outside the local stage (here: ${stage}) secrets live in SSM: give secretsParameter (under ${SECRETS_PARAMETER_PREFIX}) and leave secrets empty`;
  }
  return null;
}

/**
 * The one tenant-id rule: 1 to 64 lower-case letters, digits and -, not starting with -. A tenant
 * id travels in URLs, storage keys and cursors; everything that checks or embeds one uses this.
 */
export const TENANT_ID_PATTERN = /^[a-z0-9][a-z0-9-]{0,63}$/;

/** The pattern without its anchors, for patterns that embed a tenant id (`T#<id>#OUTBOX`). */
export const TENANT_ID_PART = TENANT_ID_PATTERN.source.slice(1, -1);

/** True for a well-formed tenant id (whether such a tenant exists is another question). */
export function isTenantId(value: unknown): value is string {
  return typeof value === "string" && TENANT_ID_PATTERN.test(value);
}

/** The tenant-id rule as a schema: registrations, and the trigger's detail. */
export const TenantId = z
  .string()
  .min(1)
  .max(64)
  .regex(TENANT_ID_PATTERN, "tenant ids are lower-case letters, digits and -");

/** A tenant's configuration (SPEC §6). Validated when registered; stored as this JSON. */
export const TenantConfig = z
  .object({
    tenantId: TenantId,
    /** The shared secrets; may be left empty when `secretsParameter` names where they live instead. */
    secrets: TenantSecrets.or(
      z.object({ crm: z.array(z.string()).max(0), cpq: z.array(z.string()).max(0) }),
    ).default({ crm: [], cpq: [] }),
    /**
     * An SSM Parameter Store SecureString (e.g. `/quotesync/acme/secrets`) whose JSON value
     * `{"crm": [...], "cpq": [...]}` holds the secrets; the functions read it at run time, cached.
     */
    secretsParameter: z
      .string()
      .regex(/^\/[A-Za-z0-9_.\-/]{1,1000}$/, "an SSM parameter name such as /quotesync/acme/secrets")
      .refine(
        (name) => name.startsWith(SECRETS_PARAMETER_PREFIX) && name.length > SECRETS_PARAMETER_PREFIX.length,
        `the functions may read only parameters under ${SECRETS_PARAMETER_PREFIX} (their IAM policy): e.g. ${SECRETS_PARAMETER_PREFIX}acme/secrets`,
      )
      .optional(),
    policy: z
      .object({
        mode: SyncMode.default("live"),
        triggers: z
          .array(z.enum(["cart.finalized", "quote.accepted"]))
          .default(["cart.finalized", "quote.accepted"]),
        acceptedStage: z.string().min(1).max(120).default("Closed Won"),
        milestoneStages: z.array(z.string().min(1).max(120)).default(["Negotiation", "Closed Won"]),
        /**
         * The EventBridge `source` values allowed to trigger this tenant on the trigger bus; a
         * trigger from any other source naming this tenant is dropped (docs/security.md).
         */
        triggerSources: z
          .array(
            z
              .string()
              .regex(
                /^[A-Za-z0-9][A-Za-z0-9._\-/]{0,255}$/,
                "an EventBridge source such as cpq or com.example.cpq",
              )
              .refine((source) => !source.startsWith("aws."), "sources starting with aws. are AWS's own"),
          )
          .min(1)
          .max(10)
          .default(["cpq"]),
      })
      .prefault({}),
    approvals: z
      .object({
        maxDiscountPercent: z.union([z.string(), z.number()]).transform(String).nullable().default(null),
      })
      .prefault({}),
    fields: z
      .object({
        quote: FieldDeclarations,
        quoteLine: FieldDeclarations,
        opportunity: FieldDeclarations,
        opportunityLine: FieldDeclarations,
      })
      .prefault({}),
    permissions: z
      .object({
        start: z.array(z.string().min(1)).default([]),
        stop: z.array(z.string().min(1)).default([]),
        /**
         * When true, automatic triggers (cart.finalized, quote.accepted) must pass the `start`
         * policy too, as the event's `actor` or, without one, `triggerActor`.
         */
        checkTriggers: z.boolean().default(false),
        triggerActor: Actor.nullable().default(null),
      })
      .prefault({}),
    /** Which system each side is and how mirrors reach it (CONNECTORS.md §1); `native` by default. */
    connectors: Connectors.prefault({}),
  })
  .refine((tenant) => tenant.secretsParameter !== undefined || tenant.secrets.crm.length > 0, {
    path: ["secrets"],
    message: "give the secrets (crm and cpq, at least one each) or a secretsParameter",
  });
export type TenantConfig = z.infer<typeof TenantConfig>;
export type TenantConfigInput = z.input<typeof TenantConfig>;

/** The HubSpot portal a tenant's connectors name (both sides name the same one), or null. */
export function hubSpotPortalOf(tenant: TenantConfig): number | null {
  const { crm, cpq } = tenant.connectors;
  if (crm.kind === "hubspot") return crm.portalId;
  if (cpq.kind === "hubspot") return cpq.portalId;
  return null;
}

/** Custom field names that map between the two sides: the same name with the same declared type. */
export interface FieldMapping {
  lines: ReadonlySet<string>;
  headers: ReadonlySet<string>;
}

export function fieldMapping(tenant: TenantConfig): FieldMapping {
  return {
    lines: twins(tenant.fields.quoteLine, tenant.fields.opportunityLine),
    headers: twins(tenant.fields.quote, tenant.fields.opportunity),
  };
}

function twins(left: Record<string, FieldType>, right: Record<string, FieldType>): Set<string> {
  const names = new Set<string>();
  for (const [name, type] of Object.entries(left)) {
    if (Object.hasOwn(right, name) && right[name] === type) names.add(name);
  }
  return names;
}

/** The quotesync demo tenant of SPEC §7; secrets may be overridden by the caller. */
export function demoTenant(secrets: { crm: string; cpq: string }): TenantConfig {
  return TenantConfig.parse({
    tenantId: "demo",
    secrets: { crm: [secrets.crm], cpq: [secrets.cpq] },
    policy: {
      mode: "live",
      triggers: ["cart.finalized", "quote.accepted"],
      acceptedStage: "Closed Won",
      milestoneStages: ["Negotiation", "Closed Won"],
    },
    approvals: { maxDiscountPercent: "20" },
    fields: {
      quote: { Region__c: "string" },
      opportunity: { Region__c: "string" },
      quoteLine: { Color__c: "string", Term_Months__c: "number" },
      opportunityLine: { Color__c: "string", Term_Months__c: "string", Internal_Note__c: "string" },
    },
    permissions: { start: [], stop: [] },
  });
}
