import { EntityId } from "../../domain/events.js";
import { InvalidCursor } from "./outbox.js";

/**
 * Page cursors of the audit and drift reads: base64url of the last sort key read. A cursor is
 * decoded and checked against the shape of the keys it may name before it reaches a key
 * condition, so a forged one is a 400 `invalid_cursor`, never a storage error.
 */
export function decodeAuditCursor(cursor: string): string {
  const key = decode(cursor);
  // Audit sort keys are `<ISO time>#<6 digits><up to 6 base-36 characters>` (transaction.ts).
  if (!/^\d{4}-\d{2}-\d{2}T[\d:.]{5,20}(?:Z|[+-]\d{2}:\d{2})#\d{6}[0-9a-z]{0,8}$/.test(key))
    throw new InvalidCursor(cursor, "not a position in an audit trail");
  return key;
}

export function decodeDriftCursor(cursor: string): string {
  const key = decode(cursor);
  if (!EntityId.safeParse(key).success) throw new InvalidCursor(cursor, "not a position in a drift report");
  return key;
}

export function encodeKeyCursor(sortKey: string): string {
  return Buffer.from(sortKey).toString("base64url");
}

function decode(cursor: string): string {
  if (!/^[A-Za-z0-9_-]{1,256}$/.test(cursor)) throw new InvalidCursor(cursor, "not base64url text");
  return Buffer.from(cursor, "base64url").toString("utf8");
}
