import { type DynamoDBDocumentClient, GetCommand, TransactWriteCommand } from "@aws-sdk/lib-dynamodb";
import { ConcurrentModification, PortalInUse } from "../../domain/errors.js";
import { hubSpotPortalOf, type TenantConfig } from "../../domain/tenant.js";
import { translateStorageError } from "./errors.js";
import { keys } from "./keys.js";

/**
 * A tenant on HubSpot is written with the index item that maps its portal to it (HubSpot's webhooks
 * name a portal, not a tenant). One portal belongs to one tenant: the index item is claimed with a
 * condition, so a second tenant naming the portal is refused (`PortalInUse`) instead of silently
 * taking the first tenant's webhooks. An index item left by a tenant that no longer names the
 * portal (it moved or left HubSpot) may be taken over.
 */
export async function putTenantOnPortal(
  doc: DynamoDBDocumentClient,
  tableName: string,
  tenantItem: Record<string, unknown>,
  config: TenantConfig,
  portalId: number,
  loadTenant: (tenantId: string) => Promise<TenantConfig | null>,
): Promise<void> {
  for (let attempt = 0; attempt < 3; attempt++) {
    const owner = await portalOwner(doc, tableName, portalId);
    if (owner !== null && owner !== config.tenantId) {
      const ownerConfig = await loadTenant(owner);
      if (ownerConfig && hubSpotPortalOf(ownerConfig) === portalId) throw new PortalInUse(portalId, owner);
    }
    if (await claim(doc, tableName, tenantItem, config.tenantId, portalId, owner)) return;
  }
  throw new ConcurrentModification({ items: [`hubspot portal ${portalId}`] });
}

async function portalOwner(
  doc: DynamoDBDocumentClient,
  tableName: string,
  portalId: number,
): Promise<string | null> {
  try {
    const { Item } = await doc.send(
      new GetCommand({ TableName: tableName, Key: keys.hubSpotPortal(portalId), ConsistentRead: true }),
    );
    return typeof Item?.tenantId === "string" ? Item.tenantId : null;
  } catch (error) {
    throw translateStorageError(error);
  }
}

/** The tenant and its portal's index item in one transaction; false when the index item changed meanwhile. */
async function claim(
  doc: DynamoDBDocumentClient,
  tableName: string,
  tenantItem: Record<string, unknown>,
  tenantId: string,
  portalId: number,
  seenOwner: string | null,
): Promise<boolean> {
  // Unclaimed: it must still be; claimed: still by the tenant read just now (this one, or one that left).
  const condition =
    seenOwner === null
      ? { ConditionExpression: "attribute_not_exists(pk)" }
      : { ConditionExpression: "tenantId = :owner", ExpressionAttributeValues: { ":owner": seenOwner } };
  try {
    await doc.send(
      new TransactWriteCommand({
        TransactItems: [
          { Put: { TableName: tableName, Item: tenantItem } },
          {
            Put: { TableName: tableName, Item: { ...keys.hubSpotPortal(portalId), tenantId }, ...condition },
          },
        ],
      }),
    );
    return true;
  } catch (error) {
    const reasons = (error as { CancellationReasons?: Array<{ Code?: string }> }).CancellationReasons ?? [];
    if (
      (error as Error).name === "TransactionCanceledException" &&
      reasons[1]?.Code === "ConditionalCheckFailed"
    ) {
      return false;
    }
    throw translateStorageError(error);
  }
}
