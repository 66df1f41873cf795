import { z } from "zod";

/**
 * Shapes of the requests the fake Salesforce accepts, derived from Salesforce's documentation:
 * - OAuth 2.0 Client Credentials Flow (Salesforce Help, "OAuth 2.0 Client Credentials Flow for
 *   Server-to-Server Integration"): `POST /services/oauth2/token`, form-encoded
 *   `grant_type=client_credentials&client_id=…&client_secret=…`.
 * - REST API Developer Guide v62.0, "sObject Collections" (create: POST, update: PATCH with records
 *   carrying `id`, delete: DELETE `?ids=…&allOrNone=`), "The list can contain up to 200 objects",
 *   every record has `attributes.type`; facts file B3.
 * - REST API Developer Guide, "sObject Rows" (PATCH `/sobjects/{type}/{id}`, 204 No Content).
 * - REST API Developer Guide, "Query" (GET `/query?q=`; `nextRecordsUrl` for more).
 * Field values: strings, JSON numbers, booleans or null (Object Reference field types).
 */

export const TokenRequest = z.strictObject({
  grant_type: z.literal("client_credentials"),
  client_id: z.string().min(1),
  client_secret: z.string().min(1),
});

const FieldValue = z.union([z.string(), z.number(), z.boolean(), z.null()]);

const RecordAttributes = z.strictObject({
  type: z.string().regex(/^[A-Za-z][A-Za-z0-9_]*$/),
  referenceId: z.string().optional(),
  url: z.string().optional(),
});

/** One record of a collection create: `attributes.type` and fields; no `id`. */
export const CreateRecord = z
  .object({ attributes: RecordAttributes })
  .catchall(FieldValue)
  .refine((record) => !("id" in record) && !("Id" in record), "a record to create carries no id");

/** One record of a collection update: `attributes.type`, `id` and the fields to change. */
export const UpdateRecord = z
  .object({ attributes: RecordAttributes, id: z.string().regex(/^[A-Za-z0-9]{15}([A-Za-z0-9]{3})?$/) })
  .catchall(FieldValue);

export const CollectionCreateRequest = z.strictObject({
  allOrNone: z.boolean().optional(),
  records: z.array(CreateRecord).min(1),
});

export const CollectionUpdateRequest = z.strictObject({
  allOrNone: z.boolean().optional(),
  records: z.array(UpdateRecord).min(1),
});

/** `PATCH /sobjects/{type}/{id}`: the fields to change, no attributes needed. */
export const RowUpdateRequest = z.record(z.string().regex(/^[A-Za-z][A-Za-z0-9_]*$/), FieldValue);

/** `Sforce-Call-Options: client=<token>[, defaultNamespace=<ns>]` (REST guide "Call Options Header"). */
export const CallOptionsHeader = z
  .string()
  .regex(
    /^(client=[^,;\s]+|defaultNamespace=[^,;\s]+)([,;]\s*(client=[^,;\s]+|defaultNamespace=[^,;\s]+))*$/,
  );

/** The most records one collection call may carry (REST guide, sObject Collections). */
export const COLLECTION_LIMIT = 200;
