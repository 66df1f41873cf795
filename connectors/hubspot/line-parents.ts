import type { ConnectorStore } from "../applier.js";

/**
 * quotesync's own map of HubSpot line item id → parent (and syncKey when quotesync wrote it): a
 * deleted line item cannot be read back, and its parent may be deleted with it (CONNECTORS §3
 * "Deletes that cascade"). Written by the applier when it creates line items and by the inbound
 * side whenever it resolves a line item's parent.
 */
export interface LineParent {
  kind: "deal" | "quote";
  parentId: string;
  syncKey?: string;
}

const key = (lineItemId: string) => `hubspot#li#${lineItemId}`;

export async function loadLineParents(
  store: ConnectorStore,
  tenantId: string,
  lineItemIds: readonly string[],
): Promise<Map<string, LineParent & { version: number }>> {
  const records = await store.getMany(tenantId, lineItemIds.map(key));
  const found = new Map<string, LineParent & { version: number }>();
  for (const id of lineItemIds) {
    const record = records.get(key(id));
    if (record) found.set(id, { ...(record.value as LineParent), version: record.version });
  }
  return found;
}

/** Records parents not yet known (or changed), a few writes at a time. */
export async function saveLineParents(
  store: ConnectorStore,
  tenantId: string,
  parents: Map<string, LineParent>,
  known?: Map<string, LineParent & { version: number }>,
): Promise<void> {
  const current = known ?? (await loadLineParents(store, tenantId, [...parents.keys()]));
  const writes: Array<() => Promise<boolean>> = [];
  for (const [id, parent] of parents) {
    const held = current.get(id);
    if (
      held &&
      held.kind === parent.kind &&
      held.parentId === parent.parentId &&
      (held.syncKey ?? null) === (parent.syncKey ?? held.syncKey ?? null)
    )
      continue;
    const value: LineParent = { kind: parent.kind, parentId: parent.parentId };
    const syncKey = parent.syncKey ?? held?.syncKey;
    if (syncKey) value.syncKey = syncKey;
    writes.push(() => store.put(tenantId, key(id), value, held?.version ?? null));
  }
  for (let start = 0; start < writes.length; start += 25) {
    // A lost race means another writer recorded the same line item just now: either answer is fine.
    await Promise.all(writes.slice(start, start + 25).map((write) => write()));
  }
}

export async function forgetLineParents(
  store: ConnectorStore,
  tenantId: string,
  ids: readonly string[],
): Promise<void> {
  await Promise.all(ids.map((id) => store.delete(tenantId, key(id))));
}
