import {
  add,
  compare,
  type Decimal,
  formatMoney,
  lineTotalValue,
  parseDecimal,
  subtract,
} from "./decimal.js";
import type { StoredLine } from "./model.js";

/**
 * What a side's whole line set adds up to, kept on its header in the same commit as its lines, so
 * a decision about a few lines needs only those lines (and their twins), not the whole set.
 */
export interface LineSummary {
  /** The currency `subtotal` is in (line totals are rounded to its minor units). */
  currency: string;
  /** Exact sum of the live lines' totals (domain/decimal.ts `lineTotal`). */
  subtotal: string;
  /** Live (not deleted) lines. */
  live: number;
  /** The discount limit `overLimit` counts against (the tenant's, SPEC §1.9; null: none). */
  discountLimit: string | null;
  /** Live lines whose discount is over `discountLimit`. */
  overLimit: number;
  /** No owner's id is held by two lines (as id or former id): a line is found by its id alone. */
  uniqueIds: boolean;
}

/** What the lines a decision did not read add up to: the summary less the lines it read. */
export interface UnreadLines {
  currency: string;
  subtotal: string;
  live: number;
  discountLimit: string | null;
  overLimit: number;
  uniqueIds: boolean;
}

function overLimit(line: StoredLine, limit: Decimal | null): boolean {
  return limit !== null && compare(parseDecimal(line.discountPercent), limit) > 0;
}

function totalOf(line: StoredLine, currency: string): Decimal {
  return lineTotalValue({
    quantity: line.quantity,
    unitPrice: line.unitPrice,
    discountPercent: line.discountPercent,
    currency,
  });
}

/** True when no id is held by two lines of the set, as id or former id. */
export function idsAreUnique(lines: Iterable<StoredLine>): boolean {
  const seen = new Set<string>();
  for (const line of lines) {
    for (const id of [line.id, ...(line.formerIds ?? [])]) {
      if (id === null) continue;
      if (seen.has(id)) return false;
      seen.add(id);
    }
  }
  return true;
}

/**
 * The summary of `lines`, read whole, or of `lines` beside the lines not read (`unread`). Its
 * `uniqueIds` stays what it was when the ids of the lines read did not change.
 */
export function summarize(
  lines: Map<string, StoredLine>,
  currency: string,
  discountLimit: string | null,
  unread?: UnreadLines,
): LineSummary {
  let total = parseDecimal(unread?.subtotal ?? "0");
  let live = unread?.live ?? 0;
  let over = unread?.overLimit ?? 0;
  const limit = discountLimit === null ? null : parseDecimal(discountLimit);
  for (const line of lines.values()) {
    if (line.deleted) continue;
    total = add(total, totalOf(line, currency));
    live++;
    if (overLimit(line, limit)) over++;
  }
  return {
    currency,
    subtotal: formatMoney(total, currency),
    live,
    discountLimit,
    overLimit: over,
    uniqueIds: unread ? unread.uniqueIds : idsAreUnique(lines.values()),
  };
}

/** The summary less the lines that were read: what the others add up to. */
export function unreadLines(summary: LineSummary, read: Map<string, StoredLine>): UnreadLines {
  const readPart = summarize(read, summary.currency, summary.discountLimit, {
    ...summary,
    subtotal: "0",
    live: 0,
    overLimit: 0,
  });
  return {
    currency: summary.currency,
    subtotal: formatMoney(
      subtract(parseDecimal(summary.subtotal), parseDecimal(readPart.subtotal)),
      summary.currency,
    ),
    live: summary.live - readPart.live,
    discountLimit: summary.discountLimit,
    overLimit: summary.overLimit - readPart.overLimit,
    uniqueIds: summary.uniqueIds,
  };
}

/** True when both summaries say the same. */
export function sameSummary(a: LineSummary | undefined, b: LineSummary | undefined): boolean {
  if (!a || !b) return a === b;
  return (
    a.currency === b.currency &&
    compare(parseDecimal(a.subtotal), parseDecimal(b.subtotal)) === 0 &&
    a.live === b.live &&
    a.discountLimit === b.discountLimit &&
    a.overLimit === b.overLimit &&
    a.uniqueIds === b.uniqueIds
  );
}
