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
  return new Map(
    [...(await linesInDirectory(store, tenantId, lineIds))].map(([id, entry]) => [id, entry.opportunityId]),
  );
}

/** The opportunity and syncKey (when known) of each line the directory holds. */
export async function linesInDirectory(
  store: ConnectorStore,
  tenantId: string,
  lineIds: readonly string[],
): Promise<Map<string, { opportunityId: string; syncKey: string | null }>> {
  const found = await store.getMany(tenantId, lineIds.map(lineKey));
  const entries = new Map<string, { opportunityId: string; syncKey: string | null }>();
  for (const lineId of lineIds) {
    const value = found.get(lineKey(lineId))?.value as
      | { opportunityId?: unknown; syncKey?: unknown }
      | undefined;
    if (typeof value?.opportunityId === "string") {
      entries.set(lineId, {
        opportunityId: value.opportunityId,
        syncKey: typeof value.syncKey === "string" ? value.syncKey : null,
      });
    }
  }
  return entries;
}

/**
 * Records owners (and syncKeys) not known yet: a line never moves to another opportunity, and its
 * syncKey is set once, at its creation.
 */
export async function rememberLineOwners(
  store: ConnectorStore,
  tenantId: string,
  owners: ReadonlyMap<string, string | { opportunityId: string; syncKey: string | null }>,
  known: ReadonlyMap<string, unknown> = new Map(),
): Promise<void> {
  const missing = [...owners].filter(([lineId]) => !known.has(lineId));
  for (let start = 0; start < missing.length; start += 25) {
    await Promise.all(
      missing
        .slice(start, start + 25)
        .map(([lineId, owner]) =>
          store.put(
            tenantId,
            lineKey(lineId),
            typeof owner === "string" ? { opportunityId: owner } : owner,
            null,
          ),
        ),
    );
  }
}
