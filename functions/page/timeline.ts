import type { AuditEntry } from "../../domain/model.js";
import { systemName } from "./format.js";

const SOURCES: Record<string, string> = {
  crm: "from the CRM",
  cpq: "from the CPQ",
  command: "by command",
  schedule: "by the scheduled run",
  eventbridge: "by an automatic trigger",
};

/**
 * An audit entry as a sentence a sales manager reads: the recorded summary with systems named
 * ("the CRM", "the CPQ"), counts in words, and who or what caused it.
 */
export function timelineSentence(
  entry: AuditEntry,
  lineNames: ReadonlyMap<string, string> = new Map(),
): string {
  const withValues = entry.changes !== undefined && entry.changes.length > 0;
  const text = withValues ? valueSentence(entry) : humanize(entry.summary, lineNames);
  const by: string[] = [];
  if (entry.actor) by.push(`by ${entry.actor.replace(/^viewer:/, "")}`);
  // A delivery entry's source is the side delivered to, which the summary names already; a
  // sentence with values names the system it came from itself.
  else if (entry.source && SOURCES[entry.source] && !entry.type.startsWith("mirror.") && !withValues)
    by.push(SOURCES[entry.source] as string);
  return `${text}${text.endsWith(".") ? "" : "."}${by.length > 0 ? ` (${by.join(", ")})` : ""}`;
}

const FIELD_NAMES: Record<string, string> = {
  productId: "product",
  name: "name",
  quantity: "quantity",
  unitPrice: "unit price",
  discountPercent: "discount %",
  billing: "billing",
  billingPeriod: "billing period",
  serviceDate: "service date",
};

/**
 * A line change with its values: "Line Seats: quantity 200 → 250, from the CRM, mirrored to the
 * CPQ" — each changed line once, its fields in order; an added line with its quantity × price.
 */
function valueSentence(entry: AuditEntry): string {
  const byLine = new Map<string, string[]>();
  for (const change of entry.changes ?? []) {
    const parts = byLine.get(change.line) ?? [];
    if (change.field === "line")
      parts.push(change.from === null ? `added (${change.to})` : `deleted (was ${change.from})`);
    else {
      const field = FIELD_NAMES[change.field] ?? change.field.replace(/^fields\./, "");
      parts.push(`${field} ${change.from ?? "(none)"} → ${change.to ?? "(none)"}`);
    }
    byLine.set(change.line, parts);
  }
  const lines = [...byLine].map(([line, parts]) => `Line ${line}: ${parts.join(", ")}`).join("; ");
  const source = entry.source === "crm" || entry.source === "cpq" ? entry.source : null;
  const other = source === "crm" ? "cpq" : "crm";
  const how =
    entry.type === "change.mirrored" && source
      ? `, from ${systemName(source)}, mirrored to ${systemName(other)}`
      : entry.type === "change.pending" && source
        ? `, from ${systemName(source)}, pending until pushed`
        : entry.type === "change.applied" && source
          ? `, from ${systemName(source)}; nothing to mirror to ${systemName(other)}`
          : "";
  return `${lines}${how}`;
}

/**
 * Recorded wording made readable: systems named, "(s)" resolved by its count, sync keys replaced
 * by the names of their lines where the page knows them.
 */
export function humanize(summary: string, lineNames: ReadonlyMap<string, string> = new Map()): string {
  const text = summary
    .replace(
      /\b(from|to) (crm|cpq)\b/g,
      (_match, word: string, side: string) => `${word} ${systemName(side)}`,
    )
    .replace(
      /\b1 ([a-z ]+?)\(s\)( differ\b)?/g,
      (_match, noun: string, differ?: string) => `1 ${noun}${differ ? " differs" : ""}`,
    )
    .replace(/\(s\)/g, "s")
    .replace(/\(sync keys? ([^)]*)\)/g, (_match, list: string) => {
      const names = list.split(/,\s*/).map((key) => lineNames.get(key) ?? key);
      return `(${names.join(", ")})`;
    })
    .replace(/\bqs_[0-9a-f]{32}\b/g, (key) => lineNames.get(key) ?? key);
  return text.charAt(0).toUpperCase() + text.slice(1);
}

/** A short label of the kind of entry. */
export function timelineLabel(entry: AuditEntry): { text: string; tone: "bad" | "warn" | "ok" | "plain" } {
  const map: Record<string, { text: string; tone: "bad" | "warn" | "ok" | "plain" }> = {
    "sync.started": { text: "Sync started", tone: "ok" },
    "sync.replaced": { text: "Synced quote replaced", tone: "ok" },
    "sync.resynced": { text: "Re-synchronized", tone: "ok" },
    "sync.stopped": { text: "Sync stopped", tone: "warn" },
    "change.mirrored": { text: "Change mirrored", tone: "plain" },
    "change.pending": { text: "Change pending", tone: "warn" },
    "change.pushed": { text: "Pending changes pushed", tone: "plain" },
    "change.stale": { text: "Late change answered", tone: "plain" },
    "change.applied": { text: "Change applied", tone: "plain" },
    "change.corrected": { text: "Change corrected", tone: "warn" },
    "amount.corrected": { text: "Amount restored", tone: "warn" },
    "start.refused": { text: "Start refused", tone: "bad" },
    "command.forbidden": { text: "Action refused", tone: "bad" },
    "trigger.fired": { text: "Automatic trigger", tone: "plain" },
    "approval.changed": { text: "Approval", tone: "warn" },
    "audit.drift": { text: "Drift found", tone: "bad" },
    "audit.milestone_pending": { text: "Pending at milestone", tone: "bad" },
    "mirror.delivered": { text: "Delivered", tone: "ok" },
    "mirror.failed": { text: "Delivery parked", tone: "bad" },
    "mirror.retried": { text: "Delivery retried", tone: "warn" },
  };
  return map[entry.type] ?? { text: entry.type, tone: "plain" };
}
