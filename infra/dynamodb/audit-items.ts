import type { AuditEntry } from "../../domain/model.js";
import { keys } from "./keys.js";

/**
 * An audit entry's item. Its key sorts by time; the suffix keeps entries of the same millisecond
 * apart and in write order (`<6 digits><up to 8 base-36 characters>`, domain/page-cursors.ts).
 */
export function auditItem(
  tenantId: string,
  opportunityId: string,
  entry: AuditEntry,
  suffix: string,
): Record<string, unknown> {
  return { pk: keys.auditPartition(tenantId, opportunityId), sk: `${entry.at}#${suffix}`, entry };
}

/**
 * Suffixes of the audit keys one writer gives out: a counter orders its entries of one millisecond
 * as written; a random tail keeps them apart from another writer's.
 */
export class AuditSuffixes {
  private written = 0;

  next(): string {
    this.written = (this.written + 1) % 1_000_000;
    return `${String(this.written).padStart(6, "0")}${Math.random().toString(36).slice(2, 8)}`;
  }
}
