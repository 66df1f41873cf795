import type { FieldValue } from "./events.js";
import { STANDARD_LINE_FIELDS } from "./lines.js";
import type { AuditValueChange, StoredLine } from "./model.js";

/** Line fields whose before and after values the audit records, in the order shown: not the position. */
const STANDARD = STANDARD_LINE_FIELDS.filter((field) => field !== "position");

/** Most value changes one audit entry records (the count in its summary says how many lines changed). */
export const AUDITED_VALUES_LIMIT = 20;
/** Longest value recorded; longer ones end in "…". */
const VALUE_LENGTH = 120;

/** What an audit needs of a line before a change: its recorded values (not the whole line). */
export type LineSnapshot = ReadonlyMap<string, { deleted: boolean; values: Record<string, string | null> }>;

function valuesOf(line: StoredLine, mapped: ReadonlySet<string>): Record<string, string | null> {
  const values: Record<string, string | null> = {};
  for (const field of STANDARD) values[field] = text(line[field]);
  for (const name of mapped) values[`fields.${name}`] = text(line.fields[name]);
  return values;
}

function text(value: FieldValue | undefined): string | null {
  if (value === undefined || value === null) return null;
  const shown = String(value);
  return shown.length > VALUE_LENGTH ? `${shown.slice(0, VALUE_LENGTH - 1)}…` : shown;
}

/** The values of every line, taken before a change is applied. */
export function snapshotLines(
  lines: ReadonlyMap<string, StoredLine>,
  mapped: ReadonlySet<string>,
): LineSnapshot {
  return new Map(
    [...lines].map(([key, line]) => [key, { deleted: line.deleted, values: valuesOf(line, mapped) }]),
  );
}

/**
 * What changed between a snapshot and the lines now: each changed field of each line (a line
 * added or deleted is one entry with `field: "line"`), at most `AUDITED_VALUES_LIMIT`.
 */
export function lineValueChanges(
  before: LineSnapshot,
  after: ReadonlyMap<string, StoredLine>,
  mapped: ReadonlySet<string>,
): AuditValueChange[] {
  const changes: AuditValueChange[] = [];
  for (const [key, line] of after) {
    if (changes.length >= AUDITED_VALUES_LIMIT) break;
    const was = before.get(key);
    const wasLive = was !== undefined && !was.deleted;
    const name = line.name ?? line.productId;
    if (!wasLive && line.deleted) continue;
    if (!wasLive) {
      changes.push({ line: name, field: "line", from: null, to: `${line.quantity} × ${line.unitPrice}` });
      continue;
    }
    if (line.deleted) {
      changes.push({
        line: name,
        field: "line",
        from: `${was.values.quantity} × ${was.values.unitPrice}`,
        to: null,
      });
      continue;
    }
    const now = valuesOf(line, mapped);
    for (const [field, value] of Object.entries(now)) {
      if (was.values[field] === value || changes.length >= AUDITED_VALUES_LIMIT) continue;
      changes.push({ line: name, field, from: was.values[field] ?? null, to: value });
    }
  }
  return changes;
}
