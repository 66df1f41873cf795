/**
 * Page cursors of the audit and drift reads: base64url of the last sort key read, checked against
 * the shape of the keys it may name before it reaches a key condition (domain/page-cursors.ts,
 * shared with the in-memory store so both answer a forged cursor alike).
 */
export { decodeAuditCursor, decodeDriftCursor, encodeKeyCursor } from "../../domain/page-cursors.js";
