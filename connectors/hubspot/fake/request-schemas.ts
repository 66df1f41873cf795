import { z } from "zod";

/**
 * Request bodies HubSpot's CRM API accepts, written from HubSpot's published OpenAPI documents
 * (repository HubSpot/HubSpot-public-api-spec-collection, commit 99893791):
 * - `PublicApiSpecs/CRM/Line Items/Rollouts/424/v3/lineItems.json`
 * - `PublicApiSpecs/CRM/Deals/Rollouts/424/v3/deals.json` and `.../Quotes/Rollouts/424/v3/quotes.json`
 *   (the same object components as line items)
 * - `PublicApiSpecs/CRM/Associations/Rollouts/130902/v4/associations.json`
 * - `PublicApiSpecs/CRM/Properties/Rollouts/145899/v3/properties.json`
 * Each schema names its component. Objects are strict: a field the documents do not name is an
 * error in quotesync's request, which the fake reports. The 100-input cap is HubSpot's documented
 * batch limit ("Batch requests to CRM object endpoints are limited to 100 records per request").
 */

const BATCH_LIMIT = 100;

/** `properties: {additionalProperties: {type: string}}`; HubSpot also takes numbers (its docs' example does). */
const PropertyValues = z.record(z.string(), z.union([z.string(), z.number(), z.boolean()]));

/** component `SimplePublicObjectId` / `PublicObjectId` (required: id) */
const ObjectId = z.strictObject({ id: z.string() });

/** component `AssociationSpec` (required: associationCategory, associationTypeId int32) */
const AssociationSpec = z.strictObject({
  associationCategory: z.enum(["HUBSPOT_DEFINED", "INTEGRATOR_DEFINED", "USER_DEFINED", "WORK"]),
  associationTypeId: z.number().int(),
});

/** component `PublicAssociationsForObject` (required: to, types) */
const AssociationsForObject = z.strictObject({ to: ObjectId, types: z.array(AssociationSpec) });

/** component `BatchReadInputSimplePublicObjectId` (required: inputs, properties, propertiesWithHistory) */
export const BatchReadInput = z.strictObject({
  idProperty: z.string().optional(),
  inputs: z.array(ObjectId).max(BATCH_LIMIT),
  properties: z.array(z.string()),
  propertiesWithHistory: z.array(z.string()),
});

/**
 * component `BatchInputSimplePublicObjectBatchInputForCreate` of
 * `SimplePublicObjectBatchInputForCreate` (required: associations, properties; objectWriteTraceId)
 */
export const BatchCreateInput = z.strictObject({
  inputs: z
    .array(
      z.strictObject({
        associations: z.array(AssociationsForObject),
        objectWriteTraceId: z.string().optional(),
        properties: PropertyValues,
      }),
    )
    .max(BATCH_LIMIT),
});

/** component `BatchInputSimplePublicObjectBatchInput` of `SimplePublicObjectBatchInput` (required: id, properties) */
export const BatchUpdateInput = z.strictObject({
  inputs: z
    .array(
      z.strictObject({
        id: z.string(),
        idProperty: z.string().optional(),
        objectWriteTraceId: z.string().optional(),
        properties: PropertyValues,
      }),
    )
    .max(BATCH_LIMIT),
});

/** component `BatchInputSimplePublicObjectId` (required: inputs) */
export const BatchArchiveInput = z.strictObject({ inputs: z.array(ObjectId).max(BATCH_LIMIT) });

/** component `SimplePublicObjectInput` (required: properties): the body of PATCH /crm/v3/objects/{type}/{id} */
export const ObjectPatchInput = z.strictObject({ properties: PropertyValues });

/** components `PublicObjectSearchRequest`, `FilterGroup`, `Filter` */
export const SearchInput = z.strictObject({
  after: z.string().optional(),
  filterGroups: z
    .array(
      z.strictObject({
        filters: z.array(
          z.strictObject({
            highValue: z.string().optional(),
            operator: z.enum([
              "BETWEEN",
              "CONTAINS_TOKEN",
              "EQ",
              "GT",
              "GTE",
              "HAS_PROPERTY",
              "IN",
              "LT",
              "LTE",
              "NEQ",
              "NOT_CONTAINS_TOKEN",
              "NOT_HAS_PROPERTY",
              "NOT_IN",
            ]),
            propertyName: z.string(),
            value: z.string().optional(),
            values: z.array(z.string()).optional(),
          }),
        ),
      }),
    )
    .max(6),
  limit: z.number().int().max(200),
  properties: z.array(z.string()),
  query: z.string().max(3000).optional(),
  sorts: z.array(z.string()),
});

/** associations v4: component `BatchInputPublicFetchAssociationsBatchRequest` of `PublicFetchAssociationsBatchRequest` */
export const AssociationsBatchReadInput = z.strictObject({
  inputs: z.array(z.strictObject({ after: z.string().optional(), id: z.string() })).max(BATCH_LIMIT),
});

/** properties v3: component `PropertyCreate` (required: fieldType, groupName, label, name, type) */
export const PropertyCreateInput = z.strictObject({
  calculationFormula: z.string().optional(),
  currencyPropertyName: z.string().optional(),
  dataSensitivity: z.enum(["highly_sensitive", "non_sensitive", "sensitive"]).optional(),
  description: z.string().optional(),
  displayOrder: z.number().int().optional(),
  externalOptions: z.boolean().optional(),
  fieldType: z.enum([
    "booleancheckbox",
    "calculation_equation",
    "checkbox",
    "date",
    "file",
    "html",
    "number",
    "phonenumber",
    "radio",
    "select",
    "text",
    "textarea",
  ]),
  formField: z.boolean().optional(),
  groupName: z.string(),
  hasUniqueValue: z.boolean().optional(),
  hidden: z.boolean().optional(),
  label: z.string(),
  name: z.string(),
  numberDisplayHint: z
    .enum(["currency", "duration", "formatted", "percentage", "probability", "unformatted"])
    .optional(),
  options: z
    .array(
      z.strictObject({
        description: z.string().optional(),
        displayOrder: z.number().int(),
        hidden: z.boolean(),
        label: z.string(),
        value: z.string(),
      }),
    )
    .optional(),
  referencedObjectType: z.string().optional(),
  showCurrencySymbol: z.boolean().optional(),
  textDisplayHint: z.string().optional(),
  type: z.enum(["bool", "date", "datetime", "enumeration", "number", "phone_number", "string"]),
});

/** Query parameters of `GET /crm/v3/objects/{deals|quotes}/{id}` (deals.json / quotes.json). */
export const GetObjectQuery = z.strictObject({
  archived: z.enum(["true", "false"]).optional(),
  associations: z.string().optional(),
  idProperty: z.string().optional(),
  properties: z.string().optional(),
  propertiesWithHistory: z.string().optional(),
});

/**
 * The form of `POST /oauth/v1/token` (HubSpot's OAuth tokens API v1, "Refresh an access token":
 * `application/x-www-form-urlencoded` with grant_type, client_id, client_secret and, for
 * `refresh_token`, the refresh token; `redirect_uri` and `code` belong to `authorization_code`).
 */
export const TokenRequest = z.strictObject({
  grant_type: z.enum(["authorization_code", "refresh_token"]),
  client_id: z.string().min(1),
  client_secret: z.string().min(1),
  refresh_token: z.string().min(1).optional(),
  redirect_uri: z.string().optional(),
  code: z.string().optional(),
});
