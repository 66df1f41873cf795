import type { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { demoTenant } from "../domain/tenant.js";
import { DynamoSyncStore } from "../infra/dynamodb/store.js";

/** Registers the `demo` tenant of SPEC §7 (secrets overridable by DEMO_CRM_SECRET / DEMO_CPQ_SECRET). */
export async function seedLocal({
  client,
  tableName,
}: {
  client: DynamoDBClient;
  tableName: string;
}): Promise<void> {
  const store = new DynamoSyncStore({ doc: DynamoDBDocumentClient.from(client), tableName });
  await store.putTenant(
    demoTenant({
      crm: process.env.DEMO_CRM_SECRET || "demo-crm-secret",
      cpq: process.env.DEMO_CPQ_SECRET || "demo-cpq-secret",
    }),
  );
}
