import type { ConnectorStore } from "../applier.js";

/**
 * Which opportunity each Salesforce line belongs to, kept in the connector store: a line's UPDATE
 * and DELETE change events do not name the opportunity (and a deleted line cannot be read), so
 * quotesync remembers it from the line's creation (its CREATE event, or the applier's create).
 */
const lineKey = (lineId: string) => `salesforce#line#${lineId}`;

export async function opportunitiesOfLines(
  store: ConnectorStore,
  tenantId: string,
  lineIds: readonly string[],
): Promise<Map<string, string>> {
  const found = await store.getMany(tenantId, lineIds.map(lineKey));
  const owners = new Map<string, string>();
  for (const lineId of lineIds) {
    const value = found.get(lineKey(lineId))?.value as { opportunityId?: unknown } | undefined;
    if (typeof value?.opportunityId === "string") owners.set(lineId, value.opportunityId);
  }
  return owners;
}

/** Records owners not known yet (a line never moves to another opportunity). */
export async function rememberLineOwners(
  store: ConnectorStore,
  tenantId: string,
  owners: ReadonlyMap<string, string>,
  known: ReadonlyMap<string, string> = new Map(),
): Promise<void> {
  const missing = [...owners].filter(([lineId]) => !known.has(lineId));
  for (let start = 0; start < missing.length; start += 25) {
    await Promise.all(
      missing
        .slice(start, start + 25)
        .map(([lineId, opportunityId]) => store.put(tenantId, lineKey(lineId), { opportunityId }, null)),
    );
  }
}
