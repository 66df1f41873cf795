import { compare, isDecimalLike, parseDecimal } from "../../domain/decimal.js";
import type { ConnectorStore } from "../applier.js";

/**
 * What quotesync last wrote to each deal and quote header, property by property: HubSpot's
 * webhooks for those writes are recognised by comparing their values with it (CONNECTORS §3
 * "Echoes"), not by their `changeSource` alone. Recorded before each PATCH, so the echo can never
 * arrive first; a PATCH that then fails leaves a record no event will match.
 */
export type HeaderType = "deals" | "quotes";

const key = (type: HeaderType, id: string) => `hubspot#wrote#${type}#${id}`;
/** HubSpot retries a webhook for up to a day: the record outlives that. */
const KEPT_SECONDS = 2 * 24 * 3600;

export async function recordHeaderWrite(
  store: ConnectorStore,
  tenantId: string,
  type: HeaderType,
  id: string,
  properties: Record<string, string>,
): Promise<void> {
  // The CRM side's drainer and the CPQ side's (pending changes) may write one deal at once.
  for (let attempt = 0; attempt < 10; attempt++) {
    const current = await store.get(tenantId, key(type, id));
    const merged = { ...((current?.value as Record<string, string> | undefined) ?? {}), ...properties };
    if (await store.put(tenantId, key(type, id), merged, current?.version ?? null, KEPT_SECONDS)) return;
  }
  throw new Error(`the header write record of ${type} ${id} kept changing`);
}

/** The last values written to each of these headers (absent: quotesync never wrote it, or long ago). */
export async function loadHeaderWrites(
  store: ConnectorStore,
  tenantId: string,
  refs: ReadonlyArray<{ type: HeaderType; id: string }>,
): Promise<Map<string, Record<string, string>>> {
  if (refs.length === 0) return new Map();
  const records = await store.getMany(
    tenantId,
    refs.map((ref) => key(ref.type, ref.id)),
  );
  const found = new Map<string, Record<string, string>>();
  for (const ref of refs) {
    const record = records.get(key(ref.type, ref.id));
    if (record) found.set(`${ref.type}#${ref.id}`, record.value as Record<string, string>);
  }
  return found;
}

/** A property value as quotesync wrote it vs. as HubSpot reports it: decimals compare exactly. */
export function sameValue(written: string | undefined, reported: unknown): boolean {
  const given = reported === null || reported === undefined ? "" : String(reported);
  if ((written ?? "") === given) return true;
  if (isDecimalLike(written) && isDecimalLike(given)) {
    return compare(parseDecimal(written), parseDecimal(given)) === 0;
  }
  return false;
}
