import { InvalidCursor } from "./errors.js";
import { EntityId } from "./events.js";
import { TENANT_ID_PART } from "./tenant.js";

/**
 * The page cursors every `SyncStore` gives out, one encoding for all of them so a cursor means
 * the same to the DynamoDB adapter and to the in-memory store: base64url of a position. Cursors
 * are opaque to callers; each is checked against the shape of the positions it may name before it
 * is used, so a forged one is an `InvalidCursor`, never a storage error.
 */

/**
 * An outbox cursor: the tenant and the entry's sequence number, so a cursor of one tenant is
 * refused by another's outbox. Cursors of the form `o:<n>` (no tenant) given out before are still read.
 */
export function encodeOutboxCursor(tenantId: string, sequence: number): string {
  return toBase64Url(`o:${tenantId}:${sequence}`);
}

/** `o:<tenantId>:<sequence>`, or the older `o:<sequence>`. */
const OUTBOX_CURSOR = new RegExp(`^o:(?:(${TENANT_ID_PART}):)?(\\d{1,15})$`);

/** The sequence number an outbox cursor names; `InvalidCursor` if it is not one of `tenantId`'s. */
export function decodeOutboxCursor(cursor: string, tenantId: string): number {
  const match = OUTBOX_CURSOR.exec(fromBase64Url(cursor) ?? "");
  if (!match) throw new InvalidCursor(cursor);
  if (match[1] !== undefined && match[1] !== tenantId) {
    throw new InvalidCursor(cursor, "the cursor belongs to another tenant's outbox");
  }
  return Number(match[2]);
}

/** The refusal of an outbox cursor whose number was never handed out (another table's, say). */
export function cursorPastEnd(cursor: string): InvalidCursor {
  return new InvalidCursor(cursor, "the cursor is past the end of this tenant's outbox");
}

/** A cursor naming a sort key: the last audit entry or drift finding of a page. */
export function encodeKeyCursor(sortKey: string): string {
  return toBase64Url(sortKey);
}

/** An audit entry's position: `<ISO time>#<6 digits><up to 8 base-36 characters>`. */
export function decodeAuditCursor(cursor: string): string {
  const key = decodeKey(cursor);
  if (!/^\d{4}-\d{2}-\d{2}T[\d:.]{5,20}(?:Z|[+-]\d{2}:\d{2})#\d{6}[0-9a-z]{0,8}$/.test(key))
    throw new InvalidCursor(cursor, "not a position in an audit trail");
  return key;
}

/** A drift finding's position: the opportunity id of the page's last finding. */
export function decodeDriftCursor(cursor: string): string {
  const key = decodeKey(cursor);
  if (!EntityId.safeParse(key).success) throw new InvalidCursor(cursor, "not a position in a drift report");
  return key;
}

function decodeKey(cursor: string): string {
  if (!/^[A-Za-z0-9_-]{1,256}$/.test(cursor)) throw new InvalidCursor(cursor, "not base64url text");
  return fromBase64Url(cursor) ?? "";
}

function toBase64Url(text: string): string {
  const binary = Array.from(new TextEncoder().encode(text), (byte) => String.fromCharCode(byte)).join("");
  return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

/** Decoded UTF-8 text, or null when `text` is not base64url (padding tolerated, as decoders do). */
function fromBase64Url(text: string): string | null {
  const unpadded = text.replace(/=+$/, "");
  if (!/^[A-Za-z0-9_-]*$/.test(unpadded)) return null;
  // A last group of one character holds no whole byte: decoders drop it.
  const usable = unpadded.length % 4 === 1 ? unpadded.slice(0, -1) : unpadded;
  const standard = usable.replace(/-/g, "+").replace(/_/g, "/");
  try {
    const binary = atob(standard.padEnd(Math.ceil(standard.length / 4) * 4, "="));
    return new TextDecoder().decode(Uint8Array.from(binary, (char) => char.charCodeAt(0)));
  } catch {
    return null;
  }
}
